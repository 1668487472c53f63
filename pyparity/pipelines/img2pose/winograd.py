"""3x3 stride-1 convolutions (zero padding 1) as Winograd F(2x2, 3x3) (Lavin & Gray, 2016).

Each 2x2 output tile comes from a 4x4 input tile: ``Y = A^T [ (G g G^T) . (B^T d B) ] A``. Over all
tiles and channels that is 16 GEMMs ``M[ab] = U[ab] (O, C) @ V[ab] (C, T)`` (T = number of tiles): 16
products per 4 outputs instead of 36, so 2.25x fewer multiply-adds than the direct convolution,
which is where img2pose's numpy backend spends most of its time (every 3x3 stride-1 layer of the
ResNet body, the FPN and the RPN head).

Numerics: PyTorch (oneDNN) computes these layers directly; F(2x2, 3x3) sums other float32 terms, so
results differ from the reference in the last bits, as any GEMM order does, never in structure. Its
transforms have only 0, +-1 (B, A) and +-1/2 (G, applied to the constant weights in float64 and
rounded once), so its float32 error stays at the direct convolution's level: on the four shared
dumps the FPN maps differ from upstream by <= 8.5e-7 of their scale (direct: <= 7.8e-7) and the
output rotations by <= 5.3e-6 rad (direct: <= 4.7e-6; the policy's bound is 1e-5). F(4x4, 3x3)
(4x fewer products) was measured too and reached 1.05e-5 rad: not used.

The transforms fuse what follows the convolution in the network: bias, FrozenBatchNorm's affine
(``y * scale + shift`` in float32, two roundings as torchvision), a residual add and ReLU, in that
order, in one pass over the output.
"""

from __future__ import annotations

import threading

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a core dependency; keep the NumPy path working
    numba = None

from pyparity.pipelines.img2pose import threads

_F32 = np.float32

# channels per chunk of the input / output transforms spread over threads (threads.py)
CHANNEL_BLOCK = 32

# G for F(2x2, 3x3): U = G g G^T (4x4 per output/input channel pair)
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def transform_weights(w: np.ndarray) -> np.ndarray:
    """(O, C, 3, 3) -> U (16, O, C) float32, ``U[4a + b] = (G w G^T)[a, b]`` computed in float64."""
    O, C, kh, kw = w.shape
    if (kh, kw) != (3, 3):
        raise ValueError(f"Winograd F(2x2, 3x3) needs 3x3 kernels, got {kh}x{kw}")
    u = np.einsum("ai,ocij,bj->aboc", _G, np.asarray(w, dtype=np.float64), _G)
    return np.ascontiguousarray(u.reshape(16, O, C).astype(_F32))


_U_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def cached_weights(w: np.ndarray) -> np.ndarray:
    """`transform_weights`, cached per weight array (network weights are constant)."""
    hit = _U_CACHE.get(id(w))
    if hit is not None and hit[0] is w:
        return hit[1]
    u = transform_weights(w)
    if len(_U_CACHE) > 256:
        _U_CACHE.clear()
    _U_CACHE[id(w)] = (w, u)
    return u


def tiles(h: int, w: int) -> tuple[int, int]:
    """Number of 2x2 output tiles (rows, columns) of an h x w map."""
    return (h + 1) // 2, (w + 1) // 2


# -- input transform: V[4a + b, c, t] = (B^T d B)[a, b] for the 4x4 tile d of tile t --------------------
def _input_numpy(x: np.ndarray, V: np.ndarray, t0: int) -> None:
    """Vectorised reference of `_input_kernel` (the same float32 operations in the same order)."""
    C, H, W = x.shape
    th, tw = tiles(H, W)
    xp = np.zeros((C, 2 * th + 2, 2 * tw + 2), dtype=_F32)
    xp[:, 1:H + 1, 1:W + 1] = x
    d = [xp[:, i:i + 2 * th:2, :] for i in range(4)]  # (C, th, Wp): tile rows i of every tile row
    rows = (d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3])
    out = V[:, :, t0:t0 + th * tw].reshape(16, C, th, tw)
    for a, r in enumerate(rows):
        e = [r[:, :, j:j + 2 * tw:2] for j in range(4)]
        np.subtract(e[0], e[2], out=out[4 * a + 0])
        np.add(e[1], e[2], out=out[4 * a + 1])
        np.subtract(e[2], e[1], out=out[4 * a + 2])
        np.subtract(e[1], e[3], out=out[4 * a + 3])


def _input_kernel(x, V, t0, c_lo, c_hi):  # pragma: no cover - compiled by numba
    """Channels [c_lo, c_hi) of x (C, H, W) -> V[:, c, t0:t0 + T]. Per channel the map is copied
    into a zero-bordered plane once; each tile row is row-transformed over the whole width, then
    each tile column-transformed."""
    C, H, W = x.shape
    th = (H + 1) // 2
    tw = (W + 1) // 2
    Wp = 2 * tw + 2
    P = np.zeros((2 * th + 2, Wp), dtype=np.float32)
    R = np.empty((4, Wp), dtype=np.float32)
    for c in range(c_lo, c_hi):
        for y in range(H):
            for xx in range(W):
                P[y + 1, xx + 1] = x[c, y, xx]
        for r in range(th):
            y0 = 2 * r
            for xx in range(Wp):
                d0 = P[y0, xx]
                d1 = P[y0 + 1, xx]
                d2 = P[y0 + 2, xx]
                d3 = P[y0 + 3, xx]
                R[0, xx] = d0 - d2
                R[1, xx] = d1 + d2
                R[2, xx] = d2 - d1
                R[3, xx] = d1 - d3
            t = t0 + r * tw
            for q in range(tw):
                x0 = 2 * q
                for a in range(4):
                    e0 = R[a, x0]
                    e1 = R[a, x0 + 1]
                    e2 = R[a, x0 + 2]
                    e3 = R[a, x0 + 3]
                    V[4 * a + 0, c, t + q] = e0 - e2
                    V[4 * a + 1, c, t + q] = e1 + e2
                    V[4 * a + 2, c, t + q] = e2 - e1
                    V[4 * a + 3, c, t + q] = e1 - e3


# -- output transform: Y = A^T M A per tile, then the fused epilogue ---------------------------------
def _epilogue_numpy(y, o_slice, bias, scale, shift, res, relu):
    if bias.size:
        y = y + bias[o_slice, None, None]
    if scale.size:
        y = y * scale[o_slice, None, None]
        y = y + shift[o_slice, None, None]
    if res.size:
        y = y + res
    if relu:
        y = np.maximum(y, _F32(0))
    return y


def _output_numpy(M, t0, out, bias, scale, shift, res, relu) -> None:
    """Vectorised reference of `_output_kernel`."""
    O, H, W = out.shape
    th, tw = tiles(H, W)
    m = M[:, :, t0:t0 + th * tw].reshape(4, 4, O, th, tw)
    s = ((m[0] + m[1]) + m[2], (m[1] - m[2]) - m[3])  # (4, O, th, tw) each: rows of A^T M
    full = np.empty((O, 2 * th, 2 * tw), dtype=_F32)
    for i in range(2):
        full[:, i::2, 0::2] = (s[i][0] + s[i][1]) + s[i][2]
        full[:, i::2, 1::2] = (s[i][1] - s[i][2]) - s[i][3]
    out[...] = _epilogue_numpy(full[:, :H, :W], slice(None), bias, scale, shift, res, relu)


def _output_kernel(M, t0, out, bias, scale, shift, res, relu, o_lo, o_hi):  # pragma: no cover - compiled
    """Output channels [o_lo, o_hi): out[o] = epilogue(A^T M[:, o, tiles] A). The epilogue in
    float32, in this order: + bias, * scale, + shift, + res, max(., 0) (each step only if its array
    is non-empty / relu is set); NaN passes through ReLU as in torch."""
    O, H, W = out.shape
    th = (H + 1) // 2
    tw = (W + 1) // 2
    has_bias = bias.size > 0
    has_bn = scale.size > 0
    has_res = res.size > 0
    zero = np.float32(0)
    y = np.empty(4, dtype=np.float32)
    for o in range(o_lo, o_hi):
        for r in range(th):
            t = t0 + r * tw
            for q in range(tw):
                m00 = M[0, o, t + q]
                m01 = M[1, o, t + q]
                m02 = M[2, o, t + q]
                m03 = M[3, o, t + q]
                m10 = M[4, o, t + q]
                m11 = M[5, o, t + q]
                m12 = M[6, o, t + q]
                m13 = M[7, o, t + q]
                m20 = M[8, o, t + q]
                m21 = M[9, o, t + q]
                m22 = M[10, o, t + q]
                m23 = M[11, o, t + q]
                m30 = M[12, o, t + q]
                m31 = M[13, o, t + q]
                m32 = M[14, o, t + q]
                m33 = M[15, o, t + q]
                s00 = (m00 + m10) + m20
                s01 = (m01 + m11) + m21
                s02 = (m02 + m12) + m22
                s03 = (m03 + m13) + m23
                s10 = (m10 - m20) - m30
                s11 = (m11 - m21) - m31
                s12 = (m12 - m22) - m32
                s13 = (m13 - m23) - m33
                y[0] = (s00 + s01) + s02
                y[1] = (s01 - s02) - s03
                y[2] = (s10 + s11) + s12
                y[3] = (s11 - s12) - s13
                for k in range(4):
                    yy = 2 * r + k // 2
                    xx = 2 * q + k % 2
                    if yy < H and xx < W:
                        v = y[k]
                        if has_bias:
                            v = v + bias[o]
                        if has_bn:
                            v = v * scale[o]
                            v = v + shift[o]
                        if has_res:
                            v = v + res[o, yy, xx]
                        if relu and v < zero:
                            v = zero
                        out[o, yy, xx] = v


if numba is not None:
    _input_kernel = numba.njit(cache=True, nogil=True)(_input_kernel)
    _output_kernel = numba.njit(cache=True, nogil=True)(_output_kernel)

_EMPTY1 = np.zeros(0, dtype=_F32)
_EMPTY3 = np.zeros((0, 0, 0), dtype=_F32)


def _vec(a) -> np.ndarray:
    return _EMPTY1 if a is None else np.ascontiguousarray(a, dtype=_F32).reshape(-1)


# V and M are 16 matrices side by side, written (V) and read (M) as 16 streams at once: with a
# stride of a multiple of 4 KiB (C*T*4 bytes usually is) every stream maps to the same L1 sets and
# the transforms run ~10x slower. The matrices are therefore spaced by an odd number of cache lines.
_SKEW = 16 * 7  # floats (7 cache lines)


class _Workspace(threading.local):
    """Per-thread scratch for V and M, reused across calls: fresh multi-megabyte arrays per layer cost
    more in page faults than the transforms themselves."""

    def __init__(self):
        self.bufs: dict[str, np.ndarray] = {}

    def get(self, key: str, rows: int, cols: int) -> np.ndarray:
        """(16, rows, cols) float32, each (rows, cols) matrix contiguous, matrices `_SKEW` apart."""
        stride = rows * cols + _SKEW
        b = self.bufs.get(key)
        if b is None or b.size < 16 * stride:
            b = self.bufs[key] = np.empty(16 * stride, dtype=_F32)
        return b[:16 * stride].reshape(16, stride)[:, :rows * cols].reshape(16, rows, cols)


_WS = _Workspace()


def input_transform(maps: list[np.ndarray], use_numba: bool = True) -> np.ndarray:
    """Maps (C, h_i, w_i), same C -> V (16, C, sum of tiles), the maps' tiles one after the other."""
    C = maps[0].shape[0]
    counts = [int(np.prod(tiles(*m.shape[1:]))) for m in maps]
    V = _WS.get("V", C, sum(counts))
    t0 = 0
    for m, n in zip(maps, counts):
        m = np.ascontiguousarray(m, dtype=_F32)
        if use_numba and numba is not None:
            cb = threads.blocks(C, CHANNEL_BLOCK)
            threads.run(lambda i, m=m, t0=t0: _input_kernel(m, V, t0, cb[i].start, cb[i].stop), len(cb))
        else:
            _input_numpy(m, V, t0)
        t0 += n
    return V


def output_transform(M: np.ndarray, t0: int, hw: tuple[int, int], bias=None, scale=None, shift=None, residual=None,
                     relu: bool = False, use_numba: bool = True) -> np.ndarray:
    """M (16, O, T) -> (O, h, w) float32 for the tiles [t0, t0 + tiles(h, w)), epilogue fused."""
    O = M.shape[1]
    out = np.empty((O, *hw), dtype=_F32)
    b, s, sh = _vec(bias), _vec(scale), _vec(shift)
    res = _EMPTY3 if residual is None else np.ascontiguousarray(residual, dtype=_F32)
    if use_numba and numba is not None:
        ob = threads.blocks(O, CHANNEL_BLOCK)
        threads.run(lambda i: _output_kernel(M, t0, out, b, s, sh, res, bool(relu), ob[i].start, ob[i].stop), len(ob))
    else:
        _output_numpy(M, t0, out, b, s, sh, res, bool(relu))
    return out


def multiply(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """M[ab] = U[ab] @ V[ab]: 16 float32 GEMMs (O, C) @ (C, T) into per-thread scratch, one chunk of
    `threads.run` each."""
    M = _WS.get("M", U.shape[1], V.shape[2])
    threads.run(lambda k: np.matmul(U[k], V[k], out=M[k]), 16)
    return M


def conv3x3(x: np.ndarray, w: np.ndarray, bias=None, scale=None, shift=None, residual=None, relu: bool = False,
            use_numba: bool = True) -> np.ndarray:
    """``conv2d(x, w, bias, stride=1, pad=1)`` then ``* scale + shift``, ``+ residual``, ReLU (each optional).

    x (C, H, W) float32, w (O, C, 3, 3) -> (O, H, W) float32."""
    V = input_transform([x], use_numba)
    M = multiply(cached_weights(w), V)
    return output_transform(M, 0, x.shape[1:], bias, scale, shift, residual, relu, use_numba)


def conv3x3_shared(maps: list[np.ndarray], w: np.ndarray, bias=None, relu: bool = False,
                   use_numba: bool = True) -> list[np.ndarray]:
    """One 3x3 convolution (the same weights) over several maps, e.g. the RPN head's over the FPN
    levels: their tiles go through one set of 16 GEMMs."""
    V = input_transform(maps, use_numba)
    M = multiply(cached_weights(w), V)
    outs, t0 = [], 0
    for m in maps:
        hw = m.shape[1:]
        outs.append(output_transform(M, t0, hw, bias, relu=relu, use_numba=use_numba))
        t0 += int(np.prod(tiles(*hw)))
    return outs
