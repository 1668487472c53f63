"""The detection validator's numba path (validator.py + validator_kernels.py) against its plain NumPy
form (validator_numpy.py), bit for bit: the last layer's whole output vector (not only the quantised
certainty the dumps hold) on every face of every OpenFace dump that records a validation, with both
validators (`validator_cnn.txt` for the CCNF dumps, `validator_cnn_68.txt` for the CE-CLM ones), and
the certainty against the dump's. Also the PAW maps and the view choice against their NumPy forms."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.pipelines.clnf.validator import numpy_path as validator_numpy
from pyparity.pipelines.clnf.validator.cnn import read_validator, view_distance
from pyparity.trace import read_trace

# collection -> validator file its validations ran with
COLLECTIONS = {"openface-2.0.2": "validator_cnn.txt", "openface-2.0.2-cen-synthetic": "validator_cnn_68.txt"}


def _gray(ref, samples: Path, name: str):
    if "face00/clnf/input/gray" in ref.names:
        return ref["face00/clnf/input/gray"]
    p = samples / name if (samples / name).exists() else samples / "image_sequence" / name
    bgr = cv2.imread(str(p))
    return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


def _cases(dump: Path, samples: Path):
    """(label, gray, orientation, landmarks, expected certainty) for each recorded validation: a
    hypothesis' refit state, or the face's output where the fit had one hypothesis only."""
    ref = read_trace(dump)
    names = set(ref.names)
    gray = None
    for v in sorted(n for n in names if n.endswith("/validation/certainty")):
        pre = v[: -len("validation/certainty")]
        face = v.split("/")[0]
        src = None
        if pre + "refit/params_global" in names:
            src = pre + "refit/"
        elif pre.endswith("/h00/") and not any(n.startswith(f"{face}/clnf/h01/") for n in names):
            src = f"{face}/output/"
        if src is None:
            continue
        if gray is None:
            gray = _gray(ref, samples, dump.name)
            if gray is None:
                return
        pg = np.asarray(ref[src + "params_global"], dtype=np.float32)
        yield (f"{dump.name}:{v}", gray, pg[1:4].astype(np.float64),
               np.asarray(ref[src + "landmarks_stacked"], dtype=np.float32), np.float32(ref[v]))


@pytest.fixture(scope="module")
def validators(openface_model_dir):
    d = openface_model_dir / "detection_validation"
    return {f: read_validator(d / f) for f in set(COLLECTIONS.values())}


@pytest.mark.parametrize("collection", sorted(COLLECTIONS))
def test_fast_path_bits_equal_numpy_form_on_all_dumps(shared_dir, samples_dir, validators, collection):
    v = validators[COLLECTIONS[collection]]
    root = shared_dir / "reference_dumps" / collection
    n, views = 0, set()
    for dump in sorted(p for sub in root.iterdir() if sub.is_dir() for p in sub.iterdir()):
        if not (dump / "meta.json").exists():
            continue
        for label, gray, orientation, lm, expected in _cases(dump, samples_dir):
            fast = v.cnn_output(orientation, gray, lm)
            slow = validator_numpy.cnn_output(v, orientation, gray, lm)
            assert fast.dtype == slow.dtype == np.float32, label
            assert fast.tobytes() == slow.tobytes(), label       # every bit, signs of zeros included
            assert np.float32(v.check(orientation, gray, lm)) == expected, label
            views.add(v.view_index(orientation))
            n += 1
    assert n >= 20, n
    assert len(views) >= 3, views        # several views' CNNs and PAWs exercised


def test_paw_maps_bits_equal_numpy_form(validators):
    rng = np.random.default_rng(7)
    for v in validators.values():
        for view in v.views:
            paw = view.paw
            lm = (paw.destination_landmarks * np.float32(rng.uniform(0.6, 1.8))
                  + rng.normal(0, 3, paw.destination_landmarks.shape).astype(np.float32) + np.float32(80)).astype(np.float32)
            assert paw.coefficients(lm).tobytes() == paw.coefficients_numpy(lm).tobytes()
            roi = rng.uniform(0, 255, (220, 230)).astype(np.float32)
            assert paw.warp(roi, lm).tobytes() == validator_numpy.warp(paw, roi, lm).tobytes()


@settings(max_examples=200, deadline=None)
@given(st.tuples(*[st.floats(-math.pi, math.pi, allow_nan=False)] * 3))
def test_view_index_matches_numpy_form(validators, orientation):
    for v in validators.values():
        assert v.view_index(orientation) == validator_numpy.view_index(v.orientations, orientation)


def test_view_distance_bits_equal_numpy(validators):
    """The view distance in Python floats against np.sqrt(np.sum((o - c) ** 2)): a left-to-right sum of
    d·d (d ** 2 in Python calls pow and, a few times in 10^4 here, rounds differently)."""
    rng = np.random.default_rng(11)
    o = rng.standard_normal((20000, 3)) * rng.choice([1e-4, 1e-2, 1.0, 3.0], (20000, 3))
    c = np.concatenate([rng.standard_normal((10000, 3)),
                        np.resize(validators["validator_cnn_68.txt"].orientations, (10000, 3))])
    for a, b in zip(o, c):
        assert view_distance(*a.tolist(), *b.tolist()) == float(np.sqrt(np.sum((a - b) ** 2))), (a, b)


def test_view_index_ties_take_the_first(validators):
    # halfway between two views' yaws (both at distance d): the first in file order, as the NumPy form
    v = validators["validator_cnn_68.txt"]
    for i in range(len(v.orientations) - 1):
        mid = (v.orientations[i] + v.orientations[i + 1]) / 2
        assert v.view_index(mid) == validator_numpy.view_index(v.orientations, mid)


def test_every_layer_form_bits_equal_numpy_form(validators, shared_dir, samples_dir):
    """The shipped CNNs use conv+ReLU+pool blocks and fully connected layers only; a synthetic layer
    list on a real view also runs the other forms: kernel sizes 4 and 9, a convolution alone, pooling
    and ReLU as separate layers, windows clipped at the border (57 -> 29, and 21 -> 11 fused), one map
    into a fully connected layer, sigmoids on maps and on vectors."""
    from dataclasses import replace

    rng = np.random.default_rng(3)

    def conv(n_in, n_k, k):
        return ("conv", rng.normal(0, 0.4 / k, (n_in * k * k + 1, n_k)).astype(np.float32), k, k)

    def fc(n_in, n_out):
        return ("fc", rng.normal(0, 0.3, (n_out, n_in)).astype(np.float32), rng.normal(0, 0.1, n_out).astype(np.float32))

    # conv+ReLU fused, a ReLU and a pooling alone, conv+ReLU+pool fused, a convolution alone
    layers = [conv(1, 4, 4), ("relu",), ("relu",), ("pool",), conv(4, 3, 9), ("relu",), ("pool",), conv(3, 1, 3),
              ("sigmoid",), fc(81, 10), ("relu",), fc(10, 6), ("sigmoid",)]
    v = validators["validator_cnn_68.txt"]
    v = replace(v, views=[replace(view, layers=layers) for view in v.views])
    root = shared_dir / "reference_dumps" / "openface-2.0.2-cen-synthetic" / "images"
    n = 0
    for dump in sorted(root.iterdir())[:3]:
        for label, gray, orientation, lm, _ in _cases(dump, samples_dir):
            fast = v.cnn_output(orientation, gray, lm)
            assert fast.shape == (6,) and len(set(fast.tolist())) == 6, (label, fast)   # not saturated
            assert fast.tobytes() == validator_numpy.cnn_output(v, orientation, gray, lm).tobytes(), label
            n += 1
    assert n >= 2


def test_pairwise_sum_bits_equal_numpy_sum():
    """The normalisation's float64 means use NumPy's pairwise summation (leaves of 128, halves above)."""
    from pyparity.pipelines.clnf.validator.kernels import pairwise_sum

    rng = np.random.default_rng(5)
    for n in [*range(1, 140), 255, 256, 257, 1000, 2642, 4099]:
        a = np.float32(rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(np.float64)
        assert pairwise_sum(a) / n == np.mean(a), n
        assert pairwise_sum(a * a) == np.sum(a * a), n
