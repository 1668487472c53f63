"""The rotation vocabulary of `rotations` (``euler_to_matrix``, ``matrix_to_euler``, ``rotvec_to_*``) in
OpenFace's own float32 arithmetic, exactly as its RotationHelpers.h (Utilities namespace) computes it:
what the CLNF fit and OpenFace's outputs need bit for bit. ``*_k`` are the compiled kernels.

Conventions: Euler angles are (pitch, yaw, roll) = (rx, ry, rz) radians, R = Rx * Ry * Rz (the
"openface" convention of `rotations`).
All functions take/return float32 arrays; the C++ works on cv::Vec3f / cv::Matx33f.
Transcendentals of float arguments call the float overloads (std::sin(float) = glibc sinf, cosf,
asinf, atan2f), which are not always correctly rounded: the numba kernels use math.sin & co. on
float32 values, which compile to calls of those same glibc functions (the ctypes handles below are
the reference the tests hold the kernels to). Measured on the OpenFace 2.0.2 dumps: with them
PDM::UpdateModelParameters is bit-exact on all 840 recorded updates, with double-evaluated-then-
rounded trig 352 of them differ in the last bit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math

import cv2
import numba
import numpy as np

_f = np.float32


def _libm_float_functions():
    name = ctypes.util.find_library("m") or "libm.so.6"
    try:
        lib = ctypes.CDLL(name)
    except OSError:   # no glibc (not the reference's platform): correctly rounded double -> float
        return (lambda x: math.sin(x)), (lambda x: math.cos(x)), (lambda x: math.asin(x)), \
            (lambda y, x: math.atan2(y, x))
    fns = []
    for fn, nargs in (("sinf", 1), ("cosf", 1), ("asinf", 1), ("atan2f", 2)):
        f = getattr(lib, fn)
        f.restype = ctypes.c_float
        f.argtypes = [ctypes.c_float] * nargs
        fns.append(f)
    return tuple(fns)


sinf, cosf, asinf, atan2f = _libm_float_functions()


@numba.njit(cache=True)
def euler_to_matrix_k(e0, e1, e2):
    """Euler2RotationMatrix on float32 scalars (math.sin/cos of a float32 compile to glibc's sinf/cosf,
    checked against them in the tests). Float products and sums in the C++ order, no FMA."""
    s1, s2, s3 = math.sin(e0), math.sin(e1), math.sin(e2)
    c1, c2, c3 = math.cos(e0), math.cos(e1), math.cos(e2)
    r = np.empty((3, 3), dtype=np.float32)
    r[0, 0] = c2 * c3
    r[0, 1] = -c2 * s3
    r[0, 2] = s2
    r[1, 0] = c1 * s3 + c3 * s1 * s2
    r[1, 1] = c1 * c3 - s1 * s2 * s3
    r[1, 2] = -c2 * s1
    r[2, 0] = s1 * s3 - c1 * c3 * s2
    r[2, 1] = c3 * s1 + c1 * s2 * s3
    r[2, 2] = c1 * c2
    return r


def euler_to_matrix(euler) -> np.ndarray:
    """Utilities::Euler2RotationMatrix: (3,) radians -> (3, 3) float32."""
    e = np.asarray(euler, dtype=np.float32).reshape(3)
    return euler_to_matrix_k(e[0], e[1], e[2])


@numba.njit(cache=True)
def matrix_to_euler_k(r):
    """RotationMatrix2Euler on a (3, 3) float32 matrix: float arithmetic in the C++ order; sqrt, asinf,
    atan2f of floats (glibc's, as math.asin/atan2 of float32 compile to)."""
    one, two, four = np.float32(1.0), np.float32(2.0), np.float32(4.0)
    q0 = math.sqrt(one + r[0, 0] + r[1, 1] + r[2, 2]) / two
    q1 = (r[2, 1] - r[1, 2]) / (four * q0)
    q2 = (r[0, 2] - r[2, 0]) / (four * q0)
    q3 = (r[1, 0] - r[0, 1]) / (four * q0)
    t1 = two * (q0 * q2 + q1 * q3)
    if t1 > one:
        t1 = one
    if t1 < -one:
        t1 = -one
    out = np.empty(3, dtype=np.float32)
    out[1] = math.asin(t1)
    out[0] = math.atan2(two * (q0 * q1 - q2 * q3), q0 * q0 - q1 * q1 - q2 * q2 + q3 * q3)
    out[2] = math.atan2(two * (q0 * q3 - q1 * q2), q0 * q0 + q1 * q1 - q2 * q2 - q3 * q3)
    return out


def matrix_to_euler(r) -> np.ndarray:
    """Utilities::RotationMatrix2Euler (through a quaternion): (3, 3) -> (3,) float32 (pitch, yaw, roll)."""
    return matrix_to_euler_k(np.ascontiguousarray(r, dtype=np.float32))


def matrix_to_rotvec(r) -> np.ndarray:
    """Utilities::RotationMatrix2AxisAngle (cv::Rodrigues on a Matx33f): -> (3,) float32."""
    v, _ = cv2.Rodrigues(np.ascontiguousarray(r, dtype=np.float32))
    return v.reshape(3).astype(np.float32)


def rotvec_to_matrix(v) -> np.ndarray:
    """Utilities::AxisAngle2RotationMatrix (cv::Rodrigues on a Vec3f): -> (3, 3) float32."""
    m, _ = cv2.Rodrigues(np.asarray(v, dtype=np.float32).reshape(3, 1))
    return m.astype(np.float32)


def rotvec_to_euler(v) -> np.ndarray:
    """Utilities::AxisAngle2Euler."""
    return matrix_to_euler(rotvec_to_matrix(v))


def euler_to_rotvec(euler) -> np.ndarray:
    """Utilities::Euler2AxisAngle."""
    return matrix_to_rotvec(euler_to_matrix(euler))
