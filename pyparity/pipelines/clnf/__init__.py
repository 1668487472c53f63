"""CLNF landmark fitting (OpenFace 2.0.2 LandmarkDetector), reimplemented for stage-by-stage parity."""
