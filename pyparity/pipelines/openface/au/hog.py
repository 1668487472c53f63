"""Stages `faceNN/au/hog/descriptor`, `hog/num_rows`, `hog/num_cols`: dlib's Felzenszwalb HOG
(`dlib::extract_fhog_features`, dlib/image_transforms/fhog.h, dlib 19.24) as FaceAnalyser's
`Extract_FHOG_descriptor` (Face_utils.cpp) calls it on the aligned face: a port, float32 operation for
operation, so the descriptor has dlib's bits.

    hog = fhog_cells(face_u8, cell_size=8)     # (rows, cols, 31) float32, dlib's hog[r][c](o)
    descriptor = fhog_descriptor(hog)          # (1, rows·cols·31) float64, Extract_FHOG_descriptor's order

What dlib computes, and where a port goes wrong:
- Gradients: central differences per pixel; on a colour image the channel with the largest squared
  magnitude wins. dlib's image loop handles 8 columns at a time with SIMD code and the columns that
  do not fill a group of 8 with scalar code, and the two break ties differently: the SIMD code picks
  green over red and blue over the red/green winner on equal magnitudes, the scalar code keeps red,
  then takes green or blue only when strictly larger. Equal magnitudes with different directions fall
  into different orientation bins, so both are ported.
- Orientation: the largest of the 18 signed dot products with dlib's 9 float unit vectors (the first
  strictly larger one wins), contrast-sensitive bins 0..17.
- Binning: bilinear votes of sqrt(magnitude) into the 4 surrounding cells. The SIMD columns compute
  `xp = (x + 0.5)/cell + 0.5` and weight `vy · (vx · v)`; the scalar columns `xp = (x + 0.5)/cell - 0.5`
  and `(vy · vx) · v`: the same votes up to the rounding of the products, so again both are ported.
- Block energies: Σ_o (h[o] + h[o+9])² per cell, in float from o = 0.
- Features per cell: 4 block normalisations n = 0.1 / (0.2·sqrt(z1+z2+z3+z4 + 1e-4)), each bin
  min(h, 0.2·sqrt(...))·n summed over the 4 blocks (dlib's SSE2 `sum(simd4f)`: (b0+b2)+(b1+b3), the
  path OpenFace's `-msse3` build takes):
  18 contrast-sensitive, 9 contrast-insensitive (h[o] + h[o+9]), and 4 texture features (the
  per-block sums of the truncated sensitive bins × 0.4714).
"""

from __future__ import annotations

import numba
import numpy as np

from pyparity.errors import InputError

N_FEATURES = 31
_SIMD_WIDTH = 8


@numba.njit(cache=True)
def _directions():
    # dlib's unit vectors, written as doubles and stored in matrix<float,2,1>
    d = np.empty((9, 2), dtype=np.float32)
    vals = ((1.0, 0.0), (0.9397, 0.3420), (0.7660, 0.6428), (0.500, 0.8660), (0.1736, 0.9848),
            (-0.1736, 0.9848), (-0.5000, 0.8660), (-0.7660, 0.6428), (-0.9397, 0.3420))
    for i in range(9):
        d[i, 0] = np.float32(vals[i][0])
        d[i, 1] = np.float32(vals[i][1])
    return d


@numba.njit(cache=True, inline="always")
def _gradient(img, y, x, simd):
    """get_gradient: (gx, gy, |g|²) as ints. img (H, W, C) uint8, BGR when C == 3 (dlib's bgr_pixel:
    .red is channel 2). simd: the SIMD code's tie-breaking, else the scalar code's."""
    if img.shape[2] == 1:
        gx = np.int32(img[y, x + 1, 0]) - np.int32(img[y, x - 1, 0])
        gy = np.int32(img[y + 1, x, 0]) - np.int32(img[y - 1, x, 0])
        return gx, gy, gx * gx + gy * gy
    rx = np.int32(img[y, x + 1, 2]) - np.int32(img[y, x - 1, 2])
    ry = np.int32(img[y + 1, x, 2]) - np.int32(img[y - 1, x, 2])
    gx_ = np.int32(img[y, x + 1, 1]) - np.int32(img[y, x - 1, 1])
    gy_ = np.int32(img[y + 1, x, 1]) - np.int32(img[y - 1, x, 1])
    bx = np.int32(img[y, x + 1, 0]) - np.int32(img[y, x - 1, 0])
    by = np.int32(img[y + 1, x, 0]) - np.int32(img[y - 1, x, 0])
    rl = rx * rx + ry * ry
    gl = gx_ * gx_ + gy_ * gy_
    bl = bx * bx + by * by
    if simd:
        # select(rlen > glen, red, green), then select(tlen > blen, t, blue)
        if rl > gl:
            tx, ty, tl = rx, ry, rl
        else:
            tx, ty, tl = gx_, gy_, gl
        if tl > bl:
            return tx, ty, tl
        return bx, by, bl
    gx, gy, ln = rx, ry, rl
    if gl > ln:
        gx, gy, ln = gx_, gy_, gl
    if bl > ln:
        gx, gy, ln = bx, by, bl
    return gx, gy, ln


@numba.njit(cache=True, inline="always")
def _orientation(dirs, gx, gy):
    """The bin of the largest of the 18 signed dot products (float32 products, one add)."""
    fx = np.float32(gx)
    fy = np.float32(gy)
    best_dot = np.float32(0.0)
    best_o = 0
    for o in range(9):
        dot = fx * dirs[o, 0] + fy * dirs[o, 1]
        if dot > best_dot:
            best_dot = dot
            best_o = o
        elif -dot > best_dot:
            best_dot = -dot
            best_o = o + 9
    return best_o


@numba.njit(cache=True)
def _histograms(img, cell, cells_nr, cells_nc):
    """The orientation histograms hist (cells_nr + 2, cells_nc + 2, 18) float32 (a padding cell all
    around, as dlib), filled in dlib's pixel order: rows 1.., each row's SIMD groups of 8 columns then
    its remaining columns."""
    dirs = _directions()
    hist = np.zeros((cells_nr + 2, cells_nc + 2, 18), dtype=np.float32)
    h, w = img.shape[0], img.shape[1]
    visible_nr = min(cells_nr * cell, h) - 1
    visible_nc = min(cells_nc * cell, w) - 1
    fcell = np.float32(cell)
    half = np.float32(0.5)
    one = np.float32(1.0)
    for y in range(1, visible_nr):
        # ((float)y + 0.5) / (float)cell - 0.5 in double, stored as float
        yp = np.float32((np.float64(np.float32(y)) + 0.5) / np.float64(fcell) - 0.5)
        iyp = np.int64(np.floor(yp))
        vy0 = np.float32(yp - np.float32(iyp))
        vy1 = np.float32(1.0 - np.float64(vy0))
        x = 1
        while x < visible_nc - (_SIMD_WIDTH - 1):
            for lane in range(_SIMD_WIDTH):
                xl = x + lane
                gx, gy, ln = _gradient(img, y, xl, True)
                v = np.float32(np.sqrt(np.float32(ln)))
                o = _orientation(dirs, gx, gy)
                xp = (np.float32(xl) + half) / fcell + half
                ixp = np.int64(xp)          # _mm_cvttps_epi32: truncation
                vx0 = xp - np.float32(ixp)
                vx1 = one - vx0
                vx1 = vx1 * v
                vx0 = vx0 * v
                hist[iyp + 1, ixp, o] += vy1 * vx1
                hist[iyp + 2, ixp, o] += vy0 * vx1
                hist[iyp + 1, ixp + 1, o] += vy1 * vx0
                hist[iyp + 2, ixp + 1, o] += vy0 * vx0
            x += _SIMD_WIDTH
        while x < visible_nc:
            gx, gy, ln = _gradient(img, y, x, False)
            o = _orientation(dirs, gx, gy)
            v = np.float32(np.sqrt(np.float32(ln)))
            xp = np.float32((np.float64(x) + 0.5) / np.float64(cell) - 0.5)
            ixp = np.int64(np.floor(xp))
            vx0 = np.float32(xp - np.float32(ixp))
            vx1 = np.float32(1.0 - np.float64(vx0))
            hist[iyp + 1, ixp + 1, o] += (vy1 * vx1) * v
            hist[iyp + 2, ixp + 1, o] += (vy0 * vx1) * v
            hist[iyp + 1, ixp + 2, o] += (vy1 * vx0) * v
            hist[iyp + 2, ixp + 2, o] += (vy0 * vx0) * v
            x += 1
    return hist


@numba.njit(cache=True, inline="always")
def _sum4(a0, a1, a2, a3):
    # dlib::sum(simd4f) as OpenFace's flags compile it: dlib takes its SSE3 path (_mm_hadd_ps twice,
    # (a0+a1)+(a2+a3)) only under __SSSE3__, which -msse3 does not define, so the SSE2 path runs:
    # x + movehl(x), then lane 0 + lane 1. The hadd order misses the reference's bits in ~17% of the
    # features
    return (a0 + a2) + (a1 + a3)


@numba.njit(cache=True)
def _features(hist, cells_nr, cells_nc):
    """Block energies, then the 31 features of each of the (cells_nr - 2, cells_nc - 2) inner cells."""
    norm = np.zeros((cells_nr, cells_nc), dtype=np.float32)
    for r in range(cells_nr):
        for c in range(cells_nc):
            acc = np.float32(0.0)
            for o in range(9):
                s = hist[r + 1, c + 1, o] + hist[r + 1, c + 1, o + 9]
                acc = acc + s * s
            norm[r, c] = acc
    hog_nr, hog_nc = cells_nr - 2, cells_nc - 2
    out = np.empty((hog_nr, hog_nc, 31), dtype=np.float32)
    eps = np.float32(0.0001)
    p2 = np.float32(0.2)
    p1 = np.float32(0.1)
    tex = np.float32(2 * 0.2357)
    nn = np.empty(4, dtype=np.float32)
    n = np.empty(4, dtype=np.float32)
    hh = np.empty(4, dtype=np.float32)
    t = np.empty(4, dtype=np.float32)
    for y in range(hog_nr):
        for x in range(hog_nc):
            # the four 2x2 blocks around cell (y+1, x+1), lanes as dlib's z1..z4
            for b in range(4):
                dy = 1 - b % 2
                dx = 1 - b // 2
                z1 = norm[y + dy, x + dx]
                z2 = norm[y + dy, x + dx + 1]
                z3 = norm[y + dy + 1, x + dx]
                z4 = norm[y + dy + 1, x + dx + 1]
                nn[b] = p2 * np.float32(np.sqrt((((z1 + z2) + z3) + z4) + eps))
                n[b] = p1 / nn[b]
                t[b] = np.float32(0.0)
            cell = hist[y + 2, x + 2]
            for o0 in range(0, 18, 3):
                for b in range(4):
                    h0 = min(cell[o0], nn[b]) * n[b]
                    h1 = min(cell[o0 + 1], nn[b]) * n[b]
                    h2 = min(cell[o0 + 2], nn[b]) * n[b]
                    t[b] = t[b] + ((h0 + h1) + h2)
                for k in range(3):
                    for b in range(4):
                        hh[b] = min(cell[o0 + k], nn[b]) * n[b]
                    out[y, x, o0 + k] = _sum4(hh[0], hh[1], hh[2], hh[3])
            for o in range(9):
                s = cell[o] + cell[o + 9]
                for b in range(4):
                    hh[b] = min(s, nn[b]) * n[b]
                out[y, x, 18 + o] = _sum4(hh[0], hh[1], hh[2], hh[3])
            for b in range(4):
                out[y, x, 27 + b] = t[b] * tex
    return out


def fhog_cells(image: np.ndarray, cell_size: int = 8) -> np.ndarray:
    """dlib::extract_fhog_features(image, hog, cell_size) -> (rows, cols, 31) float32.

    image: (H, W, 3) uint8 BGR (dlib's cv_image<bgr_pixel>) or (H, W) uint8 gray. rows = cols = 12 for
    FaceAnalyser's 112x112 face and 8-pixel cells. An image with fewer than 3 cells a side gives
    (0, 0, 31), as dlib's empty feature map."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (1, 3)):
        raise InputError(f"FHOG needs an (H, W) or (H, W, 3) uint8 image, got {img.dtype} {img.shape}")
    if cell_size < 2:
        raise InputError(f"FHOG cell size must be at least 2, got {cell_size}")
    img = np.ascontiguousarray(img.reshape(img.shape[0], img.shape[1], -1))
    # (int)((float)nr / (float)cell + 0.5): the division in float, the + 0.5 in double
    cells_nr = int(float(np.float32(img.shape[0]) / np.float32(cell_size)) + 0.5)
    cells_nc = int(float(np.float32(img.shape[1]) / np.float32(cell_size)) + 0.5)
    if cells_nr < 3 or cells_nc < 3:
        return np.zeros((0, 0, N_FEATURES), dtype=np.float32)
    hist = _histograms(img, cell_size, cells_nr, cells_nc)
    return _features(hist, cells_nr, cells_nc)


def fhog_descriptor(hog: np.ndarray) -> np.ndarray:
    """Extract_FHOG_descriptor's row vector (1, rows·cols·31) float64: hog[y][x](o) with y over the
    rows outermost, then x, then o (C++ loops `y < num_cols, x < num_rows`: the same for square maps)."""
    h = np.asarray(hog, dtype=np.float32)
    return h.astype(np.float64).reshape(1, -1)
