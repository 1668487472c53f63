"""MTCNN's fast paths compute what the plain formulations do, bit for bit: crops read through the
box geometry vs the zero-padded copy OpenFace makes, the compiled NMS and max-pool vs their loops,
and any thread count vs one thread (also in a forked worker process, as a gate's are)."""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.errors import InputError
from pyparity.imageio import read_image_bgr
from pyparity.pipelines.mtcnn import detect, parallel
from pyparity.pipelines.mtcnn.boxes import cv_round
from pyparity.pipelines.mtcnn.crops import crop_patches
from pyparity.pipelines.mtcnn.layers import _im2col, _im2col_few_channels, max_pool
from pyparity.pipelines.mtcnn.nms import non_maximum_suppression
from pyparity.pipelines.mtcnn.resize import resize_bilinear
from pyparity.pipelines.mtcnn.weights import MaxPool
from pyparity.trace import Recorder

F32 = np.float32


def _crop_by_copy(img: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """FaceDetectorMTCNN's crop as written there: copy the (w+1)x(h+1) region at (x-1, y-1) into a
    zero image, resize it, normalise."""
    height, width = img.shape[:2]
    x, y, w, h = (F32(v) for v in box)
    wt, ht = w + F32(1), h + F32(1)
    sx_in, sy_in = max(int(x - F32(1)), 0), max(int(y - F32(1)), 0)
    ex_in, ey_in = min(int(x + wt - F32(1)), width), min(int(y + ht - F32(1)), height)
    sx_out, sy_out = max(int(-x + F32(1)), 0), max(int(-y + F32(1)), 0)
    ex_out = int(min(wt - (x + w - F32(width)), wt))
    ey_out = int(min(ht - (y + h - F32(height)), ht))
    tmp = np.zeros((max(int(ht), 1), max(int(wt), 1), 3), F32)
    cw, ch = min(ex_in - sx_in, ex_out - sx_out), min(ey_in - sy_in, ey_out - sy_out)
    if cw > 0 and ch > 0:
        tmp[sy_out:sy_out + ch, sx_out:sx_out + cw] = img[sy_in:sy_in + ch, sx_in:sx_in + cw]
    return (resize_bilinear(tmp, size, size) - F32(127.5)) * F32(0.0078125)


@given(st.lists(st.tuples(st.integers(-80, 200), st.integers(-80, 160), st.integers(0, 150), st.integers(0, 150)),
                min_size=1, max_size=6),
       st.sampled_from([24, 48]), st.integers(0, 2**31 - 1))
@settings(max_examples=60, deadline=None)
def test_crops_through_the_geometry_equal_the_padded_copy(boxes, size, seed):
    img = np.random.default_rng(seed).uniform(0, 255, (120, 160, 3)).astype(F32)
    b = np.asarray(boxes, F32)
    got = crop_patches(img, b, size)
    want = np.stack([_crop_by_copy(img, box, size) for box in b])
    assert got.tobytes() == want.tobytes()


def _nms_loop(boxes, scores, threshold, minimum):
    """non_maximum_supression as a plain loop over a score-ordered list (ties: highest index first)."""
    r = cv_round(boxes)
    order = sorted(range(len(boxes)), key=lambda i: (scores[i], i))
    keep = []
    while order:
        i = order.pop()
        keep.append(i)
        rest = []
        for o in order:
            iw = min(r[i, 0] + r[i, 2], r[o, 0] + r[o, 2]) - max(r[i, 0], r[o, 0])
            ih = min(r[i, 1] + r[i, 3], r[o, 1] + r[o, 3]) - max(r[i, 1], r[o, 1])
            empty = iw <= 0 or ih <= 0 or min(r[i, 2], r[i, 3], r[o, 2], r[o, 3]) <= 0
            inter = F32(0 if empty else iw * ih)
            a_i, a_o = r[i, 2] * r[i, 3], r[o, 2] * r[o, 3]
            union = F32(min(a_i, a_o)) if minimum else F32(a_i + a_o) - inter
            with np.errstate(divide="ignore", invalid="ignore"):
                if not F32(inter / union) > F32(threshold):
                    rest.append(o)
        order = rest
    return keep


_coord = st.floats(-50, 300, width=32)
_side = st.sampled_from([0.0, 0.5, 1.5, 2.5, 10.0, 37.5, 80.0])


@given(st.lists(st.tuples(_coord, _coord, _side, _side, st.sampled_from([0.25, 0.5, 0.75, 1.0])), max_size=30),
       st.sampled_from([0.0, 0.5, 0.7]), st.booleans())
@settings(max_examples=80, deadline=None)
def test_nms_equals_the_plain_loop(rows, threshold, minimum):
    boxes = np.asarray([r[:4] for r in rows], F32).reshape(-1, 4)
    scores = np.asarray([r[4] for r in rows], F32)   # few distinct values: ties on purpose
    assert non_maximum_suppression(boxes, scores, threshold, minimum).tolist() == \
        _nms_loop(boxes, scores, threshold, minimum)


@given(st.integers(1, 3), st.integers(2, 13), st.integers(2, 13), st.integers(1, 5), st.integers(2, 3),
       st.integers(1, 2), st.integers(0, 2**31 - 1))
@settings(max_examples=40, deadline=None)
def test_max_pool_equals_the_window_loop(b, h, w, c, k, stride, seed):
    rng = np.random.default_rng(seed)
    maps = rng.choice(np.asarray([-0.0, 0.0, 1.0, -2.5, 3.25], F32), size=(b, h, w, c))
    layer = MaxPool(k, k, stride, stride)
    got = max_pool(maps, layer)
    want = np.zeros_like(got)
    for oy in range(got.shape[1]):
        for ox in range(got.shape[2]):
            y, x = oy * stride, ox * stride
            if y >= h or x >= w:
                continue
            for bi in range(b):
                for ci in range(c):
                    m = F32(-3.4028234663852886e38)
                    for xi in range(x, min(w, x + k)):       # x outer, y inner, first of equals kept
                        for yi in range(y, min(h, y + k)):
                            if maps[bi, yi, xi, ci] > m:
                                m = maps[bi, yi, xi, ci]
                    want[bi, oy, ox, ci] = m
    assert got.tobytes() == want.tobytes()


@given(st.integers(1, 3), st.integers(2, 9), st.integers(2, 9), st.integers(1, 4), st.integers(2, 3),
       st.integers(0, 2**31 - 1))
@settings(max_examples=30, deadline=None)
def test_first_layer_im2col_equals_the_general_one(b, h, w, c, k, seed):
    maps = np.random.default_rng(seed).standard_normal((b, h + k, w + k, c)).astype(F32)
    assert _im2col_few_channels(maps, k, k).tobytes() == _im2col(maps, k, k).tobytes()


def _all_stages(img, model_dir):
    rec = Recorder()
    det = detect(img, model_dir=model_dir, rec=rec)
    t = rec.finish()
    return {n: np.asarray(t[n]).tobytes() for n in t.names}, det.boxes_xywh.tobytes()


@pytest.fixture
def restore_threads():
    before = parallel.threads()
    yield
    parallel.set_threads(before)


def test_thread_count_changes_no_bit(samples_dir, openface_model_dir, restore_threads):
    img = read_image_bgr(samples_dir / "sample1.jpg")    # 7 pyramid levels, several faces
    parallel.set_threads(1)
    one = _all_stages(img, openface_model_dir)
    for n in (2, 3):
        parallel.set_threads(n)
        assert _all_stages(img, openface_model_dir) == one


def _boxes_in_child(args):
    path, model_dir = args
    return detect(read_image_bgr(path), model_dir=model_dir).boxes_xywh.tobytes()


def test_forked_worker_after_the_pool_started(samples_dir, openface_model_dir, restore_threads):
    parallel.set_threads(2)
    path = samples_dir / "image_sequence" / "001.jpg"
    here = _boxes_in_child((path, openface_model_dir))          # the pool now has threads
    with ProcessPoolExecutor(1, mp_context=mp.get_context("fork")) as ex:
        there = ex.submit(_boxes_in_child, (path, openface_model_dir)).result(timeout=120)
    assert there == here


def test_threads_setting_is_validated(restore_threads):
    with pytest.raises(InputError, match=">= 1"):
        parallel.set_threads(0)
