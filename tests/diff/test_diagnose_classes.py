"""Every diagnosis class of diff/diagnose.py injected in both directions on arrays made here, with a
negative control each (a real difference on top of the same bug, which must not be explained away),
and the transform each diagnosis prints checked to bring B back to A (probe/transforms.py)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from pyparity.conventions import interleaved_to_stacked, stacked_to_interleaved, xywh_to_xyxy, xyxy_to_xywh
from pyparity.conventions.landmarks import stacked_to_xy, xy_to_stacked
from pyparity.diff.diagnose import Context, diagnose
from pyparity.diff.policy import Tolerance
from pyparity.probe.transforms import apply_steps, normalise_steps
from pyparity.trace import Trace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOL = Tolerance(rtol=1e-5, ulps=4)
rng = np.random.default_rng(21)


def _rand(*shape, lo=-50.0, hi=50.0):
    return rng.uniform(lo, hi, shape)


def _boxes_xywh(n):
    return np.column_stack([_rand(n, lo=0, hi=300), _rand(n, lo=0, hi=300), _rand(n, lo=20, hi=90),
                            _rand(n, lo=20, hi=90)])


def _landmarks_stacked(n=68):
    return np.concatenate([_rand(n, lo=100, hi=300), _rand(n, lo=50, hi=250)])


def _fractional(*shape):
    x = _rand(*shape)
    return x + np.where(np.abs(x - np.round(x)) < 0.1, 0.25, 0.0)   # away from integers and .5 ties


S = _landmarks_stacked()
IL = stacked_to_interleaved(S)
XY = stacked_to_xy(S)
J = rng.standard_normal((136, 6))                  # a Jacobian: 2N rows of (x..., y...) stacked
CUBE = _rand(3, 4, 5)
IMG = _rand(6, 7, 3, lo=0, hi=255)
BOX = _boxes_xywh(9)
BOX_XYXY = xywh_to_xyxy(BOX)
FRAC = _fractional(40)
NEG = _fractional(5, 8)                           # negative and positive fractions: floor and trunc differ
PERM = rng.permutation(9)


def _hw_swap(a):
    return np.ascontiguousarray(np.swapaxes(a, -1, -2)).reshape(a.shape)


def _unswap(shape):
    return lambda b: np.ascontiguousarray(b.reshape(shape[:-2] + (shape[-1], shape[-2])).swapaxes(-1, -2))


# (label, A, f with B = f(A), hypothesis id, words in its title, whether the printed transform maps B to A)
CASES = [
    ("interleaved: flat", S, stacked_to_interleaved, "interleaved", "reference stacks", True),
    ("stacked: flat", IL, interleaved_to_stacked, "stacked", "reference interleaves", True),
    ("interleaved: rows of a Jacobian", J, stacked_to_interleaved, "interleaved", "reference stacks", True),
    ("stacked: rows of a Jacobian", stacked_to_interleaved(J), interleaved_to_stacked, "stacked", "reference interleaves", True),
    ("interleaved: along axis 1", J.T.copy(), lambda a: stacked_to_interleaved(a.T).T.copy(), "interleaved", "stacks", True),
    ("stacked: along axis 1", stacked_to_interleaved(J).T.copy(), lambda a: interleaved_to_stacked(a.T).T.copy(), "stacked",
     "interleaves", True),
    ("interleaved: flat vs (N, 2) rows", XY, lambda a: a.reshape(-1), "interleaved", "(N, 2) rows", True),
    ("stacked: flat vs (N, 2) rows", XY, xy_to_stacked, "stacked", "(N, 2) rows", True),
    ("(N, 2) rows vs stacked", S, stacked_to_xy, "xy-rows", "stacks", True),
    ("transposed: last two axes", CUBE, lambda a: np.ascontiguousarray(np.swapaxes(a, 1, 2)), "transposed",
     "last two axes swapped", True),
    ("transposed: first two axes", CUBE, lambda a: np.ascontiguousarray(np.swapaxes(a, 0, 1)), "transposed", "axes swapped", True),
    ("transposed: axes permuted", CUBE, lambda a: np.ascontiguousarray(a.transpose(1, 2, 0)), "transposed", "permuted", True),
    ("transposed: the inverse permutation", CUBE, lambda a: np.ascontiguousarray(a.transpose(2, 0, 1)), "transposed",
     "permuted", True),
    ("transposed then reshaped (im2col H/W)", CUBE, _hw_swap, "transposed-reshaped", "im2col", True),
    ("transposed then reshaped, the other way", _hw_swap(CUBE), _unswap(CUBE.shape), "transposed-reshaped", "im2col", True),
    ("reshaped", _rand(6, 4), lambda a: a.reshape(4, 6), "reshaped", "another shape", True),
    ("reshaped, the other way", _rand(4, 6), lambda a: a.reshape(6, 4), "reshaped", "another shape", True),
    ("channel order BGR to RGB", IMG, lambda a: a[..., ::-1].copy(), "channel-order", "BGR vs RGB", True),
    ("channel order on axis 0", _rand(3, 8, 8), lambda a: a[::-1].copy(), "channel-order", "BGR vs RGB", True),
    ("offset +1", XY, lambda a: a + 1, "offset", "off by one", True),
    ("offset -1", XY, lambda a: a - 1, "offset", "off by one", True),
    ("offset +0.5", XY, lambda a: a + 0.5, "offset", "half-pixel", True),
    ("offset -0.5", XY, lambda a: a - 0.5, "offset", "half-pixel", True),
    ("offset 3.25", XY, lambda a: a + 3.25, "offset", "constant offset", True),
    ("offset per column", BOX, lambda a: a + np.array([1.0, 1.0, 0.0, 0.0]), "offset", "off by one", True),
    ("offset per column, the other way", BOX, lambda a: a - np.array([1.0, 1.0, 0.0, 0.0]), "offset", "off by one", True),
    ("scale x2", _rand(5, 6), lambda a: a * 2, "scale", "scale", True),
    ("scale x0.5", _rand(5, 6), lambda a: a * 0.5, "scale", "scale", True),
    ("sign", _rand(5, 6), lambda a: -a, "sign", "sign flip", True),
    ("xywh to xyxy", BOX, xywh_to_xyxy, "xyxy", "[x1, y1, x2, y2] where the reference has [x, y, w, h]", True),
    ("xyxy to xywh", BOX_XYXY, xyxy_to_xywh, "xywh", "[x, y, w, h] where the reference has [x1, y1, x2, y2]", True),
    ("rows reordered", BOX, lambda a: a[PERM], "row-order", "another order", False),
    ("B rounded to 1 decimal", FRAC, lambda a: np.round(a, 1), "rounding", "B is A rounded to 1", False),
    ("A rounded to 2 decimals", np.round(FRAC, 2), lambda a: a + 0.004 * np.cos(np.arange(a.size)), "rounding",
     "A is B rounded to 2", True),
    ("B floored", NEG, np.floor, "rounding", "B is A after floor", False),
    ("A floored", np.floor(NEG), lambda a: a + 0.5 + 0.3 * np.sin(np.arange(a.size)).reshape(a.shape), "rounding",
     "A is B after floor", True),
    ("B truncated", NEG, np.trunc, "rounding", "truncation", False),
    ("A truncated", np.trunc(NEG), lambda a: a + np.sign(a) * 0.6, "rounding", "A is B after truncation", True),
    ("B ceiled", NEG, np.ceil, "rounding", "B is A after ceiling", False),
    ("rows missing", BOX, lambda a: np.delete(a, [2, 5], axis=0), "row-set", "rows missing [2, 5]", False),
    ("rows added", BOX[:7], lambda a: np.vstack([a, BOX[7:]]), "row-set", "2 row(s) of B not in the reference [7, 8]", False),
    ("a row dropped, another added", BOX, lambda a: np.vstack([np.delete(a, 2, axis=0), a[:1] + 40]), "row-set",
     "1 of the reference's rows missing [2]; 1 row(s) of B not in the reference [8]", False),
]


def _ids(hyps):
    return [h.id for h in hyps]


def _apply_printed(transform: str, b: np.ndarray) -> np.ndarray:
    spec = tomllib.loads(transform.replace("; ", "\n"))
    return apply_steps(b, normalise_steps(spec, "diagnosis"))


@pytest.mark.parametrize("label,a,bug,hyp_id,words,invertible", CASES, ids=[c[0] for c in CASES])
def test_injected_class_is_named_and_its_transform_aligns(label, a, bug, hyp_id, words, invertible):
    b = bug(a)
    hyps = diagnose(a, b, TOL, limit=20)
    assert hyp_id in _ids(hyps), [h.title for h in hyps]
    h = next(h for h in hyps if h.id == hyp_id)
    assert words in h.title, h.title
    if invertible:
        aligned = _apply_printed(h.transform, b)
        assert aligned.shape == a.shape and np.allclose(aligned, a, rtol=1e-9, atol=1e-9), h.transform


def _spoil(b: np.ndarray) -> np.ndarray:
    """A real difference on top of the bug: one element far off."""
    out = np.array(b, dtype=np.float64, copy=True)
    flat = out.reshape(-1)
    flat[flat.size // 3] += 97.125
    return out


@pytest.mark.parametrize("label,a,bug,hyp_id,words,invertible", CASES, ids=[c[0] for c in CASES])
def test_negative_control_is_not_explained_away(label, a, bug, hyp_id, words, invertible):
    b = _spoil(bug(a))
    hyps = diagnose(a, b, TOL, limit=20)
    if hyp_id == "row-set":
        # the spoiled row is one more row that the reference lacks: still a selection, but not the same one
        assert all(words not in h.title for h in hyps), [h.title for h in hyps]
    else:
        assert hyp_id not in _ids(hyps), [h.title for h in hyps]


def test_values_that_differ_in_place_are_not_a_row_selection():
    b = BOX.copy()
    b[3] += 5.0
    assert "row-set" not in _ids(diagnose(BOX, b, TOL, limit=20))


def test_a_plain_divergence_gets_no_explanation():
    a = _rand(8, 4)
    b = a + rng.normal(0, 1, a.shape)
    assert diagnose(a, b, TOL, limit=20) == []


def test_stale_values_name_the_earlier_stage_and_only_it():
    early, mid, late = _rand(5, 4), _rand(5, 4), _rand(5, 4)
    ref = Trace.from_arrays({"s/early": early, "s/mid": mid, "s/late": late})
    ctx = Context(stage="s/late", reference=ref, earlier=("s/early", "s/mid"))
    hyps = diagnose(late, mid.copy(), TOL, ctx, limit=20)
    assert "stale-values" in _ids(hyps) and "'s/mid'" in hyps[_ids(hyps).index("stale-values")].title
    hyps = diagnose(late, early.copy(), TOL, ctx, limit=20)
    assert "'s/early'" in hyps[_ids(hyps).index("stale-values")].title
    assert "stale-values" not in _ids(diagnose(late, _spoil(mid), TOL, ctx, limit=20))
    later_only = Context(stage="s/mid", reference=ref, earlier=("s/early",))      # never a later stage
    assert "stale-values" not in _ids(diagnose(mid, late.copy(), TOL, later_only, limit=20))


def test_landmarks_denormalised_with_another_box():
    boxes_ref, boxes_other = _boxes_xywh(3), _boxes_xywh(3)
    norm = rng.uniform(0, 1, (3, 10))

    def denorm(bx):
        return np.concatenate([bx[:, [0]] + bx[:, [2]] * norm[:, :5], bx[:, [1]] + bx[:, [3]] * norm[:, 5:]], axis=1)

    ref = Trace.from_arrays({"m/input_boxes": boxes_ref, "m/corrected_boxes": boxes_other})
    ctx = Context(stage="m/landmarks", reference=ref, earlier=("m/input_boxes", "m/corrected_boxes"))
    hyps = diagnose(denorm(boxes_ref), denorm(boxes_other), TOL, ctx, limit=20)
    assert "landmark-box" in _ids(hyps)
    assert "with m/corrected_boxes instead of m/input_boxes" in hyps[_ids(hyps).index("landmark-box")].title
    # the other direction: the reference used the corrected boxes
    hyps = diagnose(denorm(boxes_other), denorm(boxes_ref), TOL, ctx, limit=20)
    assert "with m/input_boxes instead of m/corrected_boxes" in hyps[_ids(hyps).index("landmark-box")].title
    noisy = denorm(boxes_other) + rng.normal(0, 3, (3, 10))
    assert "landmark-box" not in _ids(diagnose(denorm(boxes_ref), noisy, TOL, ctx, limit=20))


def test_nms_on_stale_scores_in_both_directions():
    """NMS over the reference's boxes: ranking by other (stale) scores keeps another set; either side
    may be the one that ranked by the stale scores."""
    from pyparity.conventions.nms import openface_nms

    for seed in range(200):
        r = np.random.default_rng(seed)
        xy = r.uniform(0, 40, (8, 2))
        boxes = np.column_stack([xy, np.full((8, 2), 30.0)]).astype(np.float32)
        fresh, stale = r.uniform(0, 1, 8).astype(np.float32), r.uniform(0, 1, 8).astype(np.float32)
        keep_fresh = np.sort(openface_nms(boxes, fresh, 0.7))
        keep_stale = np.sort(openface_nms(boxes, stale, 0.7))
        if not np.array_equal(keep_fresh, keep_stale) and len(keep_fresh) == len(keep_stale):
            break
    ref = Trace.from_arrays({"p/boxes": boxes, "p/old_scores": stale, "p/scores": fresh})
    ctx = Context(stage="p/nms_keep", reference=ref, earlier=("p/boxes", "p/old_scores", "p/scores"))
    hyps = diagnose(keep_fresh, keep_stale, TOL, ctx, limit=20)
    assert "nms-inputs" in _ids(hyps)
    assert "p/old_scores instead of p/scores" in hyps[_ids(hyps).index("nms-inputs")].title
    hyps = diagnose(keep_stale, keep_fresh, TOL, ctx, limit=20)
    assert "p/scores instead of p/old_scores" in hyps[_ids(hyps).index("nms-inputs")].title
    other = np.setdiff1d(np.arange(8), keep_stale)[: len(keep_stale)]
    assert "nms-inputs" not in _ids(diagnose(keep_fresh, np.sort(other), TOL, ctx, limit=20))


def test_decision_flip_both_ways_and_its_negative_control():
    """A 0/1 decision whose candidate recorded the thresholded score beside it (`.../margin`)."""
    names = ["AU01", "AU02", "AU04"]
    a = np.array([1, 0, 1])
    ref = Trace.from_arrays({"f/au/margin": np.array([0.5, -0.2, 0.3])}, meta={"parameters": {"au_names": names}})
    for b, flipped, words in ((np.array([1, 1, 1]), "AU02", "0 in A, 1 in B"), (np.array([0, 0, 1]), "AU01", "1 in A, 0 in B")):
        cand = Trace.from_arrays({"f/au/margin": np.where(b == 1, 0.1, -0.1)})
        ctx = Context(stage="f/au/output", reference=ref, candidate=cand, earlier=())
        hyps = diagnose(a, b, TOL, ctx, limit=20)
        assert "decision-flip" in _ids(hyps)
        h = hyps[_ids(hyps).index("decision-flip")]
        assert h.title == f"decision flipped: {flipped}" and words in h.detail
    # no recorded score: nothing to say about the flip; a non-decision stage: not a decision flip
    no_margin = Context(stage="f/au/output", reference=Trace.from_arrays({}), candidate=Trace.from_arrays({}))
    assert "decision-flip" not in _ids(diagnose(a, np.array([1, 1, 1]), TOL, no_margin, limit=20))
    ctx = Context(stage="f/au/output", reference=ref, candidate=ref)
    assert "decision-flip" not in _ids(diagnose(a * 0.5, a * 0.7, TOL, ctx, limit=20))
