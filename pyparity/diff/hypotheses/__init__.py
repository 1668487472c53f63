"""Diagnosis hypotheses beyond the single-array ones of diagnose.py, one module per bug family: values
and sizes (values.py), NMS tie-breaks (nms.py), rotation conventions (rotations.py), camera
intrinsics after a crop or resize (intrinsics.py), CLNF's mean-shift (clnf.py). Each is a generator
``(a, b, tol, ctx) -> Hypothesis...`` registered in diagnose.HYPOTHESES."""
