"""Reading OpenFace's binary model files (LandmarkDetector::ReadMatBin and the plain little-endian
ints/doubles around it), shared by the CCNF, CEN and validator readers.

    r = MatBinReader.from_file(path, "CCNF patch experts")   # ModelError naming the file if unreadable
    r.i32(what) / r.f32(what) / r.f64(what) -> int / float
    r.mat(what) -> 2-D array of the stored OpenCV type (single channel: CV_8U .. CV_64F)
    r.expect_end(what)                                         # ModelError on trailing bytes
Every error is a one-line ModelError naming the file, the offset and `what` was being read.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from pyparity.errors import ModelError

# OpenCV single-channel type codes (ReadMatBin: int32 rows, cols, type, then the data row-major)
CV_DTYPES = {0: np.uint8, 1: np.int8, 2: np.uint16, 3: np.int16, 4: np.int32, 5: np.float32, 6: np.float64}


class MatBinReader:
    def __init__(self, data: bytes, path: Path, kind: str = "model file"):
        self.data = data
        self.pos = 0
        self.path = path
        self.kind = kind

    @classmethod
    def from_file(cls, path: str | Path, kind: str) -> "MatBinReader":
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ModelError(f"{path}: cannot read {kind} ({e.strerror})") from None
        return cls(data, path, kind)

    def take(self, n: int, what: str = "data") -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"{self.path}: truncated {self.kind} (wanted {n} bytes for {what} "
                             f"at offset {self.pos}, file has {len(self.data)})")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def i32(self, what: str = "an int") -> int:
        return struct.unpack("<i", self.take(4, what))[0]

    def f32(self, what: str = "a float") -> float:
        return struct.unpack("<f", self.take(4, what))[0]

    def f64(self, what: str = "a double") -> float:
        return struct.unpack("<d", self.take(8, what))[0]

    def mat(self, what: str = "a matrix") -> np.ndarray:
        """LandmarkDetector::ReadMatBin: int32 rows, cols, OpenCV type, then row-major data."""
        start = self.pos
        rows, cols, typ = self.i32(what), self.i32(what), self.i32(what)
        dt = CV_DTYPES.get(typ)
        if dt is None or rows < 0 or cols < 0 or rows * cols > len(self.data):
            raise ModelError(f"{self.path}: bad matrix header for {what} at offset {start} "
                             f"({rows}x{cols}, OpenCV type {typ}; single-channel types 0-6 only)")
        n = rows * cols * np.dtype(dt).itemsize
        return np.frombuffer(self.take(n, what), dtype=np.dtype(dt).newbyteorder("<")).reshape(rows, cols).astype(dt)

    def expect_end(self, what: str) -> None:
        if self.pos != len(self.data):
            raise ModelError(f"{self.path}: {len(self.data) - self.pos} unexpected trailing bytes after {what}")
