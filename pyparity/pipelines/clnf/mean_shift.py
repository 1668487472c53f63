"""KDE mean-shift over patch-expert response maps (CLNF::NonVectorisedMeanShift_precalc_kde), float32.

C++ precomputes a KDE table on a 0.1-px grid and picks the row nearest to each (dx, dy); we evaluate
that same row directly (identical float32 values: the grid point is `index * 0.1f`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pyparity.pipelines.clnf.f32kernels import expf

_STEP = np.float32(0.1)


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
        dx = dxs[i]
        dy = dys[i]
        if dx < 0:
            dx = np.float32(0.0)
        if dy < 0:
            dy = np.float32(0.0)
        if dx > lim:
            dx = lim
        if dy > lim:
            dy = lim
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
