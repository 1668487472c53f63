"""OpenFace 2.0.2's MTCNN face detector (FaceDetectorMTCNN::DetectFaces), stage by stage.

``detect(image) -> Detections``; every stage is recorded under the reference dumps' names
(``mtcnn/pnet/sNN/prob``, ``mtcnn/rnet/input_boxes``, ``mtcnn/output/boxes``, ...).
"""

from pyparity.pipelines.mtcnn.detect import START_STAGES, Detections, detect
from pyparity.pipelines.mtcnn.weights import load_mtcnn, read_cnn

__all__ = ["detect", "Detections", "START_STAGES", "load_mtcnn", "read_cnn"]
