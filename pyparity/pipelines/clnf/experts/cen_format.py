"""OpenFace's binary CEN patch expert format (`cen_patches_*.dat`, Patch_experts::Read_CEN_patch_experts
and CEN_patch_expert::Read): reader, writer and the dataclasses. The maths (responses, mirroring,
CenPatchExperts) is in cen.py, which re-exports these names.

    sc = read_cen_patch_experts(path) -> CenScale        # Patch_experts::Read_CEN_patch_experts
    write_cen_patch_experts(path, sc)                     # the inverse (byte-identical round trip)
    sc = build_cen_scale(patch_scaling, centers_deg, visibilities, mirror_inds, mirror_views, experts)
    sc.patch_scaling float; sc.centers (V, 3) float64 radians; sc.visibilities (V, n) int32;
    sc.mirror_inds (n,) int32; sc.mirror_views (V,) int32; sc.experts[view][landmark] -> CenExpert
    CenExpert(width_support, height_support, layers, confidence); .is_empty (no layers)
    CenLayer(activation, bias, weight): 0 = sigmoid, 2 = ReLU, any other int32 = identity (as C++)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyparity.errors import ModelError
from pyparity.pipelines.clnf.experts.views import ViewedScale
from pyparity.pipelines.clnf.model.matbin import CV_DTYPES, MatBinReader

CEN_RECORD_TYPE = 6            # CEN_patch_expert::Read's sanity value
ACT_SIGMOID = 0
ACT_RELU = 2
ACT_IDENTITY = 1               # any code other than 0 and 2 is the identity in C++

# OpenCV single-channel type codes, for the writer
_CV_CODES = {np.dtype(v): k for k, v in CV_DTYPES.items()}


# ---------------------------------------------------------------------------------------------
# File format
# ---------------------------------------------------------------------------------------------


def _mat_bytes(a: np.ndarray) -> bytes:
    a = np.asarray(a)
    if a.ndim != 2:
        raise ModelError(f"a CEN matrix must be 2-D, got shape {a.shape}")
    code = _CV_CODES.get(a.dtype)
    if code is None:
        raise ModelError(f"a CEN matrix of dtype {a.dtype} has no OpenCV type code")
    return struct.pack("<iii", a.shape[0], a.shape[1], code) + np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes()


@dataclass(frozen=True, eq=False)
class CenLayer:
    """One layer: `out = activation(weight · in + bias)`.

    bias, weight: the matrices as stored (2-D, stored dtype; OpenFace's trained files keep the bias
    as a 1 x units row, C++ reads it by element index). `w32` (units, inputs) and `b32` (units,) are
    the float32 copies C++ computes with (its Mat_<float> assignment converts other depths)."""

    activation: int
    bias: np.ndarray
    weight: np.ndarray
    w32: np.ndarray = field(init=False, repr=False, compare=False)
    b32: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if np.ndim(self.weight) != 2 or np.ndim(self.bias) != 2:
            raise ModelError(f"a CEN layer's weight and bias must be 2-D matrices, got shapes "
                             f"{np.shape(self.weight)} and {np.shape(self.bias)}")
        object.__setattr__(self, "w32", np.ascontiguousarray(np.asarray(self.weight).astype(np.float32)))
        object.__setattr__(self, "b32", np.ascontiguousarray(np.asarray(self.bias).astype(np.float32).reshape(-1)))

    @property
    def units(self) -> int:
        return self.w32.shape[0]

    @property
    def inputs(self) -> int:
        return self.w32.shape[1]


@dataclass(frozen=True, eq=False)
class CenExpert:
    """One landmark's network in one view; no layers = an empty expert (invisible, or "use the mirror")."""

    width_support: int
    height_support: int
    layers: tuple[CenLayer, ...]
    confidence: float

    @property
    def is_empty(self) -> bool:
        # C++ tests `biases.empty()`
        return len(self.layers) == 0

    def validate(self, where: str) -> None:
        """Shapes C++ would silently misread: layer 0 takes 1 + w·h inputs (the bias column of ones
        and the patch), each later layer the previous one's units, one bias per unit, one output."""
        if self.width_support <= 0 or self.height_support <= 0:
            raise ModelError(f"{where}: bad support {self.width_support}x{self.height_support}")
        if self.is_empty:
            return
        k = 1 + self.width_support * self.height_support
        for i, lay in enumerate(self.layers):
            if lay.inputs != k:
                raise ModelError(f"{where}: layer {i} weight is {lay.units}x{lay.inputs}, expected {k} inputs")
            if lay.b32.shape[0] != lay.units:
                raise ModelError(f"{where}: layer {i} has {lay.b32.shape[0]} biases for {lay.units} units")
            k = lay.units
        if k != 1:
            raise ModelError(f"{where}: the last layer has {k} units (a CEN expert outputs 1)")


@dataclass
class CenScale(ViewedScale):
    """One `cen_patches_*.dat` file: one scale, every view, every landmark (empty experts included).

    The `*_mats` fields are the matrices as stored (kept for the writer); the plain fields are what
    C++ uses: centers (V, 3) float64 in radians (cv::Vec3d · M_PI / 180.0, i.e. (c·π)·(1/180)),
    visibilities (V, n) int32, mirror_inds (n,) int32, mirror_views (V,) int32."""

    path: Path
    patch_scaling: float
    center_mats: list[np.ndarray]
    visibility_mats: list[np.ndarray]
    mirror_inds_mat: np.ndarray
    mirror_views_mat: np.ndarray
    experts: list[list[CenExpert]]
    centers: np.ndarray = field(init=False, repr=False)
    visibilities: np.ndarray = field(init=False, repr=False)
    mirror_inds: np.ndarray = field(init=False, repr=False)
    mirror_views: np.ndarray = field(init=False, repr=False)
    _plans: dict = field(default_factory=dict, init=False, repr=False)   # cen.plan_for's cache

    def __post_init__(self):
        where = str(self.path)
        nv = len(self.experts)
        if not (len(self.center_mats) == len(self.visibility_mats) == nv) or nv == 0:
            raise ModelError(f"{where}: {len(self.center_mats)} view centres, {len(self.visibility_mats)} "
                             f"visibilities and {nv} expert views disagree")
        cs = []
        for v, c in enumerate(self.center_mats):
            if np.asarray(c).size != 3:
                raise ModelError(f"{where}: view {v} centre has {np.asarray(c).size} values, expected 3")
            # cv::Vec3d * M_PI / 180.0: operator/ of a Vec multiplies by 1/alpha
            cs.append((np.asarray(c, dtype=np.float64).reshape(3) * np.pi) * (1.0 / 180.0))
        self.centers = np.stack(cs)
        n = np.asarray(self.visibility_mats[0]).shape[0]   # C++: visibility[0].rows
        vis = []
        for v, m in enumerate(self.visibility_mats):
            m = np.asarray(m)
            if m.shape != (n, 1) or not np.issubdtype(m.dtype, np.integer):
                raise ModelError(f"{where}: view {v} visibility is {m.dtype} {m.shape}, expected ({n}, 1) int32")
            vis.append(m.reshape(-1).astype(np.int32))
        self.visibilities = np.stack(vis)
        mi = np.asarray(self.mirror_inds_mat)
        mv = np.asarray(self.mirror_views_mat)
        if mi.size != n or not np.issubdtype(mi.dtype, np.integer) or mi.min(initial=0) < 0 or mi.max(initial=0) >= n:
            raise ModelError(f"{where}: mirror_inds must be {n} landmark indices, got {mi.dtype} {mi.shape}")
        if mv.size != nv or not np.issubdtype(mv.dtype, np.integer) or mv.min(initial=0) < 0 or mv.max(initial=0) >= nv:
            raise ModelError(f"{where}: mirror_views must be {nv} view indices, got {mv.dtype} {mv.shape}")
        self.mirror_inds = mi.reshape(-1).astype(np.int32)
        self.mirror_views = mv.reshape(-1).astype(np.int32)
        for v, row in enumerate(self.experts):
            if len(row) != n:
                raise ModelError(f"{where}: view {v} has {len(row)} experts for {n} landmarks")
            for lm, e in enumerate(row):
                e.validate(f"{where}: view {v} landmark {lm}")

    def confidences(self, view: int) -> np.ndarray:
        return np.array([e.confidence for e in self.experts[view]], dtype=np.float64)


def build_cen_scale(patch_scaling: float, centers_deg, visibilities, mirror_inds, mirror_views,
                    experts: list[list[CenExpert]], path: str | Path = "<memory>") -> CenScale:
    """A CenScale from plain arrays, stored with the types OpenFace's files use: centres (3, 1)
    float64 degrees, visibility / mirror indices (k, 1) int32."""
    c = np.asarray(centers_deg, dtype=np.float64).reshape(-1, 3)
    vis = np.asarray(visibilities).reshape(c.shape[0], -1)
    return CenScale(Path(path), float(patch_scaling),
                    [row.reshape(3, 1).copy() for row in c],
                    [row.astype(np.int32).reshape(-1, 1) for row in vis],
                    np.asarray(mirror_inds).astype(np.int32).reshape(-1, 1),
                    np.asarray(mirror_views).astype(np.int32).reshape(-1, 1),
                    [list(r) for r in experts])


def _read_expert(r: MatBinReader, view: int, lm: int) -> CenExpert:
    what = f"view {view} landmark {lm}"
    start = r.pos
    t = r.i32(what)
    if t != CEN_RECORD_TYPE:
        # C++ only asserts this in debug builds and then misreads the rest of the file
        raise ModelError(f"{r.path}: expected a CEN patch expert record (type 6) for {what} at offset {start}, found {t}")
    w, h, nl = r.i32(what), r.i32(what), r.i32(what)
    if nl < 0 or nl > 1000:
        raise ModelError(f"{r.path}: {what} has a bad layer count {nl} at offset {start}")
    layers = []
    for i in range(nl):
        act = r.i32(f"{what} layer {i}")
        b = r.mat(f"{what} layer {i} bias")
        wm = r.mat(f"{what} layer {i} weight")
        layers.append(CenLayer(act, b, wm))
    conf = r.f64(f"{what} confidence")
    return CenExpert(w, h, tuple(layers), conf)


def read_cen_patch_experts(path: str | Path) -> CenScale:
    """Patch_experts::Read_CEN_patch_experts for one file (one scale). Raises ModelError naming the
    file on a missing, truncated or malformed file."""
    path = Path(path)
    r = MatBinReader.from_file(path, "CEN patch expert file")
    scaling = r.f64("the patch scaling")
    nv = r.i32("the view count")
    if not 0 < nv < 1000:
        raise ModelError(f"{path}: not a CEN patch expert file (view count {nv})")
    centers = [r.mat(f"view {v} centre") for v in range(nv)]
    vis = [r.mat(f"view {v} visibility") for v in range(nv)]
    n = vis[0].shape[0]
    mi = r.mat("mirror_inds")
    mv = r.mat("mirror_views")
    experts = [[_read_expert(r, v, lm) for lm in range(n)] for v in range(nv)]
    r.expect_end("the CEN patch experts")
    return CenScale(path, scaling, centers, vis, mi, mv, experts)


def write_cen_patch_experts(path: str | Path, sc: CenScale) -> None:
    """Write `sc` in OpenFace's binary CEN format (the matrices with their stored dtypes and shapes:
    read(write(x)) == x and write(read(f)) == f byte for byte)."""
    out = [struct.pack("<di", float(sc.patch_scaling), sc.n_views)]
    out += [_mat_bytes(c) for c in sc.center_mats]
    out += [_mat_bytes(v) for v in sc.visibility_mats]
    out += [_mat_bytes(sc.mirror_inds_mat), _mat_bytes(sc.mirror_views_mat)]
    for row in sc.experts:
        for e in row:
            out.append(struct.pack("<iiii", CEN_RECORD_TYPE, e.width_support, e.height_support, len(e.layers)))
            for lay in e.layers:
                out += [struct.pack("<i", int(lay.activation)), _mat_bytes(lay.bias), _mat_bytes(lay.weight)]
            out.append(struct.pack("<d", float(e.confidence)))
    from pyparity.atomic import write_bytes_atomic

    write_bytes_atomic(path, b"".join(out))
