"""Recording batched POF stages under the dumps' per-frame names (``frameNNNN/<inner><stage>``).

Upstream computes some stages batched over frames (the LS solver always, the whole network for the
non-temporal models); the dumps split such a stage per frame, frame 0..T-1 consecutively. A
``FrameSaver`` does the same for one batch whose rows are the absolute frames ``frames``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pyparity.trace import NULL_RECORDER, StageRecorder

INTERNAL_FRAMES = 2  # layer internals are recorded for frames 0 and 1 only (STAGES.md)
#: where the least-squares solver's stages are recorded: each frame of a reconstruction; upstream's
#: solver-gt dumps also run it on isotropic and anisotropic 2D inputs (``frameNNNN/<input>/ls/...``)
LS_SCOPES = ("frame*/", "frame*/*_iso/", "frame*/pipeline/")


class FrameSaver:
    def __init__(self, rec: StageRecorder = NULL_RECORDER, frames: Sequence[int] = (0,), inner: str = "", consts: set | None = None):
        self.rec = rec
        self.enabled = bool(getattr(rec, "enabled", False))
        self.frames = list(frames)
        self.inner = inner
        self.consts = consts if consts is not None else set()

    def sub(self, inner: str) -> "FrameSaver":
        return FrameSaver(self.rec, self.frames, self.inner + inner, self.consts)

    def save(self, name: str, batched) -> None:
        """``batched``: array whose first axis is the batch (one row per frame of ``frames``)."""
        if not self.enabled:
            return
        a = np.asarray(batched)
        for i, f in enumerate(self.frames):
            self.rec.save(f"frame{f:04d}/{self.inner}{name}", a[i])

    def save_same(self, name: str, value) -> None:
        """A value shared by every frame (recorded once per frame)."""
        if not self.enabled:
            return
        for f in self.frames:
            self.rec.save(f"frame{f:04d}/{self.inner}{name}", value)

    def save_internal(self, name: str, batched) -> None:
        """Layer internals: only frames < INTERNAL_FRAMES, like the dumps."""
        if not self.enabled:
            return
        a = np.asarray(batched)
        for i, f in enumerate(self.frames):
            if f < INTERNAL_FRAMES:
                self.rec.save(f"frame{f:04d}/{self.inner}{name}", a[i])

    def save_const(self, name: str, value) -> None:
        """``const/<name>``, once per trace."""
        if not self.enabled or name in self.consts:
            return
        self.consts.add(name)
        self.rec.save(f"const/{name}", np.asarray(value))
