"""A small head-pose 'port' for the hunt tests: a face crop resized for a network, the camera matrix of
that crop, and the head rotation as a matrix, Euler angles (OpenFace's R = Rx Ry Rz, radians) and a
rotation vector — with the convention bugs ports of head-pose code make, switched on by name.
With no bug it is the reference (the tests record it clean)."""

from __future__ import annotations

import numpy as np

from pyparity.conventions.intrinsics import camera_matrix, crop_intrinsics, resize_intrinsics
from pyparity.conventions.rotations import euler_to_matrix, matrix_to_rotvec

BUGS = {
    "focal_not_scaled": "camera: the focal length kept when the crop is resized",
    "crop_not_shifted": "camera: the principal point not moved by the crop",
    "half_pixel": "camera: the principal point scaled about pixel corners",
    "degrees": "euler: degrees",
    "euler_order": "euler: R = Rz Ry Rx angles",
    "yaw_sign": "euler: yaw negated",
    "world_frame": "rotation: the inverse rotation (R transposed)",
    "rvec_for_matrix": "rotation: a rotation vector returned where a matrix is expected",
}


class TinyPose:
    def __init__(self, bugs: str = "", crop=(40, 24, 160, 160), size: int = 112):
        self.bugs = {b for b in bugs.split(",") if b}
        self.crop, self.size = crop, size

    def camera(self, image_hw) -> np.ndarray:
        h, w = image_hw
        K = camera_matrix(500.0 * (w / 640 + h / 480) / 2, 500.0 * (w / 640 + h / 480) / 2, w / 2, h / 2)
        x0, y0, cw, ch = self.crop
        if "crop_not_shifted" not in self.bugs:
            K = crop_intrinsics(K, x0, y0)
        s = self.size / cw
        if "focal_not_scaled" in self.bugs:
            K = resize_intrinsics(K, s)
            K[0, 0] /= s
            K[1, 1] /= s
            return K
        return resize_intrinsics(K, s, align="corner" if "half_pixel" in self.bugs else "centre")

    def rotation(self, angles: np.ndarray) -> np.ndarray:
        R = euler_to_matrix(angles, "openface")
        if "world_frame" in self.bugs:
            R = R.T
        if "rvec_for_matrix" in self.bugs:
            return matrix_to_rotvec(R, orthogonalize_first=False)
        return R

    def euler(self, angles: np.ndarray) -> np.ndarray:
        e = np.array(angles, dtype=np.float64)
        if "euler_order" in self.bugs:
            from pyparity.conventions.rotations import convert_euler

            e = convert_euler(e, "openface", "img2pose")
        if "yaw_sign" in self.bugs:
            e[1] = -e[1]
        if "degrees" in self.bugs:
            e = np.degrees(e)
        return e

    def estimate(self, image: np.ndarray):
        # the "network": a deterministic pose from the image's statistics
        m = image.reshape(-1, 3).mean(axis=0) / 255.0
        angles = np.array([0.3 * (m[0] - 0.5), 0.6 * (m[1] - 0.4) + 0.2, 0.25 * (m[2] - 0.5) - 0.1])
        return self.camera(image.shape[:2]), self.rotation(angles), self.euler(angles)


def build(bugs: str = "") -> TinyPose:
    return TinyPose(bugs)
