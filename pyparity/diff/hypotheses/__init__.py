"""The diagnosis's hypotheses, one module per bug family: where values sit (layout.py: axes, shapes,
stacked vs interleaved, channel order), fixed conversions (transforms.py: offset, scale, sign, box
format, rounding), rows (rows.py: order, another set selected), values and sizes (values.py), NMS
(nms.py: tie-breaks and stale scores, re-running conventions.nms), other stages (stages.py: decision
flips, stale values, landmarks denormalised with another box), rotation conventions (rotations.py),
camera intrinsics after a crop or resize (intrinsics.py), CLNF's mean-shift (clnf.py). Each is a
generator ``(a, b, tol, ctx) -> Hypothesis...`` registered in diagnose.HYPOTHESES."""
