"""Input transform as torchvision's GeneralizedRCNNTransform (eval) does it for img2pose.

Order matters: ToTensor (uint8 / 255), normalise at the *original* resolution, then bilinear resize
(align_corners=False, no antialias, scale from in/out sizes), then zero-pad to multiples of 32 in
normalised space. Images are RGB, CHW float32.
"""

from __future__ import annotations

import math

import numpy as np

from pyparity.errors import InputError

_F32 = np.float32


def check_image(image: np.ndarray, source: str = "image") -> np.ndarray:
    """Accept uint8 H x W x 3 RGB only; one clear error otherwise."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise InputError(f"{source}: img2pose needs an 8-bit image, got {a.dtype} (convert 16-bit/float first)")
    if a.ndim != 3 or a.shape[2] != 3:
        raise InputError(f"{source}: img2pose needs an H x W x 3 RGB image, got shape {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"{source}: empty image {a.shape}")
    return a


def to_tensor(image_rgb: np.ndarray) -> np.ndarray:
    """uint8 H x W x 3 -> float32 3 x H x W, ``x / 255`` (a true division, as torchvision ToTensor)."""
    return np.ascontiguousarray(image_rgb.transpose(2, 0, 1)).astype(_F32) / _F32(255)


def normalize(t: np.ndarray, mean, std) -> np.ndarray:
    """``(x - mean) / std`` per channel in float32 (GeneralizedRCNNTransform.normalize)."""
    m = np.asarray(mean, dtype=_F32)[:, None, None]
    s = np.asarray(std, dtype=_F32)[:, None, None]
    return (t - m) / s


def resize_scale(h: int, w: int, min_size: float, max_size: float) -> float:
    """``min(min_size / min(h, w), max_size / max(h, w))`` in float64 (eager torchvision)."""
    return min(float(min_size) / min(h, w), float(max_size) / max(h, w))


def resized_size(h: int, w: int, scale: float) -> tuple[int, int]:
    """``floor(h * s), floor(w * s)`` in float64, as F.interpolate(recompute_scale_factor=True)."""
    return int(math.floor(float(h) * scale)), int(math.floor(float(w) * scale))


def _linear_indices(n_in: int, n_out: int):
    """Source indices and weights of PyTorch's CPU bilinear (align_corners=False), float32 arithmetic."""
    i = np.arange(n_out)
    if n_in == n_out:
        return i, i, np.ones(n_out, _F32), np.zeros(n_out, _F32)
    scale = _F32(n_in) / _F32(n_out)
    # area_pixel_compute_source_index: ``scale * (dst + 0.5) - 0.5``, which the AVX2+FMA build contracts
    # to one fma (rounded once). Rounding the product first differs on most sizes other than the dumps'
    # (e.g. 578 -> 150 rows: up to 4e-5 after interpolation; found on unseen images vs torch 2.13).
    real = _fma(np.full(n_out, scale, _F32), i.astype(_F32) + _F32(0.5), np.full(n_out, _F32(-0.5)))
    real = np.maximum(real, _F32(0))
    i0 = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    l1 = np.minimum(np.maximum(real - i0.astype(_F32), _F32(0)), _F32(1)).astype(_F32)
    i1 = i0 + (i0 < n_in - 1)
    l0 = _F32(1) - l1
    return i0, i1, l0, l1


def _fma(x, y, z):
    """float32 fused multiply-add, emulated in float64 (the product of two float32 is exact there)."""
    return (x.astype(np.float64) * y.astype(np.float64) + z.astype(np.float64)).astype(_F32)


def resize_bilinear(x: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """(C, H, W) float32 -> (C, out_h, out_w), ``F.interpolate(bilinear, align_corners=False)``.

    Bit-exact with PyTorch's CPU kernel for 3-channel float images under one thread: it then takes
    ``cpu_upsample_linear_channels_last`` (UpSampleKernel.cpp), whose scalar tail computes
    ``i00*w00 + i01*w01 + i10*w10 + i11*w11`` with ``wYX = hlambda * wlambda`` and the compiler
    contracts it to ``fma(i11, w11, fma(i10, w10, fma(i00, w00, i01*w01)))`` (AVX2+FMA build).
    With more threads PyTorch uses another kernel (separable; differs by <= 5e-7).
    """
    C, H, W = x.shape
    y0, y1, wy0, wy1 = _linear_indices(H, out_h)
    x0, x1, wx0, wx1 = _linear_indices(W, out_w)
    if _resize_kernel is not None:  # the same float32/float64 expressions, fused in one compiled loop
        out = np.empty((C, out_h, out_w), dtype=_F32)
        _resize_kernel(np.ascontiguousarray(x, dtype=_F32), y0, y1, wy0, wy1, x0, x1, wx0, wx1, out)
        return out
    w00 = wy0[:, None] * wx0[None]
    w01 = wy0[:, None] * wx1[None]
    w10 = wy1[:, None] * wx0[None]
    w11 = wy1[:, None] * wx1[None]
    r0 = x[:, y0]
    r1 = x[:, y1]
    v = r0[:, :, x1] * w01
    v = _fma(r0[:, :, x0], w00, v)
    v = _fma(r1[:, :, x0], w10, v)
    v = _fma(r1[:, :, x1], w11, v)
    return v


def _resize_loop(x, y0, y1, wy0, wy1, x0, x1, wx0, wx1, out):  # pragma: no cover - compiled
    """`resize_bilinear`'s NumPy expressions per output pixel: float32 weights ``wy * wx``, the first
    product in float32, then three fmas emulated in float64 (exact product, one rounding)."""
    C = x.shape[0]
    for c in range(C):
        for oy in range(out.shape[1]):
            r0 = y0[oy]
            r1 = y1[oy]
            for ox in range(out.shape[2]):
                c0 = x0[ox]
                c1 = x1[ox]
                w00 = wy0[oy] * wx0[ox]
                w01 = wy0[oy] * wx1[ox]
                w10 = wy1[oy] * wx0[ox]
                w11 = wy1[oy] * wx1[ox]
                v = x[c, r0, c1] * w01
                v = np.float32(np.float64(x[c, r0, c0]) * np.float64(w00) + np.float64(v))
                v = np.float32(np.float64(x[c, r1, c0]) * np.float64(w10) + np.float64(v))
                v = np.float32(np.float64(x[c, r1, c1]) * np.float64(w11) + np.float64(v))
                out[c, oy, ox] = v


try:
    import numba

    _resize_kernel = numba.njit(cache=True, nogil=True)(_resize_loop)
except ImportError:  # pragma: no cover - numba is a core dependency; the NumPy path stays
    _resize_kernel = None


def pad_to_multiple(x: np.ndarray, divisible: int = 32) -> np.ndarray:
    """Zero-pad (C, H, W) at bottom/right to multiples of ``divisible`` (batch_images)."""
    C, H, W = x.shape
    Hp = int(math.ceil(float(H) / divisible) * divisible)
    Wp = int(math.ceil(float(W) / divisible) * divisible)
    out = np.zeros((C, Hp, Wp), dtype=_F32)
    out[:, :H, :W] = x
    return out


def postprocess_ratios(resized_hw: tuple[int, int], original_hw: tuple[int, int]) -> np.ndarray:
    """float32 (h_ratio, w_ratio) = resized / original, as torchvision's resize_boxes."""
    return np.array(resized_hw, dtype=_F32) / np.array(original_hw, dtype=_F32)


def resize_boxes(boxes: np.ndarray, ratios: np.ndarray) -> np.ndarray:
    """xyxy boxes in the resized frame -> original frame: x by w_ratio, y by h_ratio (float32)."""
    rh, rw = ratios
    b = boxes.astype(_F32)
    return np.stack([b[:, 0] * rw, b[:, 1] * rh, b[:, 2] * rw, b[:, 3] * rh], axis=1)


def load_image(path) -> np.ndarray:
    """Read an image file as upstream does (``PIL.Image.open(f).convert("RGB")``): uint8 H x W x 3 RGB.

    Decoded with OpenCV (identical pixels on the shared samples; neither applies EXIF orientation),
    through `pyparity.imageio.decode_image` (size limit, truncated JPEGs refused, as every pipeline).
    Grayscale is replicated to RGB and an alpha channel dropped, as PIL's convert("RGB") does;
    16-bit / float images are refused (PIL's conversion of those is not a plain rescale).
    """
    import cv2

    from pathlib import Path

    from pyparity.imageio import decode_image

    p = Path(path)
    a = decode_image(p, cv2.IMREAD_UNCHANGED)
    if a.dtype != np.uint8:
        raise InputError(f"{p}: {a.dtype} image; img2pose takes 8-bit images (convert it to 8-bit RGB first)")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    elif a.shape[2] != 3:
        raise InputError(f"{p}: unsupported channel count {a.shape[2]}")
    return np.ascontiguousarray(a[:, :, ::-1]) if a.ndim == 3 else a
