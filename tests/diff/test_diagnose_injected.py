"""Injected bugs: take a real C++ dump, plant one bug class in one mid-pipeline stage, and check that
`diff` names that stage as the first divergence and that the diagnosis names the bug."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.conventions import stacked_to_interleaved, xywh_to_xyxy
from pyparity.diff import diff_traces
from pyparity.conventions.nms import openface_nms
from pyparity.trace import Trace, read_trace

KEEP = ["mtcnn/**", "face00/clnf/input/bbox", "face00/clnf/h00/init/**", "face00/clnf/h00/fit/s0/rigid/it00/**",
        "face00/output/**"]


@pytest.fixture(scope="module")
def reference(openface_dumps) -> Trace:
    t = read_trace(openface_dumps / "images" / "sample1.jpg").select(KEEP)  # level 2: Jacobians recorded
    return Trace.from_arrays([(n, t[n]) for n in t.names], meta=t.meta, source="sample1.jpg")


def _inject(ref: Trace, stage: str, fn) -> Trace:
    return Trace.from_arrays([(n, fn(ref[n]) if n == stage else ref[n]) for n in ref.names], source="injected")


def _hw_swap(a):
    return np.ascontiguousarray(a.transpose(0, 2, 1)).reshape(a.shape)


BUGS = [
    # (stage, bug, expected hypothesis id, words the title must contain)
    ("face00/clnf/h00/fit/s0/rigid/it00/jacobian", stacked_to_interleaved, "interleaved", "interleaved"),
    ("mtcnn/pnet/s02/out", _hw_swap, "transposed-reshaped", "im2col"),
    ("mtcnn/rnet/crops", lambda a: np.ascontiguousarray(a.transpose(0, 2, 1, 3)), "transposed", "swapped"),
    ("mtcnn/rnet/input_boxes", lambda a: a + np.array([1, 1, 0, 0], a.dtype), "offset", "off by one"),
    ("face00/output/landmarks_stacked", lambda a: a + 0.5, "offset", "half-pixel"),
    ("mtcnn/pnet/s00/input", lambda a: a[..., ::-1].copy(), "channel-order", "BGR"),
    ("mtcnn/rnet/out", lambda a: a * np.float32(2), "scale", "scale"),
    ("face00/clnf/h00/fit/s0/rigid/it00/param_update", lambda a: -a, "sign", "sign"),
    ("mtcnn/onet/input_boxes", xywh_to_xyxy, "xyxy", "x1, y1, x2, y2"),
    ("mtcnn/pnet/merged/boxes", lambda a: a[::-1].copy(), "row-order", "order"),
    ("face00/output/landmarks_stacked", lambda a: np.round(a, 1), "rounding", "rounded to 1"),
    # a missing step: ONet is fed RNet's corrected boxes without rectify()
    ("mtcnn/onet/input_boxes", "stale", "stale-values", "mtcnn/rnet/corrected_boxes"),
]


@pytest.mark.parametrize("stage,bug,hyp_id,words", BUGS, ids=[f"{b[2]}@{b[0].split('/')[-1]}" for b in BUGS])
def test_injected_bug_is_named(reference, stage, bug, hyp_id, words):
    if bug == "stale":
        stale = reference["mtcnn/rnet/corrected_boxes"]
        assert stale.shape == reference[stage].shape
        bug = lambda a: stale  # noqa: E731
    candidate = _inject(reference, stage, bug)
    report = diff_traces(candidate, reference)
    assert report.first_divergence == stage, report.summary()
    ids = [h.id for h in report.first.diagnosis]
    assert hyp_id in ids, report.summary()
    title = next(h.title for h in report.first.diagnosis if h.id == hyp_id)
    assert words in title, title


def _denormalise(out, boxes):
    """ONet landmarks (outputs 6..15) mapped through a box: x = bx + w·nx, y = by + h·ny."""
    lm = out[:, 6:16].astype(np.float64)
    x = boxes[:, [0]] + boxes[:, [2]] * lm[:, :5]
    y = boxes[:, [1]] + boxes[:, [3]] * lm[:, 5:]
    return np.concatenate([x, y], axis=1).astype(np.float32)


def test_landmarks_denormalised_with_wrong_box(openface_dumps):
    ref = read_trace(openface_dumps / "images" / "sample2.jpg").select(["mtcnn/**"])
    arrays = [(n, ref[n]) for n in ref.names]
    kept = ref["mtcnn/onet/thresh_keep"]
    out = ref["mtcnn/onet/out"][kept]
    good = _denormalise(out, ref["mtcnn/onet/input_boxes"][kept])
    bad = _denormalise(out, ref["mtcnn/onet/corrected_boxes"])
    a = Trace.from_arrays(arrays + [("mtcnn/onet/landmarks", good)])
    b = Trace.from_arrays(arrays + [("mtcnn/onet/landmarks", bad)])
    report = diff_traces(b, a)
    assert report.first_divergence == "mtcnn/onet/landmarks"
    hyp = {h.id: h for h in report.first.diagnosis}
    assert "landmark-box" in hyp, report.summary()
    title = hyp["landmark-box"].title
    assert "with mtcnn/onet/corrected_boxes instead of mtcnn/onet/input_boxes[mtcnn/onet/thresh_keep]" in title


def _stale_nms_case(openface_dumps):
    """A dump where NMS after RNet ranked by the stale PNet scores keeps other boxes than C++ did."""
    for dump in sorted((openface_dumps / "images").iterdir()):
        t = read_trace(dump)
        names = ["mtcnn/rnet/input_boxes", "mtcnn/rnet/thresh_keep", "mtcnn/rnet/nms_keep", "mtcnn/rnet/scores"]
        if not all(n in t for n in names):
            continue
        tk = t["mtcnn/rnet/thresh_keep"]
        boxes = t["mtcnn/rnet/input_boxes"][tk]
        fresh = t["mtcnn/rnet/scores"][tk]
        stale = t["mtcnn/pnet/merged/scores"][t["mtcnn/pnet/nms_keep"]][tk]
        ref_keep = t["mtcnn/rnet/nms_keep"]
        if not np.array_equal(np.sort(openface_nms(boxes, fresh, 0.7)), np.sort(ref_keep)):
            continue
        bad = openface_nms(boxes, stale, 0.7)
        if not np.array_equal(np.sort(bad), np.sort(ref_keep)):
            return t, bad.astype(ref_keep.dtype)
    return None, None


def test_nms_on_stale_scores(openface_dumps):
    t, bad_keep = _stale_nms_case(openface_dumps)
    assert t is not None, "no shared dump distinguishes fresh from stale NMS scores"
    ref = t.select(["mtcnn/**"])
    arrays = [(n, ref[n]) for n in ref.names]
    b = Trace.from_arrays([(n, bad_keep if n == "mtcnn/rnet/nms_keep" else v) for n, v in arrays])
    report = diff_traces(b, Trace.from_arrays(arrays), stages=["mtcnn/**"])
    assert report.first_divergence == "mtcnn/rnet/nms_keep", report.summary()
    hyp = {h.id: h for h in report.first.diagnosis}
    assert "nms-inputs" in hyp, report.summary()
    assert "stale scores" in hyp["nms-inputs"].title and "pnet/merged/scores" in hyp["nms-inputs"].title


def test_set_policy_matches_reordered_rows(reference):
    from pyparity.diff.policy import parse_policy

    cand = _inject(reference, "mtcnn/pnet/merged/boxes", lambda a: a[::-1].copy())
    strict = diff_traces(cand, reference)
    assert strict.first.order_only and "only in row order" in strict.first.note
    pol = parse_policy({"rule": [{"stages": ["mtcnn/pnet/merged/*"], "order": "set", "atol": 0.0005}]}, "t")
    loose = diff_traces(cand, reference, policy=pol)
    assert loose.ok and loose.stage("mtcnn/pnet/merged/boxes").order_only


def test_a_row_lost_by_selection_is_named(reference):
    """A filtering step that drops one candidate (e.g. an NMS tie broken the other way)."""
    stage = "mtcnn/pnet/merged/boxes"
    cand = _inject(reference, stage, lambda a: np.delete(a, 3, axis=0))
    report = diff_traces(cand, reference)
    assert report.first_divergence == stage and report.first.status == "shape-mismatch"
    hyp = {h.id: h for h in report.first.diagnosis}
    assert "row-set" in hyp and "rows missing [3]" in hyp["row-set"].title
