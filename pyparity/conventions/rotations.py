"""Rotation conventions: rotation vector <-> quaternion <-> matrix <-> Euler angles, float64.

- Rotation vector ``rvec`` (3,): axis x angle, radians (OpenCV's Rodrigues, SciPy's rotvec).
- Quaternion (4,) ``(x, y, z, w)``, scalar *last* (SciPy's order).
- Matrix (3, 3) acts on column vectors: ``x_cam = R @ x_model``.
- Euler angles ``(rx, ry, rz)`` = (pitch, yaw, roll), radians, in one of two conventions:
  ``"openface"``: ``R = Rx(rx) @ Ry(ry) @ Rz(rz)`` (OpenFace Utilities::Euler2RotationMatrix, its
  ``pose_Rx/Ry/Rz`` CSV columns); ``"img2pose"``: SciPy ``as_euler("xyz")`` (extrinsic x, y, z),
  i.e. ``R = Rz(rz) @ Ry(ry) @ Rx(rx)``, what img2pose's evaluation notebooks report.

Matrix -> rotation vector takes an explicit, optional orthogonalisation: SciPy >= 1.17 replaces a
non-orthogonal input by the nearest rotation (``U @ Vt`` of its SVD) before Markley's method, SciPy
<= 1.5 applied Markley's method to the raw matrix. ``orthogonalize_first=True`` / ``False``
reproduce each (img2pose's global rotation ``inv(K) K_box R`` is not orthogonal, and the two
differ by up to ~0.05 rad there). The formulas follow scipy.spatial.transform.Rotation.

The same names in OpenFace's float32 arithmetic (what parity with its fit needs): `rotations_f32`.
"""

from __future__ import annotations

import numpy as np

EULER_CONVENTIONS = ("openface", "img2pose")
_EYE = np.eye(3)


def rotvec_to_quat(r: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vector -> (..., 4) quaternion (x, y, z, w), scalar last."""
    r = np.asarray(r, dtype=np.float64)
    angle = np.sqrt(r[..., 0] ** 2 + r[..., 1] ** 2 + r[..., 2] ** 2)
    small = angle <= 1e-3
    a2 = angle * angle
    with np.errstate(invalid="ignore", divide="ignore"):
        large_scale = np.sin(angle / 2) / angle
    # Taylor series of sin(a/2)/a near 0, as SciPy
    scale = np.where(small, 0.5 - a2 / 48 + a2 * a2 / 3840, large_scale)
    return np.concatenate([scale[..., None] * r, np.cos(angle / 2)[..., None]], axis=-1)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) unit quaternion (x, y, z, w) -> (..., 3, 3)."""
    q = np.asarray(q, dtype=np.float64)
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
    """``Rotation.from_rotvec(r).as_matrix()``: (..., 3) -> (..., 3, 3)."""
    return quat_to_matrix(rotvec_to_quat(r))


def is_orthogonal(m: np.ndarray) -> bool:
    """SciPy's test: ``isclose(m @ m.T, I, atol=1e-12)`` (rtol 1e-5)."""
    m = np.asarray(m, dtype=np.float64)
    return bool(np.all(np.abs(m @ m.T - _EYE) <= 1e-12 + 1e-5 * _EYE))


def orthogonalize(m: np.ndarray) -> np.ndarray:
    """Nearest rotation in the Frobenius sense: ``U @ Vt`` of the SVD (SciPy >= 1.17 from_matrix)."""
    u, _, vt = np.linalg.svd(np.asarray(m, dtype=np.float64), full_matrices=False)
    return u @ vt


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Markley's method on (3, 3) ``m`` as given (no orthogonalisation) -> normalised (4,) quaternion."""
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
    """(4,) quaternion -> rotation vector (SciPy as_rotvec: canonical w >= 0, atan2 angle, |r| <= pi)."""
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
    """``Rotation.from_matrix(m).as_rotvec()`` for one (3, 3) matrix: ``orthogonalize_first=True`` as
    SciPy >= 1.17 (SVD first, unless already orthogonal), ``False`` as SciPy <= 1.5 (raw matrix)."""
    m = np.asarray(m, dtype=np.float64)
    if orthogonalize_first and not is_orthogonal(m):
        m = orthogonalize(m)
    return quat_to_rotvec(matrix_to_quat(m))


# --- Euler angles ------------------------------------------------------------------------------

def rot_x(a):
    """Rotation by ``a`` radians about x (right-handed, active)."""
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def rot_y(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def rot_z(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _check(convention: str) -> None:
    if convention not in EULER_CONVENTIONS:
        raise ValueError(f"unknown Euler convention {convention!r} (one of {', '.join(EULER_CONVENTIONS)})")


def euler_to_matrix(euler: np.ndarray, convention: str = "openface") -> np.ndarray:
    """(3,) (rx, ry, rz) radians -> (3, 3): ``Rx Ry Rz`` ("openface") or ``Rz Ry Rx`` ("img2pose")."""
    _check(convention)
    rx, ry, rz = (float(v) for v in np.asarray(euler, dtype=np.float64).reshape(3))
    if convention == "openface":
        return rot_x(rx) @ rot_y(ry) @ rot_z(rz)
    return rot_z(rz) @ rot_y(ry) @ rot_x(rx)


def matrix_to_euler(m: np.ndarray, convention: str = "openface") -> np.ndarray:
    """(3, 3) rotation -> (3,) (rx, ry, rz) radians, ry in [-pi/2, pi/2] (the middle angle's range).

    "openface": from ``R = Rx Ry Rz``: ``ry = asin(R02)``, ``rx = atan2(-R12, R22)``,
    ``rz = atan2(-R01, R00)`` (OpenFace's RotationMatrix2Euler goes through a quaternion; the same
    angles away from gimbal lock). "img2pose": from ``R = Rz Ry Rx``: ``ry = -asin(R20)``,
    ``rx = atan2(R21, R22)``, ``rz = atan2(R10, R00)`` (SciPy as_euler("xyz") away from gimbal lock).
    """
    _check(convention)
    m = np.asarray(m, dtype=np.float64)
    if convention == "openface":
        ry = np.arcsin(np.clip(m[0, 2], -1.0, 1.0))
        rx = np.arctan2(-m[1, 2], m[2, 2])
        rz = np.arctan2(-m[0, 1], m[0, 0])
    else:
        ry = -np.arcsin(np.clip(m[2, 0], -1.0, 1.0))
        rx = np.arctan2(m[2, 1], m[2, 2])
        rz = np.arctan2(m[1, 0], m[0, 0])
    return np.array([rx, ry, rz])


def rotvec_to_euler(r: np.ndarray, convention: str = "openface") -> np.ndarray:
    return matrix_to_euler(rotvec_to_matrix(r), convention)


def euler_to_rotvec(euler: np.ndarray, convention: str = "openface") -> np.ndarray:
    return matrix_to_rotvec(euler_to_matrix(euler, convention), orthogonalize_first=False)


def convert_euler(euler: np.ndarray, src: str, dst: str) -> np.ndarray:
    """The same rotation's Euler angles in another convention (e.g. img2pose -> OpenFace pose_R*)."""
    return matrix_to_euler(euler_to_matrix(euler, src), dst)
