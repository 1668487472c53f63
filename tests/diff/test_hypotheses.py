"""The sharper diagnoses (diff/hypotheses/): each bug class injected on arrays made here, with a negative
control each (a difference that is not that class must not be named as it)."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.diff.compare import compare_arrays
from pyparity.diff.diagnose import Context, diagnose
from pyparity.diff.hypotheses.clnf import kde_mean_shifts
from pyparity.diff.hypotheses.nms import openface_nms
from pyparity.diff.policy import Tolerance
from pyparity.probe.transforms import apply_steps, normalise_steps
from pyparity.trace import Trace

TOL = Tolerance(rtol=1e-5, ulps=4)
rng = np.random.default_rng(16)


def ids(hyps):
    return [h.id for h in hyps]


def first(hyps, hid):
    return next(h for h in hyps if h.id == hid)


# ---- single values ---------------------------------------------------------------------------

def test_single_value_says_both_values_not_an_affine_guess():
    hyps = diagnose(np.float32(2.25), np.float32(2.5), TOL, Context("face00/clnf/h00/fit/s0/sigma"))
    assert ids(hyps) == ["values"]
    h = hyps[0]
    assert "2.25 in the reference, 2.5 in the port" in h.title and "another sigma" in h.title
    assert "B − A = 0.25" in h.detail and "B / A = 1.11111" in h.detail
    assert all("B = A +" not in x.detail and "×" not in x.detail for x in hyps)


def test_single_value_iteration_count():
    hyps = diagnose(np.int32(5), np.int32(10), TOL, Context("face00/clnf/h00/fit/s0/rigid/iterations"))
    assert hyps[0].title == "another number of iterations: 5 in the reference, 10 in the port"
    assert "B − A = 5" in hyps[0].detail


def test_single_value_names_an_earlier_stage_with_the_ports_value():
    ref = Trace.from_arrays({"f/s0/base_sigma": np.float32(2.5), "f/s0/sigma": np.float32(2.25)})
    hyps = diagnose(np.float32(2.25), np.float32(2.5), TOL, Context("f/s0/sigma", ref, None, ("f/s0/base_sigma",)))
    assert "the reference's f/s0/base_sigma" in hyps[0].detail


# ---- sizes one off ---------------------------------------------------------------------------

def test_size_off_by_one_names_floor_and_ceil_of_the_scaled_size():
    scale = 0.2102
    h_ceil, h_floor = int(np.ceil(480 * scale)), int(np.floor(480 * scale))
    ref = Trace.from_arrays({"p/s03/scale": np.float64(scale), "p/s03/input": np.zeros((h_ceil, 40))},
                            meta={"input": {"height": 480, "width": 640}})
    ctx = Context("p/s03/input", ref, None, ("p/s03/scale",))
    hyps = diagnose(np.zeros((h_ceil, 40)), np.zeros((h_floor, 40)), TOL, ctx)
    h = first(hyps, "size-off-by-one")
    assert f"{h_floor} rows = floor(480 × 0.2102)" in h.detail and f"ceil(480 × 0.2102) = {h_ceil}" in h.detail


def test_records_one_fewer_are_a_selection_not_a_size():
    a = rng.uniform(0, 100, (9, 4))
    assert "size-off-by-one" not in ids(diagnose(a, a[:8], TOL, limit=20))


# ---- rounding modes --------------------------------------------------------------------------

HALVES = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 3.2, -4.7, 7.0])


def test_half_to_even_where_the_reference_rounds_half_away():
    away = np.sign(HALVES) * np.floor(np.abs(HALVES) + 0.5)
    hyps = diagnose(HALVES, np.round(HALVES), TOL, limit=20)
    assert any(h.id == "rounding" and "round half to even, not round half away from zero" in h.title for h in hyps)
    hyps = diagnose(HALVES, away, TOL, limit=20)
    assert any(h.id == "rounding" and "round half away from zero, not round half to even" in h.title for h in hyps)


def test_a_is_b_rounded_half_to_even_prints_a_transform_that_aligns():
    b = HALVES
    a = np.round(b)
    h = next(h for h in diagnose(a, b, TOL, limit=20) if h.id == "rounding")
    assert h.title.startswith("A is B after round half to even")
    assert np.array_equal(apply_steps(b, normalise_steps({"round": 0}, "t")), a) and h.transform == "round = 0"


def test_floor_is_still_floor():
    x = rng.uniform(-9, 9, 20)
    x += np.where(np.abs(x - np.round(x)) < 0.1, 0.3, 0)
    h = next(h for h in diagnose(x, np.floor(x), TOL, limit=20) if h.id == "rounding")
    assert h.title == "B is A after floor"


def test_rounding_negative_control():
    b = np.round(HALVES)
    b[-1] += 1.0  # one value that no rounding of A gives
    assert not any("half" in h.title for h in diagnose(HALVES, b, TOL, limit=20))


# ---- box coefficients ------------------------------------------------------------------------

BOXES = np.column_stack([rng.uniform(0, 300, 12), rng.uniform(0, 300, 12), rng.uniform(30, 200, 12),
                         rng.uniform(30, 200, 12)])


def test_offsets_proportional_to_box_size_are_coefficients():
    b = BOXES.copy()
    b[:, 0] += 0.02 * BOXES[:, 2]          # a calibration's x coefficient 0.02 off
    b[:, 3] -= 0.05 * BOXES[:, 3]          # and its height coefficient
    hyps = diagnose(BOXES, b, Tolerance(atol=1e-6), limit=20)
    h = first(hyps, "coefficients")
    assert "x + 0.02·w" in h.detail and "h − 0.05·h" in h.detail
    assert "offset" not in ids(hyps)  # no 'constant offset' for an offset that grows with the box


def test_a_constant_offset_is_not_a_coefficient():
    hyps = diagnose(BOXES, BOXES + np.array([1.0, 1.0, 0, 0]), TOL, limit=20)
    assert "coefficients" not in ids(hyps) and "offset" in ids(hyps)


def test_coefficients_negative_control():
    b = BOXES.copy()
    b[:, 0] += 0.02 * BOXES[:, 2]
    b[4, 1] += 9.0
    assert "coefficients" not in ids(diagnose(BOXES, b, Tolerance(atol=1e-6), limit=20))


# ---- rows in another order -------------------------------------------------------------------

def test_row_order_suggests_a_sort_that_aligns_and_checks_it():
    # C++ walks its heat map column by column: rows ordered by x, then y; the port row by row
    pts = np.array([[x, y, 12.0, 12.0] for x in (3.0, 5.0, 9.0) for y in (1.0, 4.0, 8.0)])
    port = pts[np.lexsort((pts[:, 0], pts[:, 1]))]          # by y, then x
    h = first(diagnose(pts, port, TOL, limit=20), "row-order")
    spec = {"sort_rows": True} if h.transform == "sort_rows = true" else {"sort_rows": eval(h.transform.split("=")[1])}
    assert np.array_equal(apply_steps(port, normalise_steps(spec, "t")), pts)
    assert h.fix_kind == "convention"


def test_row_order_that_no_sort_gives_suggests_a_set_comparison():
    a = rng.uniform(0, 9, (6, 3))
    b = a[[3, 1, 5, 0, 4, 2]]
    a_unsorted = a[[2, 0, 4, 1, 5, 3]]
    h = first(diagnose(a_unsorted, b, TOL, limit=20), "row-order")
    assert 'order = \\"set\\"' in h.transform or 'order = "set"' in h.transform


def test_set_order_comparison_pairs_rows_by_distance():
    a = BOXES[:6]
    b = (a + np.array([5.0, 5.0, 0, 0]))[[3, 0, 5, 1, 4, 2]]   # every box 5 px off, in another order
    r = compare_arrays("s", a, b, Tolerance(atol=0.5, order="set"))
    assert r.status == "diverged" and r.max_abs == pytest.approx(5.0)
    assert "paired by distance" in r.note


# ---- fix kinds -------------------------------------------------------------------------------

def test_every_printed_alignment_says_convention_or_mask():
    a = rng.uniform(-5, 5, (4, 6))
    for b, kind in ((a.T.copy(), "convention"), (a + 3.25, "mask"), (a * 2, "mask"), (a + 0.5, "convention")):
        for h in diagnose(a, b, TOL, limit=20):
            if not h.transform.startswith("#"):
                assert h.fix_kind in ("convention", "mask")
        assert diagnose(a, b, TOL)[0].fix_kind == kind


# ---- NMS tie-breaks --------------------------------------------------------------------------

def _nms_case():
    # three overlapping candidates, two with exactly equal scores: which one survives depends on the tie rule
    boxes = np.array([[100, 100, 50, 50], [110, 100, 50, 50], [300, 300, 40, 40], [105, 104, 50, 50]], np.float32)
    scores = np.array([0.99, 1.0, 0.95, 1.0], np.float32)
    keep = openface_nms(boxes, scores, 0.5, False)
    other = openface_nms(boxes, scores, 0.5, False, ties="first")
    return boxes, scores, keep, other


def test_openface_nms_takes_the_last_of_equal_scores():
    boxes, scores, keep, other = _nms_case()
    assert keep[0] == 3 and other[0] == 1


def test_nms_tie_break_is_named_at_the_nms_that_tied():
    boxes, scores, keep, other = _nms_case()
    ref = Trace.from_arrays({"d/pnet/boxes": boxes, "d/pnet/scores": scores, "d/pnet/nms_keep": keep.astype(np.int32),
                             "d/pnet/kept_boxes": boxes[np.sort(keep)]})
    port = boxes[np.sort(other)]
    ctx = Context("d/pnet/kept_boxes", ref, None, ("d/pnet/boxes", "d/pnet/scores", "d/pnet/nms_keep"))
    h = first(diagnose(boxes[np.sort(keep)], port, Tolerance(atol=1e-3), ctx, limit=20), "nms-tie-break")
    assert "at d/pnet/nms_keep" in h.title and "exactly the score 1" in h.detail


def test_nms_tie_break_negative_control():
    boxes, scores, keep, other = _nms_case()
    ref = Trace.from_arrays({"d/pnet/boxes": boxes, "d/pnet/scores": scores, "d/pnet/nms_keep": keep.astype(np.int32),
                             "d/pnet/kept_boxes": boxes[np.sort(keep)]})
    ctx = Context("d/pnet/kept_boxes", ref, None, ("d/pnet/boxes", "d/pnet/scores", "d/pnet/nms_keep"))
    far = np.array([[600, 600, 30, 30], [300, 300, 40, 40]], np.float32)  # rows no tie rule gives
    assert "nms-tie-break" not in ids(diagnose(boxes[np.sort(keep)], far, Tolerance(atol=1e-3), ctx, limit=20))


# ---- CLNF mean-shift grid --------------------------------------------------------------------

def _mean_shift_case():
    n, ws = 6, 9
    yy, xx = np.mgrid[0:ws, 0:ws]
    centres = rng.uniform(2, 6, (n, 2))
    resp = np.exp(-((xx[None] - centres[:, 0, None, None]) ** 2 + (yy[None] - centres[:, 1, None, None]) ** 2) / 4)
    dxs, dys = rng.uniform(3, 5, (n, 1)), rng.uniform(3, 5, (n, 1))
    sim = np.array([[0.9, -0.1], [0.1, 0.9]])
    scale = "f/h00/fit/s1"
    on_grid = kde_mean_shifts(resp, dxs, dys, 2.25, True)
    exact = kde_mean_shifts(resp, dxs, dys, 2.25, False)
    to_img = lambda m: np.concatenate([m[:n] * sim[0, 0] + m[n:] * sim[0, 1], m[:n] * sim[1, 0] + m[n:] * sim[1, 1]])
    ref = Trace.from_arrays({f"{scale}/responses": resp.astype(np.float32), f"{scale}/sigma": np.float32(2.25),
                             f"{scale}/sim_ref_to_img": sim.astype(np.float32),
                             f"{scale}/rigid/it01/dxs": dxs.astype(np.float32),
                             f"{scale}/rigid/it01/dys": dys.astype(np.float32)})
    return ref, f"{scale}/rigid/it01/mean_shifts_stacked", to_img(on_grid), to_img(exact)


def test_mean_shift_at_exact_offsets_is_named():
    ref, stage, a, b = _mean_shift_case()
    h = first(diagnose(a.reshape(-1, 1), b.reshape(-1, 1), TOL, Context(stage, ref, None, tuple(ref.names)), limit=20),
              "kde-grid")
    assert "0.1-px grid" in h.title


def test_mean_shift_grid_negative_control():
    ref, stage, a, b = _mean_shift_case()
    b2 = b + rng.normal(0, 0.05, b.shape)
    assert "kde-grid" not in ids(diagnose(a.reshape(-1, 1), b2.reshape(-1, 1), TOL,
                                          Context(stage, ref, None, tuple(ref.names)), limit=20))


def test_mean_shifts_mapped_with_the_ports_own_similarity_are_inherited_from_it():
    ref, stage, a, _ = _mean_shift_case()
    scale_dir = stage.split("/rigid/")[0]
    port_sim = np.array([[0.9, -0.1], [0.1, 0.9]]) * 0.997   # the port's transform: 0.3 % smaller
    cand = Trace.from_arrays({f"{scale_dir}/sim_ref_to_img": port_sim.astype(np.float32)})
    b = a * 0.997
    hyps = diagnose(a.reshape(-1, 1), b.reshape(-1, 1), TOL, Context(stage, ref, cand, tuple(ref.names)), limit=20)
    assert hyps[0].id == "sim-inherited", [h.title for h in hyps]
    assert f"{scale_dir}/sim_ref_to_img (scale 0.997 × the reference's" in hyps[0].title
    # negative control: the same ports's transform, but shifts that are not the reference's mapped through it
    b2 = b + rng.normal(0, 0.01, b.shape)
    assert "sim-inherited" not in ids(diagnose(a.reshape(-1, 1), b2.reshape(-1, 1), TOL,
                                               Context(stage, ref, cand, tuple(ref.names)), limit=20))


# ---- where a difference is, what it is made of (CLNF's landmarks and parameters) ------------------

def test_stacked_landmarks_that_differ_at_the_eyes_are_named_points_not_rows():
    a = rng.uniform(100, 300, (136, 1)).astype(np.float32)
    b = a.copy()
    b[36:48] += 0.1     # x of points 36-47
    b[104:116] -= 0.05  # y of the same points
    hyps = diagnose(a, b, TOL, Context("face00/clnf/h00/parts_merged/landmarks_stacked"), limit=20)
    assert ids(hyps) == ["localised"]
    assert hyps[0].title == "only 12 of 68 points differ: 36–47 (the eyes: all 12 of their points)"


def test_stacked_landmarks_at_a_few_mouth_points_name_the_part():
    a = rng.uniform(100, 300, (136, 1)).astype(np.float32)
    b = a.copy()
    b[[50, 51]] += 0.3
    assert "(2 of the 20 points of the mouth)" in diagnose(a, b, TOL, Context("f/landmarks_stacked"))[0].title


def test_global_parameters_that_differ_are_named_with_both_values():
    a = np.array([1.2345, 0.1234, -0.2345, 0.0567, 300.123, 200.456], np.float32)
    b = a.copy()
    b[1] += 1e-4
    b[2] -= 1e-4
    h = diagnose(a, b, TOL, Context("face00/clnf/h00/refit/params_global"))[0]
    assert h.title == "2 of 6 global parameters differ: rotation x (pitch), rotation y (yaw)"
    assert "rotation x (pitch): 0.1234 in the reference, 0.1235 in the port" in h.detail
    # elsewhere the same six numbers are only indices
    assert "index 1–2" in diagnose(a, b, TOL, Context("f/some_vector"))[0].title


def test_a_small_difference_everywhere_is_said_with_its_size():
    a = rng.normal(0, 5, (34, 1)).astype(np.float32)
    b = (a + rng.normal(0, 3e-4, a.shape)).astype(np.float32)
    h = diagnose(a, b, TOL, Context("face00/clnf/h00/refit/params_local"))[0]
    assert h.id == "small-everywhere" and "of the shape modes (the PDM's local parameters) differ a little" in h.title
    assert f"up to {float(np.abs(b.astype(np.float64) - a).max()):.3g}" in h.title and "another precision" in h.detail


def test_a_small_difference_everywhere_negative_control():
    a = rng.normal(0, 5, (34, 1)).astype(np.float32)
    b = a + rng.normal(0, 0.5, a.shape)   # not small against the values: no explanation
    assert "small-everywhere" not in ids(diagnose(a, b, TOL, Context("f/refit/params_local"), limit=20))


# ---- conventions: negative controls (the positive cases: tests/hunt/test_conventions.py) ------------

def test_rotation_and_intrinsics_negative_controls():
    e = np.array([0.1, -0.3, 0.05])
    assert "rotation" not in ids(diagnose(e, e + np.array([0.01, -0.2, 0.3]), TOL, Context("face00/output/euler"),
                                          limit=20))
    K = np.array([[500.0, 0, 320], [0, 500, 240], [0, 0, 1]])
    K2 = K.copy()
    K2[0, 0], K2[1, 2] = 480.0, 250.0   # the focal and the principal point, unrelated
    assert "intrinsics" not in ids(diagnose(K, K2, TOL, Context("cam/K"), limit=20))


def test_a_pose_rotation_part_in_degrees():
    pose = np.array([10.0, -20.0, 500.0, 0.1, -0.3, 0.05])
    port = pose.copy()
    port[3:] = np.degrees(port[3:])
    h = first(diagnose(pose, port, TOL, Context("face00/output/pose"), limit=20), "rotation")
    assert "degrees" in h.title and "pose" in h.detail


def test_diff_report_carries_the_fix_kind():
    a = Trace.from_arrays({"x/lm": rng.uniform(0, 9, (5, 6))})
    b = Trace.from_arrays({"x/lm": np.ascontiguousarray(a["x/lm"].T)})
    rep = diff_traces(b, a)
    assert rep.first.diagnosis[0].to_dict()["fix_kind"] == "convention"
