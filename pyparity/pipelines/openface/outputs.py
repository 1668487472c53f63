"""What OpenFace reports for a fitted face: the `faceNN/output/*` stages.

As FaceLandmarkImg / FeatureExtraction compute them after the fit:
- camera: ImageCapture / SequenceCapture::SetCameraIntrinsics defaults (float32 arithmetic):
  fx = fy = (500·w/640 + 500·h/480) / 2, cx = w/2, cy = h/2.
- pose: LandmarkDetector::GetPose — cv::solvePnP (iterative, extrinsic guess from the weak-perspective
  parameters) of the PDM's 3D shape onto the 2D landmarks, rotation as Euler (pitch, yaw, roll) radians,
  translation in mm; a cv::Vec6f widened to cv::Vec6d.
- landmarks_3d: CLNF::GetShape — the rotated PDM shape placed at depth fx/scale, (3, n) float32.
- gaze: GazeAnalysis::EstimateGaze for both eyes (the eye part models' 3D shapes) and GetGazeAngle,
  [left xyz, right xyz, angle x, angle y] float64 (computed in float32 as C++ does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pyparity.conventions.intrinsics import Camera
from pyparity.conventions.rotations_f32 import euler_to_matrix, rotvec_to_euler
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("face*/output/landmarks_stacked", "record_outputs", "FaceLandmarkImg.cpp: main",
          "the final landmarks, stacked (2n, 1)"),
    Stage("face*/output/params_global", "record_outputs", "FaceLandmarkImg.cpp: main", "the final global parameters"),
    Stage("face*/output/params_local", "record_outputs", "FaceLandmarkImg.cpp: main", "the final local parameters"),
    Stage("face*/output/pose", "record_outputs", "LandmarkDetectorFunc.cpp: GetPose",
          "Tx, Ty, Tz (mm), Rx, Ry, Rz (rad)"),
    Stage("face*/output/landmarks_3d", "record_outputs", "LandmarkDetectorModel.cpp: CLNF::GetShape",
          "3D landmarks (3, n)"),
    Stage("face*/output/detection_certainty", "record_outputs", "FaceLandmarkImg.cpp: main",
          "the validator's certainty"),
    Stage("face*/output/detection_success", "record_outputs", "FaceLandmarkImg.cpp: main", "whether the fit succeeded"),
    Stage("face*/output/model_likelihood", "record_outputs", "FaceLandmarkImg.cpp: main", "the model likelihood"),
    Stage("face*/output/camera", "record_outputs", "ImageCapture.cpp: ImageCapture::SetCameraIntrinsics",
          "fx, fy, cx, cy"),
    Stage("face*/output/gaze", "record_outputs", "GazeEstimation.cpp: EstimateGaze, GetGazeAngle",
          "gaze directions 0 and 1, then the gaze angles"),
    Stage("face*/output/eye_landmarks_stacked", "record_outputs", "LandmarkDetectorUtils.cpp: CalculateAllEyeLandmarks",
          "the eye models' landmarks"),
)

_f = np.float32


def _gemm_f32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cv::gemm on CV_32F: products summed in double, stored as float."""
    return (np.asarray(a, dtype=np.float64) @ np.asarray(b, dtype=np.float64)).astype(np.float32)


def shape_3d_camera(pdm, params_global, params_local, landmarks_stacked, cam: Camera) -> np.ndarray:
    """CLNF::GetShape(fx, fy, cx, cy): (3, n) float32 camera-frame landmarks (mm)."""
    g = np.asarray(params_global, dtype=np.float32).reshape(6)
    lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
    n = lm.shape[0] // 2
    s3 = pdm.calc_shape_3d(params_local).reshape(3, n)
    r = euler_to_matrix(g[1:4])
    rot = _gemm_f32(s3.T, r.T)                       # shape3d.t() * R.t()
    zavg = _f(cam.fx / g[0])
    z = (zavg + rot[:, 2]).astype(np.float32)
    x = (z * ((lm[:n] - cam.cx) / cam.fx).astype(np.float32)).astype(np.float32)
    y = (z * ((lm[n:] - cam.cy) / cam.fy).astype(np.float32)).astype(np.float32)
    return np.stack([x, y, z]).astype(np.float32)


def head_pose(pdm, params_global, params_local, landmarks_stacked, cam: Camera) -> np.ndarray:
    """LandmarkDetector::GetPose: (6,) float32 [Tx, Ty, Tz, Rx, Ry, Rz] (zeros when scale is 0)."""
    import cv2

    g = np.asarray(params_global, dtype=np.float32).reshape(6)
    lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
    if lm.size == 0 or g[0] == 0:
        return np.zeros(6, dtype=np.float32)
    n = lm.shape[0] // 2
    z = _f(cam.fx / g[0])
    # (pg - cx) is float, (1.0 / fx) double: the products are double, stored as float
    x = _f(float(_f(g[4] - cam.cx)) * (1.0 / float(cam.fx)) * float(z))
    y = _f(float(_f(g[5] - cam.cy)) * (1.0 / float(cam.fy)) * float(z))
    pts2 = np.ascontiguousarray(lm.reshape(2, n).T, dtype=np.float32)
    pts3 = np.ascontiguousarray(pdm.calc_shape_3d(params_local).reshape(3, n).T, dtype=np.float32)
    k = np.array([[cam.fx, 0, cam.cx], [0, cam.fy, cam.cy], [0, 0, 1]], dtype=np.float32)
    rvec = np.array([[g[1]], [g[2]], [g[3]]], dtype=np.float32)
    tvec = np.array([[x], [y], [z]], dtype=np.float32)
    ok, rvec, tvec = cv2.solvePnP(pts3, pts2, k, None, rvec, tvec, useExtrinsicGuess=True,
                                  flags=cv2.SOLVEPNP_ITERATIVE)
    rvec = np.asarray(rvec, dtype=np.float32).reshape(3)     # written back into cv::Vec3f
    tvec = np.asarray(tvec, dtype=np.float32).reshape(3)
    euler = rotvec_to_euler(rvec)
    return np.concatenate([tvec, euler]).astype(np.float32)


def _norm3(v: np.ndarray) -> float:
    """cv::norm(Point3f): sqrt of the double sum of squares."""
    v = v.astype(np.float64)
    return math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


def _ray_sphere_intersect(origin, direction, centre, radius: float) -> np.ndarray:
    """RaySphereIntersect (GazeEstimation.cpp), float32, including its `/2*a`."""
    dx, dy, dz = (_f(v) for v in direction)
    x0, y0, z0 = (_f(v) for v in origin)
    cx, cy, cz = (_f(v) for v in centre)
    r = _f(radius)
    two = _f(2)
    a = dx * dx + dy * dy + dz * dz
    b = two * dx * (x0 - cx) + two * dy * (y0 - cy) + two * dz * (z0 - cz)
    c = (cx * cx + cy * cy + cz * cz + x0 * x0 + y0 * y0 + z0 * z0
         + _f(-2) * (cx * x0 + cy * y0 + cz * z0) - r * r)
    disc = _f(b * b - _f(4) * a * c)
    if disc < 0:
        return np.array([0, 0, -1], dtype=np.float32)
    t = _f(_f(_f(-b - _f(math.sqrt(float(disc)))) / two) * a)
    return (np.array([x0, y0, z0], dtype=np.float32)
            + np.array([dx, dy, dz], dtype=np.float32) * t).astype(np.float32)


def eye_gaze(face_shape_3d: np.ndarray, eye_shape_3d: np.ndarray, pose: np.ndarray, left_eye: bool) -> np.ndarray:
    """GazeAnalysis::EstimateGaze for one eye: (3,) float32 unit gaze direction (camera frame).

    face_shape_3d: (3, 68) GetShape of the face; eye_shape_3d: (3, 28) GetShape of the eye part;
    pose: GetPose's (6,) float32."""
    rot = euler_to_matrix(np.asarray(pose, dtype=np.float32)[3:6])
    eye = np.asarray(eye_shape_3d, dtype=np.float32).T                  # (28, 3)
    pupil = eye[0:8].astype(np.float64).mean(axis=0).astype(np.float32)  # cv::mean in double
    ray = (pupil.astype(np.float64) / _norm3(pupil)).astype(np.float32)
    face = np.asarray(face_shape_3d, dtype=np.float32).T                # (68, 3)
    offset = np.array([0, -3.5, 7.0], dtype=np.float32)
    i = 0 if left_eye else 1
    mid = ((face[36 + i * 6] + face[39 + i * 6]).astype(np.float32) / _f(2.0)).astype(np.float32)
    centre = (mid + _gemm_f32(rot, offset.reshape(3, 1)).reshape(3)).astype(np.float32)
    axis = (_ray_sphere_intersect(np.zeros(3, np.float32), ray, centre, 12.0) - centre).astype(np.float32)
    return (axis.astype(np.float64) / _norm3(axis)).astype(np.float32)


def gaze_angle(g0: np.ndarray, g1: np.ndarray) -> np.ndarray:
    """GazeAnalysis::GetGazeAngle: (2,) float32 (atan2 in double of the float mean direction)."""
    v = ((np.asarray(g0, np.float32) + np.asarray(g1, np.float32)).astype(np.float32) / _f(2)).astype(np.float32)
    return np.array([math.atan2(float(v[0]), -float(v[2])), math.atan2(float(v[1]), -float(v[2]))], dtype=np.float32)


@dataclass
class FaceOutput:
    """One face as the program reports it (names as the `faceNN/output/*` stages)."""

    landmarks_stacked: np.ndarray    # (2n,) float32
    params_global: np.ndarray        # (6,) float32
    params_local: np.ndarray         # (m,) float32
    pose: np.ndarray                 # (6,) float32 (recorded as float64)
    detection_certainty: np.float32
    detection_success: bool
    model_likelihood: np.float32
    camera: Camera
    landmarks_3d: np.ndarray | None = None   # (3, n) float32
    gaze: np.ndarray | None = None           # (8,) float32 (eye model present)
    eye_landmarks_stacked: np.ndarray | None = None   # (2·56,) float32: left then right eye's 28 points
    aus: object | None = None                # AU models loaded: au.AuResult (image), au.video.FrameAus (sequence)
    fitted: bool = True                      # False: landmarks taken from a reference (`--start au`), no fit

    @classmethod
    def from_landmarks(cls, landmarks_stacked: np.ndarray) -> "FaceOutput":
        """A face whose landmarks come from elsewhere (a reference dump): nothing of the fit is known."""
        nan = np.float32(np.nan)
        return cls(np.asarray(landmarks_stacked, np.float32).reshape(-1), np.full(6, nan, np.float32),
                   np.zeros(0, np.float32), np.full(6, nan, np.float32), nan, False, nan,
                   Camera(nan, nan, nan, nan), fitted=False)


def record_outputs(rec, out: FaceOutput) -> None:
    """Record `output/*` in the caller's scope (`faceNN/`), the reference's stages in its order, then
    eye_landmarks_stacked (CalculateAllEyeLandmarks: in OpenFace's CSV, not in the dumps). Tracking
    dumps hold no landmarks_3d or gaze; FeatureExtraction computes them for its CSV, so they are kept."""
    if not rec.enabled:
        return
    with rec.scope("output"):
        rec.save("landmarks_stacked", np.asarray(out.landmarks_stacked, np.float32).reshape(-1, 1))
        rec.save("params_global", np.asarray(out.params_global, np.float32).reshape(6))
        rec.save("params_local", np.asarray(out.params_local, np.float32).reshape(-1, 1))
        rec.save("pose", np.asarray(out.pose, np.float32).astype(np.float64))
        if out.landmarks_3d is not None:
            rec.save("landmarks_3d", np.asarray(out.landmarks_3d, np.float32))
        rec.save("detection_certainty", np.float32(out.detection_certainty))
        rec.save("detection_success", np.int32(bool(out.detection_success)))
        rec.save("model_likelihood", np.float32(out.model_likelihood))
        rec.save("camera", out.camera.as_array())
        if out.gaze is not None:
            rec.save("gaze", np.asarray(out.gaze, np.float32).astype(np.float64))
        if out.eye_landmarks_stacked is not None:
            rec.save("eye_landmarks_stacked", np.asarray(out.eye_landmarks_stacked, np.float32).reshape(-1, 1))
