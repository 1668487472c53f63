"""Where the CLNF fit's stages are recorded (the scopes its modules declare their stages under).

FaceLandmarkImg fits each face's hypotheses under ``faceNN/clnf/hNN/`` (CE-CLM's first scale under
``.../first_scale/``); the part models under ``.../parts/<name>/``; FeatureExtraction's tracking fits
directly under ``face00/``.
"""

#: a fit (``fit/...``): every hypothesis, CE-CLM's first scale, the part models, tracking
FIT = ("face*/clnf/h*/", "face*/clnf/h*/first_scale/", "face*/clnf/h*/parts/*/", "face*/", "face*/parts/*/")
#: what a face's fit records around it: parts, refit, validation
FACE = ("face*/clnf/h*/", "face*/")
