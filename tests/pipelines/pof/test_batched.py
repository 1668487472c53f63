"""The batched fast path (recording off, all frames through the network at once) gives the same
result as the per-frame path (one frame at a time) and as the recording path, for the non-temporal
variants; the temporal variant is sequential by definition (prev_pof feedback).

Batched vs per-frame: OpenBLAS blocks a (112, d) GEMM differently from a (14, d) one, so the two
agree to float32 rounding (measured <= 2.2e-6 on POF, 5.6e-6 on the normalised joints,
the solver divides by |orient_xy|^2), not bit for bit - within the 1e-5 policy.
The recording path batches the network the same way as the fast path: bit-identical."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.pipelines.pof.checkpoint import synthetic_model
from pyparity.pipelines.pof.reconstruct import Options, reconstruct_3d
from pyparity.trace import Recorder, read_trace


@pytest.mark.parametrize("variant", ["semgcn", "gcn", "transformer"])
def test_batched_equals_per_frame(shared_dir, variant):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / variant / "walk")
    kp, vis = ref["clip/pose_2d"], ref["clip/visibility"]
    m = synthetic_model(variant)
    fast = reconstruct_3d(m, kp, vis, 1.78)
    per = [reconstruct_3d(m, kp[f:f + 1], vis[f:f + 1], 1.78) for f in range(len(kp))]
    for field in ("pof", "pose_3d_norm", "pose_3d_m"):
        np.testing.assert_allclose(getattr(fast, field), np.concatenate([getattr(r, field) for r in per]),
                                   rtol=0, atol=1e-5, err_msg=field)
    rec = Recorder()
    recorded = reconstruct_3d(m, kp, vis, 1.78, rec)
    np.testing.assert_array_equal(fast.pose_3d_m, recorded.pose_3d_m)
    # and the fast path is at parity with the dump on its own
    want = np.stack([ref[f"frame{f:04d}/output/pose_3d_m"] for f in range(len(kp))])
    np.testing.assert_allclose(fast.pose_3d_m, want, rtol=0, atol=1e-5)


def test_temporal_fast_path_equals_recording_path(shared_dir):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "semgcn-temporal" / "walk")
    kp, vis = ref["clip/pose_2d"], ref["clip/visibility"]
    m = synthetic_model("semgcn-temporal")
    fast = reconstruct_3d(m, kp, vis, 1.78, opts=Options(record_zsign_path=False))
    recorded = reconstruct_3d(m, kp, vis, 1.78, Recorder())
    np.testing.assert_array_equal(fast.pof_raw, recorded.pof_raw)
    np.testing.assert_array_equal(fast.pose_3d_m, recorded.pose_3d_m)
