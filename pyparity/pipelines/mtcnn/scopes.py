"""Where MTCNN's stages are recorded: at the top of an image's trace (FaceLandmarkImg) and under
``face00/`` in a tracked frame's trace (FeatureExtraction's re-detection)."""

SCOPES = ("", "face*/")
