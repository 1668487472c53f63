"""Trust (issue 14), class 4: small inputs cannot exhaust the machine, and bad images and keypoint
files are refused alike by every pipeline (one line, exit 2)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.errors import InputError
from pyparity.imageio import check_image_size, read_image_bgr

REPO = Path(__file__).resolve().parents[1]


def _png(path: Path, width: int, height: int, payload: int = 1 << 20) -> Path:
    """A PNG whose header declares width x height, with ~payload bytes of (too few) compressed rows."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * payload))
                     + chunk(b"IEND", b""))
    return path


def _jpeg(path: Path) -> Path:
    import cv2

    rng = np.random.default_rng(0)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    path.write_bytes(buf.tobytes())
    return path


def _pipelines(image: Path, tmp: Path) -> dict[str, list[str]]:
    # each reads its image before any model: the refusal needs no model files
    return {
        "mtcnn": ["run", "mtcnn", str(image), "--model-dir", str(tmp / "no-models")],
        "openface-image": ["run", "openface-image", str(image), "--model-dir", str(tmp / "no-models")],
        "clnf": ["run", "clnf", str(image), "--bbox", "1,1,10,10", "--model-dir", str(tmp / "no-models")],
        "img2pose": ["run", "img2pose", str(image), "--synthetic"],
    }


@pytest.mark.parametrize("pipeline", ["mtcnn", "openface-image", "clnf", "img2pose"])
@pytest.mark.parametrize("kind", ["huge header", "truncated jpeg", "jpeg without scan"])
def test_bad_image_is_refused_by_every_pipeline(tmp_path, capsys, monkeypatch, pipeline, kind):
    import pyparity.app.specs.openface as ro

    monkeypatch.setattr(ro, "load_models", lambda *a, **k: pytest.fail("models loaded before the image was checked"))
    if kind == "huge header":
        img = _png(tmp_path / "big.png", 40000, 30000)
        message = "over the limit of 100,000,000 pixels"
    else:
        full = _jpeg(tmp_path / "full.jpg").read_bytes()
        cut = full[: len(full) * 2 // 3] if kind == "truncated jpeg" else full[:full.find(b"\xff\xda")]
        img = tmp_path / "cut.jpg"
        img.write_bytes(cut)
        message = "truncated or corrupt JPEG"
    assert main(_pipelines(img, tmp_path)[pipeline]) == 2
    err = capsys.readouterr().err
    assert message in err and img.name in err and len(err.strip().splitlines()) == 1


def test_sequence_folder_and_probe_refuse_the_same_images(tmp_path, capsys, monkeypatch):
    from pyparity.pipelines.openface.sequence import image_folder_frames

    full = _jpeg(tmp_path / "full.jpg").read_bytes()
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / "000.jpg").write_bytes(full[: len(full) // 2])
    with pytest.raises(InputError, match="truncated"):
        list(image_folder_frames(tmp_path / "seq"))
    probe = tmp_path / "p.toml"
    probe.write_text('[probe]\nname = "p"\n[port]\ncall = "numpy:asarray"\nargs = ["$image_bgr"]\n'
                     '[[capture]]\ntarget = "$call"\nstage = "x"\n')
    assert main(["record", str(probe), str(_png(tmp_path / "big.png", 40000, 30000)), "--out", str(tmp_path / "t")]) == 2
    assert "over the limit" in capsys.readouterr().err and not (tmp_path / "t").exists()


def test_limit_is_documented_and_adjustable(tmp_path, monkeypatch):
    big = _png(tmp_path / "big.png", 12000, 10000, payload=10)
    with pytest.raises(InputError, match="12000x10000"):
        read_image_bgr(big)
    monkeypatch.setenv("PYPARITY_MAX_IMAGE_PIXELS", "100")
    with pytest.raises(InputError, match="over the limit of 100 pixels"):
        read_image_bgr(_jpeg(tmp_path / "small.jpg"))
    monkeypatch.setenv("PYPARITY_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(InputError, match="PYPARITY_MAX_IMAGE_PIXELS"):
        check_image_size(1, 1, "x")
    assert "PYPARITY_MAX_IMAGE_PIXELS" in (REPO / "README.md").read_text(encoding="utf-8")


def test_valid_images_still_decode_identically(tmp_path):
    """The checks do not change what a good file decodes to (OpenCV's imread is the reference)."""
    import cv2

    p = _jpeg(tmp_path / "ok.jpg")
    assert np.array_equal(read_image_bgr(p), cv2.imread(str(p), cv2.IMREAD_COLOR))
    from pyparity.pipelines.img2pose.transform import load_image

    assert np.array_equal(load_image(p), cv2.imread(str(p), cv2.IMREAD_UNCHANGED)[:, :, ::-1])


POF_BAD_CSV = {
    "negative frame": ("frame,joint,x,y\n-1,0,0.5,0.5\n", "frame -1 is not an integer"),
    "fractional frame": ("frame,joint,x,y\n2.7,0,0.5,0.5\n", "frame 2.7 is not an integer"),
    "huge frame": ("frame,joint,x,y\n100000000,0,0.5,0.5\n", "frame 100000000 is not an integer in 0..999999"),
    "nan frame": ("frame,joint,x,y\nnan,0,0.5,0.5\n", "frame nan"),
    "duplicate": ("frame,joint,x,y\n" + "".join(f"0,{j},0.5,0.5\n" for j in range(17)) + "0,3,0.1,0.1\n",
                  "frame 0, joint 3 given twice"),
    "joint 17": ("frame,joint,x,y\n0,17,0.5,0.5\n", "joint 17 is not an integer in 0..16"),
    "missing joint": ("frame,joint,x,y\n" + "".join(f"0,{j},0.5,0.5\n" for j in range(16)), "no row for frame 0, joint 16"),
    "ragged row": ("frame,joint,x,y\n0,0,0.5\n", "3 values for 4 columns"),
    "wide with 33 columns": (",".join(f"c{i}" for i in range(33)) + "\n" + ",".join(["0.5"] * 33) + "\n",
                             "34 or 51 columns"),
    "not utf-8": (b"frame,joint,x,y\n0,0,0.5,\xff\n", "not UTF-8"),
    "nul byte": ("frame,joint,x,y\n0,0,0.5,0.5\x00\n", "CSV"),
    "header only": ("frame,joint,x,y\n", "no data rows"),
}


@pytest.mark.parametrize("case", list(POF_BAD_CSV))
def test_pof_csv_indices_are_checked(tmp_path, capsys, case):
    body, message = POF_BAD_CSV[case]
    p = tmp_path / "k.csv"
    p.write_bytes(body if isinstance(body, bytes) else body.encode())
    assert main(["run", "pof", str(p), "--model", "gcn", "--synthetic", "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "t").exists()


def test_pof_npz_declaring_too_many_frames_is_refused_before_loading(tmp_path):
    import zipfile

    from pyparity.pipelines.pof.io import MAX_FRAMES, from_npz

    p = tmp_path / "k.npz"
    header = np.lib.format
    with zipfile.ZipFile(p, "w") as z, z.open("pose_2d.npy", "w") as f:
        header.write_array_header_2_0(f, {"descr": "<f4", "fortran_order": False, "shape": (MAX_FRAMES + 1, 17, 2)})
    with pytest.raises(InputError, match=f"more than {MAX_FRAMES} frames"):
        from_npz(p)
