"""What img2pose needs besides code, for the project's model manager (which fetches or mirrors them).

Licence of everything here: CC BY-NC 4.0 (upstream's licence.md) — never committed to the project.
sha256 is given where the file is public and was checked; the model zip's contents are not public
here (Google Drive), so their hashes are unknown (None).
"""

from __future__ import annotations

UPSTREAM = "github:vitoralbiero/img2pose@fd5473efb83d78c530afc7db12b7c2aa631ea5cb"
_RAW = "https://raw.githubusercontent.com/vitoralbiero/img2pose/fd5473efb83d78c530afc7db12b7c2aa631ea5cb/"
LICENCE = "CC BY-NC 4.0"

FILES = {
    "reference_3d_68_points_trans.npy": {
        "path": "pose_references/reference_3d_68_points_trans.npy",
        "url": _RAW + "pose_references/reference_3d_68_points_trans.npy",
        "sha256": "e0ef4f01b659229085f5c89521faba3c85e915e6c76ff89cd8ffe8ad25515088",
        "what": "68 3D landmarks projected with each pose (float32, 68x3)",
    },
    "reference_3d_5_points_trans.npy": {
        "path": "pose_references/reference_3d_5_points_trans.npy",
        "url": _RAW + "pose_references/reference_3d_5_points_trans.npy",
        "sha256": "a9fce645484c7e326ab7ca19c77e8b99f69f5d6506ef751da4335487a76e1ccb",
        "what": "5 alignment keypoints (float32, 5x3)",
    },
    "img2pose_v1.pth": {
        "path": "models/img2pose_v1.pth",
        "url": "https://drive.google.com/file/d/1OvnZ7OUQFg2bAgFADhT7UnCkSaXst10O/view?usp=sharing",
        "sha256": None,
        "what": "trained ResNet-18 checkpoint {'fpn_model': state_dict with 'module.' prefix}, in the model zip "
                "(README 'pre-trained model'); FPN names in torchvision<=0.12 form (weights.normalise_names maps them)",
    },
    "img2pose_v1_ft_300w_lp.pth": {
        "path": "models/img2pose_v1_ft_300w_lp.pth",
        "url": "https://drive.google.com/file/d/1wSqPr9h1x_TOaxuN-Nu3OlTmhqnuf6rZ/view?usp=sharing",
        "sha256": None,
        "what": "checkpoint fine-tuned on 300W-LP (README 'fine-tuned model')",
    },
    "WIDER_train_pose_mean_v1.npy": {
        "path": "models/WIDER_train_pose_mean_v1.npy",
        "url": "(inside the model zip above)",
        "sha256": None,
        "what": "pose mean (rx, ry, rz, tx, ty, tz), float64; Img2PoseConfig.pose_mean",
    },
    "WIDER_train_pose_stddev_v1.npy": {
        "path": "models/WIDER_train_pose_stddev_v1.npy",
        "url": "(inside the model zip above)",
        "sha256": None,
        "what": "pose stddev, float64; Img2PoseConfig.pose_stddev",
    },
}
