"""OpenFace 2.0.2's programs around the CLNF fit: FaceLandmarkImg (image.py), FeatureExtraction's
tracking (sequence.py) and what they report per face (outputs.py)."""

from pyparity.pipelines.openface.image import OpenFaceModels, fit_face, load_openface_models, run_image
from pyparity.conventions.intrinsics import openface_camera
from pyparity.pipelines.openface.outputs import FaceOutput

__all__ = ["OpenFaceModels", "FaceOutput", "openface_camera", "fit_face", "load_openface_models", "run_image"]
