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

from pyparity.trace import NULL_RECORDER


# --- rotations (scipy.spatial.transform.Rotation's formulas) ---------------------------------

_EYE = np.eye(3)

def rotvec_to_quat(r: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vector -> (..., 4) quaternion (x, y, z, w), scalar last."""
    r = np.asarray(r, dtype=np.float64)
    angle = np.sqrt(r[..., 0] ** 2 + r[..., 1] ** 2 + r[..., 2] ** 2)
    small = angle <= 1e-3
    a2 = angle * angle
    with np.errstate(invalid="ignore", divide="ignore"):
        large_scale = np.sin(angle / 2) / angle
    scale = np.where(small, 0.5 - a2 / 48 + a2 * a2 / 3840, large_scale)
    return np.concatenate([scale[..., None] * r, np.cos(angle / 2)[..., None]], axis=-1)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternion (x, y, z, w) -> (..., 3, 3)."""
    x, y, z, w = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    x2, y2, z2, w2 = x * x, y * y, z * z, w * w
    xy, zw, xz, yw, yz, xw = x * y, z * w, x * z, y * w, y * z, x * w
    m = np.stack(
        [
            x2 - y2 - z2 + w2, 2 * (xy - zw), 2 * (xz + yw),
            2 * (xy + zw), -x2 + y2 - z2 + w2, 2 * (yz - xw),
            2 * (xz - yw), 2 * (yz + xw), -x2 - y2 + z2 + w2,
        ],
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def rotvec_to_matrix(r: np.ndarray) -> np.ndarray:
    """``Rotation.from_rotvec(r).as_matrix()``."""
    return quat_to_matrix(rotvec_to_quat(r))


def orthogonalize(m: np.ndarray) -> np.ndarray:
    """Nearest rotation in the Frobenius sense: ``U @ Vt`` of the SVD (SciPy >= 1.17 from_matrix)."""
    u, _, vt = np.linalg.svd(m, full_matrices=False)
    return u @ vt


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Markley's method on (3, 3) ``m`` as given (no orthogonalisation), normalised quaternion."""
    m = np.asarray(m, dtype=np.float64)
    tr = m[0, 0] + m[1, 1] + m[2, 2]
    dec = np.array([m[0, 0], m[1, 1], m[2, 2], tr])
    c = int(np.argmax(dec))
    q = np.empty(4)
    if c != 3:
        i = c
        j = (i + 1) % 3
        k = (j + 1) % 3
        q[i] = 1 - tr + 2 * m[i, i]
        q[j] = m[j, i] + m[i, j]
        q[k] = m[k, i] + m[i, k]
        q[3] = m[k, j] - m[j, k]
    else:
        q[0] = m[2, 1] - m[1, 2]
        q[1] = m[0, 2] - m[2, 0]
        q[2] = m[1, 0] - m[0, 1]
        q[3] = 1 + tr
    return q / np.sqrt(q[0] ** 2 + q[1] ** 2 + q[2] ** 2 + q[3] ** 2)


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """(4,) quaternion -> rotation vector (SciPy as_rotvec: canonical w >= 0, atan2 angle)."""
    q = np.asarray(q, dtype=np.float64)
    if q[3] < 0 or (q[3] == 0 and (q[0] < 0 or (q[0] == 0 and (q[1] < 0 or (q[1] == 0 and q[2] < 0))))):
        q = -q
    n = np.sqrt(q[0] ** 2 + q[1] ** 2 + q[2] ** 2)
    angle = 2 * np.arctan2(n, q[3])
    if angle <= 1e-3:
        a2 = angle * angle
        scale = 2 + a2 / 12 + 7 * a2 * a2 / 2880
    else:
        scale = angle / np.sin(angle / 2)
    return scale * q[:3]


def matrix_to_rotvec(m: np.ndarray, orthogonalize_first: bool = True) -> np.ndarray:
    """``Rotation.from_matrix(m).as_rotvec()``; ``orthogonalize_first`` as SciPy >= 1.17 (SVD) or
    False as SciPy <= 1.5 (Markley on the raw matrix). An already orthogonal matrix is left alone."""
    m = np.asarray(m, dtype=np.float64)
    # SciPy's test: isclose(m m^T, I, atol=1e-12) (rtol 1e-5): |g - I| <= 1e-12 + 1e-5 * |I|
    if orthogonalize_first and not np.all(np.abs(m @ m.T - _EYE) <= 1e-12 + 1e-5 * _EYE):
        m = orthogonalize(m)
    return quat_to_rotvec(matrix_to_quat(m))


# --- intrinsics and pose transforms ------------------------------------------------------------

def image_intrinsics(h: int, w: int) -> np.ndarray:
    """int64 ``[[w+h, 0, w//2], [0, w+h, h//2], [0, 0, 1]]``."""
    return np.array([[w + h, 0, w // 2], [0, w + h, h // 2], [0, 0, 1]], dtype=np.int64)


def bbox_intrinsics(K: np.ndarray, box: np.ndarray) -> np.ndarray:
    """K with the principal point at the box centre ``x1 + (x2 - x1) // 2`` (floor-division in the
    box's dtype, float32 here), stored into the int64 matrix (truncation), as get_bbox_intrinsics."""
    Kb = K.copy()
    Kb[0, 2] = box[0] + ((box[2] - box[0]) // 2)
    Kb[1, 2] = box[1] + ((box[3] - box[1]) // 2)
    return Kb


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
                                       orthogonalize_first: bool = True, rec=NULL_RECORDER):
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
