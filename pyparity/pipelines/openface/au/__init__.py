"""OpenFace's facial action units on images (FaceAnalyser, static models): one module per stage family
under `faceNN/au/` (see static.py for the table of stages, modules and C++ counterparts).

    from pyparity.pipelines.openface.au import load_au_models, predict_static_aus
    models = load_au_models(au_dir)                    # AU_predictors/ (None: the model manager's)
    res = predict_static_aus(frame_bgr, landmarks_stacked, models, rec)
    res.intensity (17,) AUxx_r, res.presence (18,) AUxx_c, res.presence_margin (18,) SVM scores

Video (FeatureExtraction's dynamic models, running medians, online correction, offline
post-processing): video.py (add_next_frame, postprocess) on the stage functions of dynamic.py.
"""

from pyparity.pipelines.openface.au.models import AuModels, load_au_models
from pyparity.pipelines.openface.au.static import AuResult, predict_static_aus

__all__ = ["AuModels", "AuResult", "load_au_models", "predict_static_aus"]
