"""CLNF landmark fitting, reimplemented from OpenFace 2.0.2's LandmarkDetector for stage-by-stage parity.

    model/       OpenFace's model files (main_clnf_general.txt, .dat matrices, AU files) and the PDM
    experts/     patch experts: CCNF and CEN responses, their views, the areas of interest
    fitting/     the fit: DetectLandmarks (landmarks.py), CLNF::Fit, NU-RLMS, mean-shift, part models,
                 tracking from frame to frame
    validator/   the CNN detection validator and its piecewise-affine warp
    ceclm/       CE-CLM: the CEN model, multi-hypothesis fitting with early termination, isolation
    numerics/    mechanics shared by all: OpenBLAS's float32 kernels, OpenCV ports, LAPACK threads
    scopes.py    where the fit's stages are recorded (the stage index's scopes)

Each subpackage's ``__init__`` is its public face; `pyparity.pipelines.openface` builds on them.
"""
