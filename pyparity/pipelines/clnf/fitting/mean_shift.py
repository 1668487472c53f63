"""KDE mean-shift over patch-expert response maps (CLNF::NonVectorisedMeanShift_precalc_kde), float32.

C++ precomputes a KDE table on a 0.1-px grid and picks the row nearest to each (dx, dy); we evaluate
that same row directly (identical float32 values: the grid point is `index * 0.1f`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pyparity.pipelines.clnf.numerics.f32kernels import expf

_STEP = np.float32(0.1)


@numba.njit(cache=True, inline="always")
def _clamp_offset(d, lim):
    """A window offset clamped into [0, lim] as C++ does (< 0 -> 0, then > lim -> lim; NaN passes)."""
    if d < 0:
        d = np.float32(0.0)
    if d > lim:
        d = lim
    return d


@numba.njit(cache=True)
def _mean_shift_kernel(responses, dxs, dys, visible, a, out):
    n = responses.shape[0]
    rs = responses.shape[1]
    step = np.float32(0.1)
    rs_f = np.float32(rs)
    lim = np.float32(rs_f - step)
    for i in range(n):
        if visible[i] == 0:
            out[i] = np.float32(0.0)
            out[i + n] = np.float32(0.0)
            continue
        dx = _clamp_offset(dxs[i], lim)
        dy = _clamp_offset(dys[i], lim)
        # (int)(dy / step_size + 0.5): the float quotient is widened to double for the + 0.5
        closest_col = int(np.float64(np.float32(dy / step)) + 0.5)
        closest_row = int(np.float64(np.float32(dx / step)) + 0.5)
        # the table row idx = row * N + col was built with dx = row*0.1f (columns jj), dy = col*0.1f (rows ii)
        gx = np.float32(np.float32(closest_row) * step)
        gy = np.float32(np.float32(closest_col) * step)
        mx = np.float32(0.0)
        my = np.float32(0.0)
        s = np.float32(0.0)
        for ii in range(rs):
            vx = np.float32((gy - np.float32(ii)) * (gy - np.float32(ii)))
            for jj in range(rs):
                vy = np.float32((gx - np.float32(jj)) * (gx - np.float32(jj)))
                # v = exp(a*(vx+vy)) with a float argument: std::exp(float), glibc's expf
                k = expf(np.float32(a * np.float32(vx + vy)))
                v = np.float32(responses[i, ii, jj] * k)
                s = np.float32(s + v)
                mx = np.float32(mx + np.float32(v * np.float32(jj)))
                my = np.float32(my + np.float32(v * np.float32(ii)))
        out[i] = np.float32(np.float32(mx / s) - dx)
        out[i + n] = np.float32(np.float32(my / s) - dy)


@numba.njit(cache=True)
def mean_shift_tabled(responses, dxs, dys, visible, a, table, filled, out):
    """_mean_shift_kernel with the KDE weights of each grid point kept in `table` (n_grid, n_grid, rs, rs)
    float32, filled on first use (`filled` (n_grid, n_grid) bool): C++'s kde_resp_precalc, which
    _mean_shift_kernel re-evaluates every time. The weights are the same expf values and every sum is
    taken in the same order, so the result is bit-identical. A grid index outside the table (a NaN
    offset) falls back to _mean_shift_kernel's evaluation."""
    n = responses.shape[0]
    rs = responses.shape[1]
    ng = table.shape[0]
    step = np.float32(0.1)
    rs_f = np.float32(rs)
    lim = np.float32(rs_f - step)
    todo = np.empty(n, dtype=np.int64)
    grid_r = np.empty(n, dtype=np.int64)
    grid_c = np.empty(n, dtype=np.int64)
    cdx = np.empty(n, dtype=np.float32)
    cdy = np.empty(n, dtype=np.float32)
    n_todo = 0
    for i in range(n):
        if visible[i] == 0:
            out[i] = np.float32(0.0)
            out[i + n] = np.float32(0.0)
            continue
        dx = _clamp_offset(dxs[i], lim)
        dy = _clamp_offset(dys[i], lim)
        qc = np.float64(np.float32(dy / step)) + 0.5
        qr = np.float64(np.float32(dx / step)) + 0.5
        if not (qc >= 0.0 and qr >= 0.0 and qc < ng and qr < ng):
            one = np.zeros(2, dtype=np.float32)
            _mean_shift_kernel(responses[i:i + 1], dxs[i:i + 1], dys[i:i + 1], visible[i:i + 1], a, one)
            out[i] = one[0]
            out[i + n] = one[1]
            continue
        closest_col = int(qc)
        closest_row = int(qr)
        if not filled[closest_row, closest_col]:
            kde = table[closest_row, closest_col]
            gx = np.float32(np.float32(closest_row) * step)
            gy = np.float32(np.float32(closest_col) * step)
            for ii in range(rs):
                vx = np.float32((gy - np.float32(ii)) * (gy - np.float32(ii)))
                for jj in range(rs):
                    vy = np.float32((gx - np.float32(jj)) * (gx - np.float32(jj)))
                    kde[ii, jj] = expf(np.float32(a * np.float32(vx + vy)))
            filled[closest_row, closest_col] = True
        todo[n_todo] = i
        grid_r[n_todo] = closest_row
        grid_c[n_todo] = closest_col
        cdx[n_todo] = dx
        cdy[n_todo] = dy
        n_todo += 1
    for t in range(n_todo):
        i = todo[t]
        kde = table[grid_r[t], grid_c[t]]
        mx = np.float32(0.0)
        my = np.float32(0.0)
        s = np.float32(0.0)
        for ii in range(rs):
            for jj in range(rs):
                v = np.float32(responses[i, ii, jj] * kde[ii, jj])
                s = np.float32(s + v)
                mx = np.float32(mx + np.float32(v * np.float32(jj)))
                my = np.float32(my + np.float32(v * np.float32(ii)))
        out[i] = np.float32(np.float32(mx / s) - cdx[t])
        out[i + n] = np.float32(np.float32(my / s) - cdy[t])


_KDE_TABLES: dict = {}
_KDE_TABLES_MAX = 32   # tables of up to ~6 MB (window 11)
_KDE_TABLE_MAX_WINDOW = 15


def kde_table(window_size: int, a) -> tuple[np.ndarray, np.ndarray]:
    """(table, filled) for mean_shift_tabled, one per (window size, KDE exponent factor a), kept for the
    process (CLNF keeps kde_resp_precalc the same way). Grid indices run to 10·ws (dx <= ws - 0.1)."""
    key = (int(window_size), np.float32(a).tobytes())
    t = _KDE_TABLES.get(key)
    if t is None:
        if len(_KDE_TABLES) >= _KDE_TABLES_MAX:   # a model uses a handful (window, sigma) pairs; bound the rest
            _KDE_TABLES.clear()
        # above window 15 (20 MB) no table: an empty one sends every landmark to the direct evaluation
        ng = 10 * int(window_size) + 2 if window_size <= _KDE_TABLE_MAX_WINDOW else 0
        t = (np.empty((ng, ng, window_size, window_size), dtype=np.float32), np.zeros((ng, ng), dtype=np.bool_))
        _KDE_TABLES[key] = t
    return t


def kde_mean_shift(responses: np.ndarray, dxs: np.ndarray, dys: np.ndarray, visible: np.ndarray, sigma) -> np.ndarray:
    """Mean-shifts in the reference frame.

    responses (n, ws, ws) float32; dxs, dys (n,) float32 positions inside the windows; visible (n,) int;
    sigma: the KDE sigma (float32). Returns mean_shifts_ref_stacked (2n,) float32 (zeros where invisible).
    """
    a = np.float32(-0.5 / float(np.float32(np.float32(sigma) * np.float32(sigma))))
    n = responses.shape[0]
    out = np.zeros(2 * n, dtype=np.float32)
    _mean_shift_kernel(np.ascontiguousarray(responses, dtype=np.float32), np.asarray(dxs, dtype=np.float32).reshape(-1),
                       np.asarray(dys, dtype=np.float32).reshape(-1), np.asarray(visible, dtype=np.int32).reshape(-1),
                       a, out)
    return out


@numba.njit(cache=True)
def _likelihood_kernel(responses, dxs, dys, visible, sigma, out):
    n = responses.shape[0]
    rs = responses.shape[1]
    ss = np.float64(np.float32(sigma * sigma))
    for i in range(n):
        if visible[i] == 0:
            continue
        dx = dxs[i]
        dy = dys[i]
        s = np.float32(0.0)
        for ii in range(rs):
            vx = np.float32((dy - np.float32(ii)) * (dy - np.float32(ii)))
            for jj in range(rs):
                vy = np.float32((dx - np.float32(jj)) * (dx - np.float32(jj)))
                # v *= exp(-0.5*(vx+vy)/(sigma*sigma)): double expression, float result
                v = np.float32(np.float64(responses[i, ii, jj]) * math.exp(-0.5 * np.float64(np.float32(vx + vy)) / ss))
                s = np.float32(s + v)
        out[i] = s


def landmark_likelihoods(responses, dxs, dys, visible, sigma) -> tuple[np.ndarray, np.float32]:
    """The likelihood block at the end of CLNF::NU_RLMS: (landmark_likelihoods (n,) float32 with -1e8
    for invisible ones, loglikelihood float32 = mean over visible of log(sum + 1e-8))."""
    n = responses.shape[0]
    out = np.full(n, np.float32(-1e8), dtype=np.float32)
    vis = np.asarray(visible, dtype=np.int32).reshape(-1)
    _likelihood_kernel(np.ascontiguousarray(responses, dtype=np.float32), np.asarray(dxs, dtype=np.float32).reshape(-1),
                       np.asarray(dys, dtype=np.float32).reshape(-1), vis, np.float32(sigma), out)
    ll = np.float32(0)
    for i in range(n):
        if vis[i]:
            ll = np.float32(float(ll) + math.log(float(out[i]) + 1e-8))
    ll = np.float32(float(ll) / float(vis.sum()))
    return out, ll


@numba.njit(cache=True)
def _loglikelihood_k(lhoods, visible):
    """landmark_likelihoods' mean: `ll += log(l + 1e-8)` in double, stored as float each step, over the
    visible landmarks; then divided (in double) by their count."""
    ll = np.float32(0.0)
    cnt = 0
    for i in range(lhoods.shape[0]):
        if visible[i]:
            ll = np.float32(np.float64(ll) + math.log(np.float64(lhoods[i]) + 1e-8))
            cnt += 1
    return np.float32(np.float64(ll) / np.float64(cnt))


def landmark_likelihoods_fast(responses, dxs, dys, visible, sigma) -> tuple[np.ndarray, np.float32]:
    """landmark_likelihoods with the loglikelihood sum in numba (the fast path; identical values).
    responses (n, ws, ws) float32 contiguous, dxs, dys (n,) float32, visible (n,) int32."""
    n = responses.shape[0]
    out = np.full(n, np.float32(-1e8), dtype=np.float32)
    _likelihood_kernel(responses, dxs, dys, visible, np.float32(sigma), out)
    return out, _loglikelihood_k(out, visible)
