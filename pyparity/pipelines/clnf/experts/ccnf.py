"""CCNF patch experts (OpenFace CCNF_patch_expert.cpp, Patch_experts::Read_CCNF_patch_experts).

API:
    read_ccnf_patch_experts(path) -> CcnfScale       # one `ccnf_patches_*.txt` file (one scale, all views)
    CcnfScale.sigma(view, landmark, window_size) -> (ws², ws²) float32   # CCNF_patch_expert::ComputeSigmas
    ccnf_response(expert, sigma, area_of_interest) -> (ws, ws) float32   # CCNF_patch_expert::ResponseOpenBlas
    ccnf_responses_batch(...)                                             # the same for many landmarks at once

Arithmetic follows the C++ bit for bit: im2col with contrast normalisation in float32
(im2colContrastNormBias), the neuron layer as the float32 sgemm of the reference's OpenBLAS 0.3.21
Haswell kernel (FMA chains, with its two-accumulator blocks), the sigmoid `(2·alpha)/(1+expf(-x))` with
glibc's expf and double arithmetic accumulated into a float32 response, the Sigma product as a float32
sgemm (m = 1: plain FMA chains), then the response shifted to be non-negative. Sigma for window size
11 (121x121) is inverted through LAPACK sposv as OpenCV does (see _invert_cholesky: exact only with
OpenBLAS's Haswell kernels on one thread).
FMA_FUSED tells whether the CPU's FMA is used (else it is emulated in float64: slower, same results
except at float32 rounding ties). The float32 kernels (expf, sgemm rows, FMA detection) live in
f32kernels.py, shared with the CEN experts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from pyparity.errors import ModelError
from pyparity.pipelines.clnf.experts.views import ViewedScale
from pyparity.pipelines.clnf.model.matbin import MatBinReader
from pyparity.pipelines.clnf.numerics.lapack_threads import single_thread_lapack
from pyparity.pipelines.clnf.numerics.f32kernels import (FMA_FUSED, expf_neg_into, matvec_t, n_block_split, sgemm_row,
                                                sgemm_row_rowwise, sgemm_rows2)

@dataclass
class CcnfNeuron:
    neuron_type: int
    norm_weights: float
    bias: float
    alpha: float
    weights: np.ndarray          # (height, width) as stored (float32 after C++'s Mat_<float> conversion)


@dataclass
class CcnfExpert:
    """One landmark's expert in one view. `neurons` is empty for a landmark invisible in that view."""

    width: int
    height: int
    neurons: list[CcnfNeuron]
    betas: np.ndarray            # (n_betas,) float64
    patch_confidence: float
    # weight_matrix as CCNF_patch_expert::Read builds it: (n_neurons, 1 + w*h) float32, column 0 the
    # bias, then the weights flattened column-major (weights.t() reshaped), times norm_weights.
    weight_matrix: np.ndarray = field(default=None, repr=False)
    # 2*alpha (float64) of the neurons that take part (alpha > 1e-4), and their row indices
    active_rows: np.ndarray = field(default=None, repr=False)
    two_alphas: np.ndarray = field(default=None, repr=False)
    sum_alphas: np.float32 = np.float32(0)

    @property
    def visible(self) -> bool:
        return len(self.neurons) > 0


@dataclass
class CcnfScale(ViewedScale):
    """One patch-expert file: one scale, every view, every landmark (invisible ones included)."""

    path: Path
    patch_scaling: float                 # float64
    centers: np.ndarray                  # (n_views, 3) float64 radians (degrees * M_PI / 180 as C++)
    visibilities: np.ndarray             # (n_views, n_landmarks) int32
    window_sizes: tuple[int, ...]        # the window sizes with sigma components
    sigma_components: dict[int, list[np.ndarray]]   # window size -> list of (ws², ws²) float32
    experts: list[list[CcnfExpert]]      # [view][landmark]
    _sigmas: dict = field(default_factory=dict, repr=False)

    def sigma(self, view: int, landmark: int, window_size: int) -> np.ndarray:
        """CCNF_patch_expert::ComputeSigmas for one expert and window size, cached: (ws², ws²) float32."""
        key = (view, landmark, window_size)
        s = self._sigmas.get(key)
        if s is None:
            # Patch_experts::Response passes an empty component list when the file has none for
            # this window size (the eye models): Sigma is then inv(2·sum_alphas·I)
            comps = self.sigma_components.get(window_size, [])
            try:
                s = compute_sigma(self.experts[view][landmark], comps, window_size)
            except ModelError as e:
                raise ModelError(f"{self.path}: view {view}, landmark {landmark}: {e}") from None
            self._sigmas[key] = s
        return s


def compute_sigma(expert: CcnfExpert, sigma_components: list[np.ndarray], window_size: int) -> np.ndarray:
    """CCNF_patch_expert::ComputeSigmas: Sigma = inv(2·(sum_alphas·I + Σ_b beta_b·S_b)), float32.

    `q2 + beta·S_b` is cv::scaleAdd, a fused multiply-add in OpenCV's AVX2 code (emulated in float64:
    the product is exact there). The inverse is cv::invert(DECOMP_CHOLESKY): OpenCV's own float
    Cholesky below 100x100 (reproduced bit for bit), LAPACK sposv from 100x100 (window 11, see
    `_invert_cholesky`)."""
    n = window_size * window_size
    q2 = np.zeros((n, n), dtype=np.float32)
    for b, comp in enumerate(sigma_components):
        q2 = (comp.astype(np.float64) * np.float64(np.float32(expert.betas[b])) + q2.astype(np.float64)).astype(np.float32)
    q = q2.copy()
    idx = np.arange(n)
    q[idx, idx] = q2[idx, idx] + np.float32(expert.sum_alphas)
    sigma_inv = (np.float32(2) * q).astype(np.float32)
    return _invert_cholesky(sigma_inv)


@numba.njit(cache=True)
def _chol_inverse_opencv(a):
    """OpenCV's CholImpl<float> (lapack.cpp) solving A·X = I: double accumulators, float storage,
    float products of stored L entries in the off-diagonal updates, as the C++ template does."""
    m = a.shape[0]
    L = a.copy()
    for i in range(m):
        for j in range(i):
            s = np.float64(L[i, j])
            for k in range(j):
                s -= np.float64(np.float32(L[i, k] * L[j, k]))
            L[i, j] = np.float32(s * np.float64(L[j, j]))
        s = np.float64(L[i, i])
        for k in range(i):
            t = np.float64(L[i, k])
            s -= t * t
        if s < np.float64(np.finfo(np.float32).eps):
            return np.zeros((0, 0), dtype=np.float32)
        L[i, i] = np.float32(1.0 / np.sqrt(s))
    b = np.eye(m, dtype=np.float32)
    for i in range(m):
        for j in range(m):
            s = np.float64(b[i, j])
            for k in range(i):
                s -= np.float64(np.float32(L[i, k] * b[k, j]))
            b[i, j] = np.float32(s * np.float64(L[i, i]))
    for i in range(m - 1, -1, -1):
        for j in range(m):
            s = np.float64(b[i, j])
            for k in range(m - 1, i, -1):
                s -= np.float64(np.float32(L[k, i] * b[k, j]))
            b[i, j] = np.float32(s * np.float64(L[i, i]))
    return b


def _invert_cholesky(a: np.ndarray) -> np.ndarray:
    """cv::invert(DECOMP_CHOLESKY) of a float32 SPD matrix.

    Below 100x100 OpenCV uses its own CholImpl, reproduced bit for bit. From 100x100 (window size 11)
    OpenCV hands the matrix to LAPACK sposv (uplo 'L', b = I, the row-major arrays read as column-major),
    in the reference OpenBLAS 0.3.21 with its Haswell kernels, on one thread. The same LAPACK call is
    made here through SciPy's bundled OpenBLAS on one thread (single_thread_lapack: with more, the
    factorisation runs in another order) with the Haswell kernels (OPENBLAS_CORETYPE=Haswell, which
    importing pyparity sets): the window-11 responses then come out bit-identical on every shared dump.
    With the AVX-512 kernels only ~51% of their values do (max abs error 1.2e-7)."""
    if a.shape[0] >= 100:
        from scipy.linalg import lapack

        with single_thread_lapack():   # one OpenBLAS thread, as the reference's sposv ran
            _, x, info = lapack.sposv(np.asfortranarray(a), np.eye(a.shape[0], dtype=np.float32), lower=1)
        if info != 0:
            raise ModelError("CCNF Sigma^-1 is not positive definite (corrupt patch expert file?)")
        return np.ascontiguousarray(x, dtype=np.float32)
    out = _chol_inverse_opencv(np.ascontiguousarray(a, dtype=np.float32))
    if out.size == 0:
        raise ModelError("CCNF Sigma^-1 is not positive definite (corrupt patch expert file?)")
    return out


def _read_expert(r: MatBinReader, n_betas: int, has_sigmas: bool) -> CcnfExpert:
    read_type = r.i32()
    if read_type != 5:
        raise ModelError(f"{r.path}: expected a CCNF patch expert record (type 5), found {read_type} at offset {r.pos - 4}")
    width, height, num_neurons = r.i32(), r.i32(), r.i32()
    if num_neurons == 0:
        r.i32()  # an empty int written after invisible landmarks (CCNF_patch_expert::Read)
        return CcnfExpert(width, height, [], np.zeros(0), 0.0)
    neurons = []
    for _ in range(num_neurons):
        t = r.i32()
        if t != 2:
            raise ModelError(f"{r.path}: expected a CCNF neuron record (type 2), found {t} at offset {r.pos - 4}")
        neuron_type = r.i32()
        norm_weights, bias, alpha = r.f64(), r.f64(), r.f64()
        w = r.mat()
        neurons.append(CcnfNeuron(neuron_type, norm_weights, bias, alpha, w.astype(np.float32)))
    betas = np.array([r.f64() for _ in range(n_betas)] if has_sigmas else [], dtype=np.float64)
    conf = r.f64()
    e = CcnfExpert(width, height, neurons, betas, conf)
    _prepare(e)
    return e


def _prepare(e: CcnfExpert) -> None:
    nh, nw = e.neurons[0].weights.shape
    wm = np.empty((len(e.neurons), 1 + nh * nw), dtype=np.float32)
    for i, nr in enumerate(e.neurons):
        # weights.t() reshaped to one row = column-major flattening; `* norm_weights` is a
        # Mat::convertTo with a float alpha: float32 product
        wm[i, 1:] = nr.weights.T.reshape(-1) * np.float32(nr.norm_weights)
        wm[i, 0] = np.float32(nr.bias)
    e.weight_matrix = wm
    act = np.array([i for i, nr in enumerate(e.neurons) if nr.alpha > 1e-4], dtype=np.intp)
    e.active_rows = act
    e.two_alphas = np.array([2.0 * e.neurons[i].alpha for i in act], dtype=np.float64)
    s = np.float32(0)
    for nr in e.neurons:  # float += double, rounded to float each step (ComputeSigmas)
        s = np.float32(np.float64(s) + nr.alpha)
    e.sum_alphas = s


def read_ccnf_patch_experts(path: str | Path) -> CcnfScale:
    """Patch_experts::Read_CCNF_patch_experts for one file (binary, despite the .txt name)."""
    path = Path(path)
    r = MatBinReader.from_file(path, "CCNF patch experts")
    patch_scaling = r.f64()
    n_views = r.i32()
    if not 0 < n_views < 1000:
        raise ModelError(f"{path}: not a CCNF patch expert file (view count {n_views})")
    centers = np.stack([r.mat().astype(np.float64).reshape(-1)[:3] for _ in range(n_views)])
    centers = centers * np.pi / 180.0
    vis = [r.mat().reshape(-1) for _ in range(n_views)]
    n_points = vis[0].shape[0]
    visibilities = np.stack([v.astype(np.int32) for v in vis])
    n_win = r.i32()
    windows: list[int] = []
    comps: dict[int, list[np.ndarray]] = {}
    n_betas = 0
    for _ in range(n_win):
        ws = r.i32()
        n_comp = r.i32()
        windows.append(ws)
        comps[ws] = [r.mat().astype(np.float32) for _ in range(n_comp)]
        n_betas = n_comp
    if n_win:
        n_betas = len(comps[windows[0]])
    experts = [[_read_expert(r, n_betas, n_win > 0) for _ in range(n_points)] for _ in range(n_views)]
    r.expect_end("the patch experts")
    return CcnfScale(path, patch_scaling, centers, visibilities, tuple(windows), comps, experts)


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------



@numba.njit(cache=True, inline="always")
def _im2col_body(aoi, ph, pw, H, W, col):
    """im2colContrastNormBias (CCNF_patch_expert.cpp) of aoi (H, W) float32, written transposed: col is
    (1 + ph·pw, n_patches) float32 with yB = H - ph + 1 by xB = W - pw + 1 patches, patch index
    p = x·yB + y (C++ iterates x-blocks outside), feature index 1 + xx·ph + yy. Float32 sums in the C++
    order per patch (the mean over rows-then-columns, the square sum over the column-major feature
    order, no fused multiply-add), then the centred values times (float)(1/norm).

    Speed: the image is first restacked as sh[yy, j·yB + y] = aoi[y + yy, j], in which the values of
    feature (xx, yy) over all patches are the contiguous run sh[yy, xx·yB : xx·yB + n_patches]; the
    sum and square-sum passes run over those runs padded to a multiple of 16 (zeros: whole vectors,
    no remainder loop; the padded lanes are discarded), and col is written once."""
    yB = H - ph + 1
    xB = W - pw + 1
    P = xB * yB
    Pp = (P + 15) // 16 * 16
    npix = np.float32(ph * pw)
    n_sh = W * yB + (Pp - P)
    sh = np.empty((ph, n_sh), dtype=np.float32)
    for yy in range(ph):
        for j in range(W):
            for y in range(yB):
                sh[yy, j * yB + y] = aoi[y + yy, j]
        for q in range(W * yB, n_sh):
            sh[yy, q] = np.float32(0.0)
    s = np.zeros(Pp, dtype=np.float32)
    ss = np.zeros(Pp, dtype=np.float32)
    # each loop over the patches takes one row (or one column block) of features at once: with the
    # sizes constant the inner feature loop unrolls and the patch loop vectorises (11 loops per pass
    # instead of 121); the adds per patch stay in the order given above
    for yy in range(ph):
        row = sh[yy]
        for p in range(Pp):
            a = s[p]
            for xx in range(pw):
                a = a + row[xx * yB + p]
            s[p] = a
    for p in range(Pp):
        s[p] = s[p] / npix
    for xx in range(pw):
        o = xx * yB
        for p in range(Pp):
            a = ss[p]
            m = s[p]
            for yy in range(ph):
                d = sh[yy, o + p] - m
                a = a + d * d
            ss[p] = a
    for p in range(P):
        norm = np.float32(np.sqrt(ss[p]))
        if norm == 0:
            norm = np.float32(1.0)
        ss[p] = np.float32(1.0 / np.float64(norm))
    for xx in range(pw):
        for yy in range(ph):
            v = sh[yy, xx * yB:xx * yB + P]
            c = col[1 + xx * ph + yy]
            for p in range(P):
                c[p] = (v[p] - s[p]) * ss[p]
    for p in range(P):
        col[0, p] = np.float32(1.0)


@numba.njit(cache=True)
def _im2col_contrast_norm(aoi, ph, pw, col):
    """_im2col_body for aoi (H, W) float32. For the 11x11 experts of OpenFace's models and the odd
    window sizes 3..11 the body is compiled with the sizes as constants (constant trip counts: LLVM
    drops the loop set-up and remainder checks; same arithmetic)."""
    H, W = aoi.shape
    if ph == 11 and pw == 11 and H == W:
        if H == 21:
            return _im2col_body(aoi, 11, 11, 21, 21, col)
        if H == 19:
            return _im2col_body(aoi, 11, 11, 19, 19, col)
        if H == 17:
            return _im2col_body(aoi, 11, 11, 17, 17, col)
        if H == 15:
            return _im2col_body(aoi, 11, 11, 15, 15, col)
        if H == 13:
            return _im2col_body(aoi, 11, 11, 13, 13, col)
    _im2col_body(aoi, ph, pw, H, W, col)


@numba.njit(cache=True)
def _add_sigmoid(x, two_alpha, resp, P, e):
    """`*p += (2.0*alpha) / (1.0 + exp(-x))`: std::exp(float) (glibc expf), the rest in double, into the
    float32 response (neuron by neuron, as the C++ loop). e: (>= P,) float32 scratch (the expf values,
    computed in one vectorised pass)."""
    expf_neg_into(x, e, P)
    for p in range(P):
        resp[p] = np.float32(np.float64(resp[p]) + two_alpha / (1.0 + np.float64(e[p])))


@numba.njit(cache=True)
def _ccnf_response_one(aoi, ph, pw, wm, nn, active, two_alphas, sigma_t, ws, col, tmp, resp, acc1, out, fused,
                       rowwise, tmp2, acc2):
    """CCNF_patch_expert::ResponseOpenBlas for one landmark into out (ws, ws) float32.
    sigma_t is Sigma transposed (the product is accumulated over k for all rows at once)."""
    _im2col_contrast_norm(aoi, ph, pw, col)
    P = col.shape[1]
    yB = aoi.shape[0] - ph + 1
    for p in range(P):
        resp[p] = np.float32(0.0)
    na = active.shape[0]
    a = 0
    while a < na:
        ra = active[a]
        split = n_block_split(ra, nn)
        # two neurons with the same blocking go through the product together (same bits, one pass)
        pair = not rowwise and a + 1 < na and n_block_split(active[a + 1], nn) == split
        if pair:
            sgemm_rows2(wm[ra], wm[active[a + 1]], col, tmp, tmp2, split, acc1, acc2, fused)
        elif fused and rowwise:
            sgemm_row_rowwise(wm[ra], col, tmp, split, acc1)
        else:
            sgemm_row(wm[ra], col, tmp, split, acc1, fused)
        _add_sigmoid(tmp, two_alphas[a], resp, P, acc2)
        if pair:
            _add_sigmoid(tmp2, two_alphas[a + 1], resp, P, acc2)
            a += 1
        a += 1
    # response.t(): resp is indexed x-major; the Sigma product takes the y-major vector
    n = ws * ws
    for y in range(ws):
        for x in range(ws):
            tmp[y * ws + x] = resp[x * yB + y]
    # sgemm with m = 1: one fused multiply-add chain per output in k order
    matvec_t(tmp, sigma_t, acc1, n, fused)
    mn = acc1[0]
    for r in range(1, n):
        if acc1[r] < mn:
            mn = acc1[r]
    if mn < 0:
        for r in range(n):
            acc1[r] = acc1[r] - mn
    for r in range(n):
        out[r // ws, r % ws] = acc1[r]


@numba.njit(cache=True)
def ccnf_responses_batch(aois, ph, pw, wms, n_neurons, actives, n_active, two_alphas, sigmas_t, ws, out, fused,
                         rowwise=False):
    """Responses of L landmarks at once.

    aois (L, H, W) float32 areas of interest (H = ws + ph - 1), wms (L, nn, 1+ph·pw) float32 weight
    matrices (first n_neurons[l] rows used: the sgemm blocking depends on it), actives (L, nn) int64
    row indices of the neurons with alpha > 1e-4 (first n_active[l] used), two_alphas (L, nn) float64
    (2·alpha of those neurons), sigmas_t (L, ws², ws²) float32 Sigma matrices TRANSPOSED,
    out (L, ws, ws) float32 (written); fused: use the CPU's FMA (FMA_FUSED) rather than emulating it;
    rowwise: the neuron product one neuron at a time, one k per pass (f32kernels.sgemm_row_rowwise;
    the benchmark's baseline, same bits) rather than in pairs of neurons (sgemm_rows2)."""
    L = aois.shape[0]
    yB = aois.shape[1] - ph + 1
    P = yB * (aois.shape[2] - pw + 1)
    K = ph * pw + 1
    col = np.empty((K, P), dtype=np.float32)
    m = max(P, ws * ws)
    tmp = np.empty(m, dtype=np.float32)
    resp = np.empty(P, dtype=np.float32)
    acc1 = np.empty(m, dtype=np.float32)
    tmp2 = np.empty(P, dtype=np.float32)
    acc2 = np.empty(P, dtype=np.float32)
    for l in range(L):
        na = n_active[l]
        _ccnf_response_one(aois[l], ph, pw, wms[l], n_neurons[l], actives[l, :na], two_alphas[l, :na],
                           sigmas_t[l], ws, col, tmp, resp, acc1, out[l], fused, rowwise, tmp2, acc2)



def ccnf_response(expert: CcnfExpert, sigma: np.ndarray, area_of_interest: np.ndarray) -> np.ndarray:
    """CCNF_patch_expert::ResponseOpenBlas for one landmark.

    area_of_interest: (ws + height - 1, ws + width - 1) float32 (the warped image around the landmark).
    sigma: (ws², ws²) float32 from CcnfScale.sigma. Returns (ws, ws) float32, zeros if the expert
    has no neurons (landmark invisible in this view)."""
    aoi = np.ascontiguousarray(area_of_interest, dtype=np.float32)
    ws = aoi.shape[0] - expert.height + 1
    out = np.zeros((1, ws, ws), dtype=np.float32)
    if not expert.visible:
        return out[0]
    nn = len(expert.neurons)
    act = np.zeros((1, nn), dtype=np.int64)
    act[0, :len(expert.active_rows)] = expert.active_rows
    ta = np.zeros((1, nn), dtype=np.float64)
    ta[0, :len(expert.two_alphas)] = expert.two_alphas
    ccnf_responses_batch(aoi[None], expert.height, expert.width, expert.weight_matrix[None],
                         np.array([nn], dtype=np.int64), act,
                         np.array([len(expert.active_rows)], dtype=np.int64), ta,
                         np.ascontiguousarray(np.asarray(sigma, dtype=np.float32).T)[None], ws, out, FMA_FUSED)
    return out[0]

