"""Rotation conventions that head-pose and face-tracking ports get wrong, built on
`pyparity.conventions.rotations`: degrees vs radians, Euler order (OpenFace's ``R = Rx Ry Rz`` vs
``Rz Ry Rx``) and axes (pitch, yaw, roll swapped), the sign of yaw, pitch or roll, a rotation vector
where the reference has a matrix (or the other way), and the inverse rotation (camera vs world
frame: ``Rᵀ``).

Applies to stages that hold rotations: 3×3 orthogonal matrices, and 3-vectors (or OpenFace's 6-value
``pose`` ``[Tx, Ty, Tz, Rx, Ry, Rz]``) whose name says rotation (rot, pose, euler, angle, rvec, R).
Euler angles are (rx, ry, rz) = (pitch, yaw, roll), as OpenFace reports them.
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from pyparity.conventions.rotations import (
    convert_euler, euler_to_matrix, matrix_to_euler, matrix_to_rotvec, rotvec_to_matrix,
)
from pyparity.diff.hypothesis import Hypothesis, explains

_NAME = re.compile(r"(^|[/_])(rot\w*|pose\w*|euler\w*|angles?|rvecs?|rotation\w*|r|head_pose|orientation)($|[/_])",
                   re.IGNORECASE)
_AXIS = ("pitch (rx)", "yaw (ry)", "roll (rz)")
_DEG = 180.0 / np.pi


def _is_rotation_matrix(m: np.ndarray) -> bool:
    m = np.asarray(m, np.float64)
    return m.shape[-2:] == (3, 3) and np.allclose(m @ np.swapaxes(m, -1, -2), np.eye(3), atol=1e-4) \
        and np.allclose(np.linalg.det(m), 1.0, atol=1e-4)


def _rows(x: np.ndarray, width: int) -> np.ndarray:
    return np.asarray(x, np.float64).reshape(-1, width)


def _each(fn, rows: np.ndarray) -> np.ndarray:
    return np.stack([fn(r) for r in rows])


def _candidates_vectors(a3: np.ndarray):
    """(title, detail, predicted B rows) for A's Euler rows."""
    for unit, uname in ((1.0, ""), (_DEG, "degrees where the reference has radians"),
                        (1 / _DEG, "radians where the reference has degrees")):
        base = a3 * unit
        if uname:
            yield uname, f"B = A × {unit:.6g}", base
        for perm in itertools.permutations(range(3)):
            if perm == (0, 1, 2):
                continue
            swapped = [f"{_AXIS[i]}" for i in range(3) if perm[i] != i]
            yield ("; ".join(x for x in (uname, f"Euler axes in another order: {' and '.join(swapped)} swapped") if x),
                   f"B's angles are A's in the order {list(perm)}", base[:, list(perm)])
        for signs in itertools.product((1.0, -1.0), repeat=3):
            if signs == (1.0, 1.0, 1.0):
                continue
            flipped = [_AXIS[i] for i in range(3) if signs[i] < 0]
            what = "every angle's sign flipped" if len(flipped) == 3 else f"the sign of {' and '.join(flipped)} flipped"
            yield ("; ".join(x for x in (uname, what) if x), f"B = A × {list(signs)}", base * np.array(signs))
        for src, dst in (("openface", "img2pose"), ("img2pose", "openface")):
            order = {"openface": "R = Rx·Ry·Rz", "img2pose": "R = Rz·Ry·Rx"}
            yield ("; ".join(x for x in (uname, f"Euler order: angles of {order[dst]} where the reference "
                                                f"composes {order[src]}") if x),
                   f"B = the same rotation's Euler angles in the {dst} convention",
                   _each(lambda r: convert_euler(r, src, dst), base))
        yield ("; ".join(x for x in (uname, "the inverse rotation (camera vs world frame)") if x),
               "B = the Euler angles of Rᵀ", _each(lambda r: matrix_to_euler(euler_to_matrix(r).T), base))


def rotations(a, b, tol, ctx):
    if a.dtype.kind != "f" or b.dtype.kind != "f" or a.size > 3000:
        return
    named = bool(_NAME.search(ctx.stage or ""))
    # a matrix where the reference has a rotation vector, or the other way
    if a.shape[-2:] == (3, 3) and b.shape[-1:] == (3,) and a.size // 9 == b.size // 3 and _is_rotation_matrix(a):
        pred = _each(lambda m: matrix_to_rotvec(m, orthogonalize_first=False), _rows(a, 9).reshape(-1, 3, 3))
        r = explains(pred.reshape(b.shape), b, tol)
        if r is not None:
            yield Hypothesis("rotation", "rotation convention: a rotation vector where the reference has a matrix",
                             "B = the rotation vector (axis × angle, radians) of A's matrix", "# convert with "
                             "conventions.rotations.rotvec_to_matrix", r, fix_kind="convention")
        return
    if a.shape[-1:] == (3,) and b.shape[-2:] == (3, 3) and a.size // 3 == b.size // 9 and _is_rotation_matrix(b):
        pred = _each(rotvec_to_matrix, _rows(a, 3))
        r = explains(pred.reshape(b.shape), b, tol)
        if r is not None:
            yield Hypothesis("rotation", "rotation convention: a matrix where the reference has a rotation vector",
                             "B = the matrix of A's rotation vector", "# convert with "
                             "conventions.rotations.matrix_to_rotvec", r, fix_kind="convention")
        return
    if a.shape != b.shape:
        return
    if a.shape[-2:] == (3, 3) and _is_rotation_matrix(a):
        inv = np.swapaxes(np.asarray(a, np.float64), -1, -2)
        r = explains(inv, b, tol)
        if r is not None:
            yield Hypothesis("rotation", "rotation convention: the inverse rotation (camera vs world frame)",
                             "B = Aᵀ: world-to-camera where the reference has camera-to-world (or the other way)",
                             "# transpose the port's matrix (an inverse rotation)", r, fix_kind="convention")
        return
    if not named or a.size < 3:
        return
    width = 6 if a.shape[-1:] == (6,) and "pose" in (ctx.stage or "").lower() else 3
    if a.size % width:
        return
    fa, fb = _rows(a, width), _rows(b, width)
    if width == 6 and not np.allclose(fa[:, :3], fb[:, :3], rtol=1e-5, atol=max(tol.atol, 1e-6)):
        return  # a pose whose translation differs too: not (only) a rotation convention
    ra = fa[:, -3:]
    for title, detail, pred in _candidates_vectors(ra):
        full = fb.copy()
        full[:, -3:] = pred
        r = explains(full.reshape(b.shape), b, tol)
        if r is not None:
            where = " (the rotation part of the pose)" if width == 6 else ""
            yield Hypothesis("rotation", f"rotation convention: {title}", detail + where,
                             "# convert the port's angles to the reference's convention (conventions.rotations)", r,
                             fix_kind="convention")
            return
