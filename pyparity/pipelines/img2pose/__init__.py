"""img2pose (Faster R-CNN + 6DoF head, github:vitoralbiero/img2pose @ fd5473e) reimplemented in NumPy
and proven stage by stage against upstream PyTorch dumps (../shared/reference_dumps/img2pose-upstream).

No torch, no upstream or torchvision code: weights are plain arrays keyed by upstream's state_dict
names. torch is only used (optionally) to read ``.pth`` checkpoints.
"""

from pyparity.pipelines.img2pose.config import DUMP_SETTINGS, Img2PoseConfig
from pyparity.pipelines.img2pose.detect import Detections, Img2Pose, load_reference_points
from pyparity.pipelines.img2pose.synth import synth_img2pose, synthetic_weights

__all__ = [
    "DUMP_SETTINGS",
    "Detections",
    "Img2Pose",
    "Img2PoseConfig",
    "load_reference_points",
    "synth_img2pose",
    "synthetic_weights",
]
