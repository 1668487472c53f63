"""img2pose pose conversions (utils/pose_operations.py, utils/image_operations.py), float64.

A 6DoF is ``[rx, ry, rz, tx, ty, tz]``: rotation vector (radians) + translation, in the camera
``K = [[w+h, 0, w//2], [0, w+h, h//2], [0, 0, 1]]`` (int64) of the image the pose refers to — inside
``predict`` the *resized*, un-padded image. A bbox-relative pose uses the same K with the principal
point moved to the box centre, and tz scaled by ``f / (box_w + box_h)``.

Rotations: ``rotvec -> matrix`` (as SciPy), ``matrix -> rotvec`` with explicit, optional
orthogonalisation. img2pose's global rotation matrix ``inv(K_img) K_box R`` is *not* orthogonal;
SciPy >= 1.17 (the dumps) first replaces it by ``U Vt`` of its SVD, SciPy 1.5.4 (upstream's pin)
applied Markley's method to the raw matrix: ``orthogonalize=True`` / ``False`` reproduce each.
"""

from __future__ import annotations

import numpy as np

from pyparity.trace import NULL_RECORDER, StageRecorder


# Rotations and intrinsics live in pyparity.conventions (one implementation for the project); the
# names are re-exported here because the pose chain and its tests use them.
from pyparity.conventions.intrinsics import img2pose_bbox_intrinsics as bbox_intrinsics  # noqa: E402
from pyparity.conventions.intrinsics import img2pose_intrinsics as image_intrinsics  # noqa: E402
from pyparity.conventions.rotations import (  # noqa: E402,F401
    matrix_to_quat,
    matrix_to_rotvec,
    orthogonalize,
    quat_to_matrix,
    quat_to_rotvec,
    rotvec_to_matrix,
    rotvec_to_quat,
)
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("roi/pose/*", "transform_pose_global_project_bbox",
          "img2pose utils/pose_operations.py: transform_pose_global_project_bbox",
          "bbox-relative pose to the whole image, projected landmarks and boxes"),
)


def pose_bbox_to_full_image(pose: np.ndarray, K: np.ndarray, box: np.ndarray, orthogonalize_first: bool = True,
                            steps: dict | None = None, K_inv: np.ndarray | None = None,
                            KT_inv: np.ndarray | None = None) -> np.ndarray:
    """bbox-relative 6DoF (float64) -> image-global 6DoF, as upstream's pose_bbox_to_full_image.

    ``steps`` (optional dict) receives the intermediate values under the dump's names. ``K_inv`` /
    ``KT_inv``: ``inv(K)`` / ``inv(K.T)`` precomputed (the same values upstream computes per box).
    """
    K_inv = np.linalg.inv(K) if K_inv is None else K_inv
    KT_inv = np.linalg.inv(K.T) if KT_inv is None else KT_inv
    rvec = pose[:3].copy()
    tvec = pose[3:].copy()
    Kb = bbox_intrinsics(K, box)
    focal = K[0, 0]
    bbox_size = (box[2] - box[0]) + (box[3] - box[1])
    tvec[2] *= focal / bbox_size
    tz_scaled = tvec[2]
    tvec = Kb.dot(tvec.T).dot(KT_inv)
    rmat = rotvec_to_matrix(rvec)
    raw = K_inv.dot(Kb.dot(rmat))
    rvec_g = matrix_to_rotvec(raw, orthogonalize_first)
    if steps is not None:
        steps.update(bbox_intrinsics=Kb, bbox_size=bbox_size, tz_scaled=tz_scaled, tvec_global=tvec,
                     rmat_bbox=rmat, rmat_global_raw=raw, rvec_global=rvec_g)
    return np.concatenate([rvec_g, tvec])


def pose_full_image_to_bbox(pose: np.ndarray, K: np.ndarray, box: np.ndarray,
                            orthogonalize_first: bool = True) -> np.ndarray:
    """Inverse of `pose_bbox_to_full_image` (upstream's pose_full_image_to_bbox)."""
    rvec = pose[:3].copy()
    tvec = pose[3:].copy()
    Kb = bbox_intrinsics(K, box)
    focal = K[0, 0]
    bbox_size = (box[2] - box[0]) + (box[3] - box[1])
    tvec = K.dot(tvec.T).dot(np.linalg.inv(Kb.T))
    tvec[2] /= focal / bbox_size
    rmat = rotvec_to_matrix(rvec)
    raw = np.linalg.inv(Kb).dot(K.dot(rmat))
    return np.concatenate([matrix_to_rotvec(raw, orthogonalize_first), tvec])


def project_points(points: np.ndarray, dof: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """upstream plot_3d_landmark: (P, 3) model points -> (projected (P, 2), camera-frame K(P Rt + t) (P, 3))."""
    cam = points.dot(rotvec_to_matrix(dof[:3]).T) + dof[3:]
    proj = K.dot(cam.T).T
    xy = proj[:, :2] / np.tile(proj[:, 2], (2, 1)).T
    return xy, proj


def expand_bbox_rectangle(w: int, h: int, bbox_x_factor: float, bbox_y_factor: float, lms: np.ndarray,
                          roll: float, expand_forehead: float) -> np.ndarray:
    """upstream expand_bbox_rectangle: box around the landmarks, scaled, forehead side expanded by roll,
    corners truncated to int32, sides outside the image snapped to 0/w/h. Returns int64 xyxy (4,)."""
    min_x, max_x = np.min(lms[:, 0]), np.max(lms[:, 0])
    min_y, max_y = np.min(lms[:, 1]), np.max(lms[:, 1])
    size_x = int(np.max(max_x - min_x) * bbox_x_factor)
    cx = 0.5 * min_x + 0.5 * max_x
    size_y = int(np.max(max_y - min_y) * bbox_y_factor)
    cy = 0.5 * min_y + 0.5 * max_y
    x1, x2 = cx - size_x * 0.5, cx + size_x * 0.5
    y1, y2 = cy - size_y * 0.5, cy + size_y * 0.5
    if abs(roll) > 2.5:
        y2 += expand_forehead * np.max(max_y - min_y)
    elif roll > 1:
        x2 += expand_forehead * np.max(max_x - min_x)
    elif roll < -1:
        x1 -= expand_forehead * np.max(max_x - min_x)
    else:
        y1 -= expand_forehead * np.max(max_y - min_y)
    x1, x2, y1, y2 = (np.asarray(v).astype(np.int32) for v in (x1, x2, y1, y2))
    left = 0 if abs(min(x1, 0)) > 0 else x1
    top = 0 if abs(min(y1, 0)) > 0 else y1
    right = w if max(x2 - w, 0) > 0 else x2
    bottom = h if max(y2 - h, 0) > 0 else y2
    return np.array([left, top, right, bottom], dtype=np.int64)


def transform_pose_global_project_bbox(boxes: np.ndarray, dofs: np.ndarray, pose_mean, pose_stddev,
                                       image_hw: tuple[int, int], points68: np.ndarray, cfg,
                                       orthogonalize_first: bool = True, rec: StageRecorder = NULL_RECORDER):
    """upstream transform_pose_global_project_bbox: (M, 4) float32 boxes, (M, 6) float32 normalised dofs
    -> (projected boxes (M, 4) float32, global dofs (M, 6) float32). Records ``pose/*`` stages."""
    if len(dofs) == 0:
        return boxes, dofs
    h, w = image_hw
    with rec.scope("pose"):
        rec.save("in_boxes", boxes)
        rec.save("in_dofs", dofs)
        K = image_intrinsics(h, w)
        rec.save("global_intrinsics", K)
        d = dofs * np.asarray(pose_stddev, dtype=np.float64) + np.asarray(pose_mean, dtype=np.float64)
        rec.save("dof_denorm", d)
        steps_all: dict[str, list] = {}
        K_inv, KT_inv = np.linalg.inv(K), np.linalg.inv(K.T)
        gdofs, pboxes, lms_all, cams, rolls = [], [], [], [], []
        for i in range(len(d)):
            st: dict = {}
            g = pose_bbox_to_full_image(d[i], K, boxes[i], orthogonalize_first, st if rec.enabled else None,
                                        K_inv, KT_inv)
            for k, v in st.items():
                steps_all.setdefault(k, []).append(v)
            xy, cam = project_points(points68, g, K)
            pb = expand_bbox_rectangle(w, h, cfg.bbox_x_factor, cfg.bbox_y_factor, xy, g[2], cfg.expand_forehead)
            gdofs.append(g)
            pboxes.append(pb)
            lms_all.append(xy)
            cams.append(cam)
            rolls.append(g[2])
        if rec.enabled:
            for k in ("bbox_intrinsics", "bbox_size", "tz_scaled", "tvec_global", "rmat_bbox", "rmat_global_raw",
                      "rvec_global"):
                rec.save(k, np.asarray(steps_all[k]))
            rec.save("global_dof", np.asarray(gdofs))
            rec.save("lms68_cam", np.asarray(cams))
            rec.save("lms68", np.asarray(lms_all))
            rec.save("roll", np.asarray(rolls, dtype=np.float64))
            rec.save("projected_box", np.asarray(pboxes, dtype=np.int64))
        out_boxes = np.asarray(pboxes).astype(np.float32)
        out_dofs = np.asarray(gdofs).astype(np.float32)
        rec.save("out_boxes", out_boxes)
        rec.save("out_dofs", out_dofs)
    return out_boxes, out_dofs
