"""OpenFace 2.0.2's programs around the CLNF fit: FaceLandmarkImg (image.py), FeatureExtraction's
tracking (sequence.py) and what they report per face (outputs.py)."""

from pyparity.pipelines.openface.image import OpenFaceModels, fit_face, load_openface_models, run_image
from pyparity.pipelines.openface.outputs import FaceOutput, default_camera

__all__ = ["OpenFaceModels", "FaceOutput", "default_camera", "fit_face", "load_openface_models", "run_image"]
