"""img2pose input transform: the bilinear resize against PyTorch's own kernel on arbitrary sizes.

The four dumps' sizes (640 -> 192 and 2048 -> 192 wide) happen to round the source index the same
way with or without the fma that PyTorch's compiled kernel uses; other sizes (e.g. 578 -> 150 rows,
sample4.jpg) did not, which only images outside the dumps showed. Expected values come from
``torch.nn.functional.interpolate`` itself (one thread, as the dumps), never from our code.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.pipelines.img2pose import transform as T

if os.environ.get("PYPARITY_REQUIRE_TORCH") == "1":  # CI, where it installed torch: fail, never skip
    import torch
else:
    torch = pytest.importorskip("torch")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # PyTorch takes another bilinear kernel with more threads (STAGES.md: <= 4.8e-7 apart)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _torch_resize(x: np.ndarray, h: int, w: int) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(x))[None]
    return torch.nn.functional.interpolate(t, size=(h, w), mode="bilinear", align_corners=False)[0].numpy()


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 90), st.integers(1, 90), st.integers(1, 70), st.integers(1, 70), st.integers(0, 2**31 - 1))
def test_resize_bit_exact_with_torch_on_any_size(h, w, oh, ow, seed):
    x = np.random.default_rng(seed).normal(0, 2, (3, h, w)).astype(np.float32)
    assert np.array_equal(T.resize_bilinear(x, oh, ow), _torch_resize(x, oh, ow))


@pytest.mark.parametrize("hw, out", [((578, 640), (150, 166)), ((424, 640), (127, 192)), ((1944, 1942), (150, 150)),
                                     ((480, 640), (600, 800)), ((1366, 2048), (600, 899))])
def test_resize_bit_exact_on_unseen_image_sizes(hw, out):
    """Sizes of samples 4-6 at the dumps' settings and of upstream's 600/1400 setting."""
    x = np.random.default_rng(sum(hw)).normal(0, 2, (3,) + hw).astype(np.float32)
    assert np.array_equal(T.resize_bilinear(x, *out), _torch_resize(x, *out))


def test_compiled_resize_equals_numpy_expressions(monkeypatch):
    x = np.random.default_rng(1).normal(0, 2, (3, 57, 83)).astype(np.float32)
    fast = T.resize_bilinear(x, 31, 120)
    monkeypatch.setattr(T, "_resize_kernel", None)
    assert np.array_equal(fast, T.resize_bilinear(x, 31, 120))


def test_dump_resize_path_end_to_end(shared_dir):
    """The whole transform (ToTensor, normalise, resize, pad) on a dump's image equals its record."""
    from pyparity.pipelines.img2pose import Img2Pose, Img2PoseConfig, load_reference_points, synthetic_weights
    from pyparity.trace import Recorder, read_trace

    d = shared_dir / "reference_dumps/img2pose-upstream/images/001.jpg"
    ref = read_trace(d)
    model = Img2Pose(synthetic_weights(18), Img2PoseConfig.from_file(d), *load_reference_points(shared_dir / "img2pose"))
    rec = Recorder()
    model.preprocess(ref["input/image"], rec)
    t = rec.finish()
    for name in ("input/tensor", "transform/normalized", "transform/resized", "transform/image_sizes"):
        assert np.array_equal(t[name], ref[name]), name
