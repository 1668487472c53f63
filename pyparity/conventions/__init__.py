"""Every convention conversion lives here: boxes, landmark layouts, colour order.

Names say the convention: ``boxes_xywh`` (N, 4) [x, y, w, h]; ``boxes_xyxy`` (N, 4) [x1, y1, x2, y2];
``landmarks_stacked`` (2N,) [x0..xN-1, y0..yN-1] (OpenFace's layout); ``landmarks_interleaved``
(2N,) [x0, y0, x1, y1, ...]; ``landmarks_xy`` (N, 2). Pixel coordinates are OpenCV's: (0, 0) is the
centre of the top-left pixel.
"""

from pyparity.conventions.boxes import xywh_to_xyxy, xyxy_to_xywh
from pyparity.conventions.landmarks import (
    interleaved_to_stacked,
    stacked_to_interleaved,
    stacked_to_xy,
    xy_to_stacked,
)
from pyparity.conventions.colour import swap_bgr_rgb
from pyparity.conventions.intrinsics import crop_intrinsics, pad_intrinsics, resize_intrinsics
from pyparity.conventions.rotations import (
    euler_to_matrix,
    matrix_to_euler,
    matrix_to_rotvec,
    rotvec_to_matrix,
)

__all__ = [
    "xywh_to_xyxy",
    "xyxy_to_xywh",
    "stacked_to_interleaved",
    "interleaved_to_stacked",
    "stacked_to_xy",
    "xy_to_stacked",
    "swap_bgr_rgb",
    "crop_intrinsics",
    "pad_intrinsics",
    "resize_intrinsics",
    "euler_to_matrix",
    "matrix_to_euler",
    "matrix_to_rotvec",
    "rotvec_to_matrix",
]
