"""img2pose `predict` in NumPy, recording every stage under the upstream dumps' names.

    from pyparity.pipelines.img2pose import Img2Pose, Img2PoseConfig
    model = Img2Pose.synthetic(config=Img2PoseConfig.from_file(dump_dir), points_dir=...)
    det = model.predict(image_rgb_uint8, rec=rec)
    det.boxes (N, 4) xyxy float32, original image; det.scores (N,); det.labels (N,) int64;
    det.dofs (N, 6) float32 [rx, ry, rz, tx, ty, tz] in the camera of the *resized* image (as upstream)

Stage isolation: ``predict(image, start=StageRef(trace, stage))`` takes a stage's inputs from a
reference trace instead of computing them; ``stage`` is one of ``START_STAGES``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.img2pose import postprocess as PP
from pyparity.pipelines.img2pose import roi as R
from pyparity.pipelines.img2pose import rpn as RPN
from pyparity.pipelines.img2pose import transform as T
from pyparity.pipelines.img2pose.config import Img2PoseConfig
from pyparity.trace import NULL_RECORDER, StageRecorder, StageRef
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("input/image", "Img2Pose.preprocess", "img2pose img2pose.py: img2poseModel.predict", "the uint8 RGB image"),
    Stage("input/tensor", "Img2Pose.preprocess", "torchvision ToTensor", "float32 3×H×W in [0, 1] (level 2)"),
    Stage("transform/normalized", "Img2Pose.preprocess", "torchvision GeneralizedRCNNTransform.normalize",
          "(x − mean)/std at the original size (level 2)"),
    Stage("transform/resized", "Img2Pose.preprocess", "torchvision GeneralizedRCNNTransform.resize, batch_images",
          "bilinear resize, zero-padded to ×32"),
    Stage("transform/image_sizes", "Img2Pose.preprocess", "torchvision GeneralizedRCNNTransform.resize",
          "(h, w) of the resized image before padding"),
    Stage("roi/box_roi_pool/*", "Img2Pose.predict", "torchvision MultiScaleRoIAlign",
          "pooled features, levels and scales"),
    Stage("roi/output/*", "Img2Pose.predict", "img2pose models.py: DOFRoIHeads.forward",
          "the RoI heads' boxes, scores, dofs and labels (resized frame)"),
    Stage("output/*", "Img2Pose.predict", "torchvision GeneralizedRCNNTransform.postprocess",
          "what predict() returns: boxes in the original image"),
    Stage("probe/roi_align/*", "Img2Pose.predict", "torchvision MultiScaleRoIAlign",
          "the dumps' probe: RoIAlign of five fixed boxes on every FPN level"),
    Stage("post/*", "Img2Pose.predict", "img2pose utils/pose_operations.py: plot_3d_landmark",
          "the original image's intrinsics and the projected 68 and 5 landmarks"),
)

START_STAGES = ("input", "backbone", "rpn", "roi", "postprocess")

POINTS_FILES = {
    "points68": ("reference_3d_68_points_trans.npy", "e0ef4f01b659229085f5c89521faba3c85e915e6c76ff89cd8ffe8ad25515088"),
    "points5": ("reference_3d_5_points_trans.npy", "a9fce645484c7e326ab7ca19c77e8b99f69f5d6506ef751da4335487a76e1ccb"),
}


def load_reference_points(directory: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(68, 3), (5, 3) float32 from upstream's ``pose_references/`` (or a folder holding it), sha256-checked."""
    d = Path(directory)
    if (d / "pose_references").is_dir():
        d = d / "pose_references"
    out = []
    for key, (name, sha) in POINTS_FILES.items():
        p = d / name
        if not p.is_file():
            raise ModelError(f"{p}: img2pose 3D reference points not found")
        data = p.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise ModelError(f"{p}: sha256 mismatch (expected {sha[:16]}...)")
        out.append(np.load(p, allow_pickle=False).astype(np.float32))
    return out[0], out[1]


# What each start stage takes from the reference, with the number of dimensions each must have.
_FROM_REFERENCE = {
    "backbone": {"transform/image_sizes": 2, "transform/resized": 4},
    "rpn": {"transform/image_sizes": 2, "transform/resized": 4, **{f"backbone/fpn/p{k}": 4 for k in range(2, 7)}},
}
_FROM_REFERENCE["roi"] = {**_FROM_REFERENCE["rpn"], "rpn/post_nms/boxes": 2}
_FROM_REFERENCE["postprocess"] = {**_FROM_REFERENCE["roi"], "roi/dof_regression": 2, "roi/class_logits": 2}


def check_reference(ref, start: str) -> None:
    """The stages a run started at ``start`` takes from ``ref``: present, with the right rank (one line
    naming what is missing instead of a KeyError or an IndexError deep in the network)."""
    need = _FROM_REFERENCE[start]
    missing = [n for n in need if n not in ref]
    if missing:
        raise InputError(f"{getattr(ref, 'source', 'reference')}: starting here needs the reference's "
                         f"{', '.join(missing)} ({len(missing)} stage(s) missing)", param="start", value=start)
    for n, ndim in need.items():
        info = ref.info(n)
        batched = n.startswith(("transform/resized", "backbone/"))  # read as [0]: one image, first
        if len(info.shape) != ndim or (batched and info.shape[0] < 1):
            raise InputError(f"{getattr(ref, 'source', 'reference')}: stage {n} has shape {list(info.shape)}, "
                             f"starting here needs a {ndim}-d array", param="start", value=start)
    if tuple(ref.info("transform/image_sizes").shape) != (1, 2):
        raise InputError(f"{getattr(ref, 'source', 'reference')}: transform/image_sizes must be (1, 2)")


@dataclass
class Detections:
    boxes: np.ndarray  # (N, 4) float32 xyxy, original image
    scores: np.ndarray  # (N,) float32
    labels: np.ndarray  # (N,) int64 (1 = face)
    dofs: np.ndarray  # (N, 6) float32, camera of the resized image
    original_hw: tuple[int, int] | None = None
    points68: np.ndarray | None = field(default=None, repr=False, compare=False)
    points5: np.ndarray | None = field(default=None, repr=False, compare=False)
    _landmarks: dict = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.scores)

    # Projected landmarks are a consumer step (run_face_alignment.py), not part of upstream's predict():
    # computed on first access (or by predict when it records post/landmarks*), so predict's cost is upstream's.
    @property
    def landmarks68(self) -> np.ndarray | None:
        """(N, 68, 2) float64 in the original image (K of the original image, as upstream's consumers)."""
        return self._project("68", self.points68)

    @property
    def landmarks5(self) -> np.ndarray | None:
        """(N, 5, 2) float64, as `landmarks68`."""
        return self._project("5", self.points5)

    def _project(self, key: str, points):
        if points is None or self.original_hw is None:
            return None
        if key not in self._landmarks:
            self._landmarks[key] = PP.project_landmarks(self.dofs, points, self.original_hw)
        return self._landmarks[key]


class Img2Pose:
    """The img2pose network (NumPy, torch or onnxruntime backend) and its shared pre/post-processing."""

    def __init__(self, weights: dict, config: Img2PoseConfig, points68: np.ndarray, points5: np.ndarray | None = None,
                 orthogonalize: bool = True, backend: str = "numpy", threads: int | None = None):
        """``backend``: who runs the network (backbone, RPN head, RoI MLPs): ``numpy``, ``torch``
        (optional extra) or ``onnx`` (onnxruntime); pre/post-processing is shared (network.py).
        ``threads``: the network's threads (None: the backend's default; numpy: ``PYPARITY_THREADS`` or
        every CPU, the bits the same for any count)."""
        from pyparity.pipelines.img2pose.network import make_network

        self.p = weights
        self.backend = backend
        self.net = make_network(backend, weights, config, threads)
        self.cfg = config
        self.points68 = np.asarray(points68, dtype=np.float32)
        self.points5 = None if points5 is None else np.asarray(points5, dtype=np.float32)
        # SciPy >= 1.17 orthogonalises in from_matrix (the dumps); False reproduces SciPy 1.5.4
        self.orthogonalize = orthogonalize
        config.require_pose_stats()

    @classmethod
    def synthetic(cls, config: Img2PoseConfig, points_dir: str | Path, check_against=None, **kw) -> "Img2Pose":
        from pyparity.pipelines.img2pose.synth import synthetic_weights

        p = synthetic_weights(config.depth, check_against)
        return cls(p, config, *load_reference_points(points_dir), **kw)

    @classmethod
    def from_checkpoint(cls, path: str | Path, config: Img2PoseConfig, points_dir: str | Path, **kw) -> "Img2Pose":
        from pyparity.pipelines.img2pose.weights import load_weights

        p, depth = load_weights(path, config.depth)
        return cls(p, config, *load_reference_points(points_dir), **kw)

    # -- stages --------------------------------------------------------------------------------
    def preprocess(self, image: np.ndarray, rec: StageRecorder = NULL_RECORDER, dump_level: int = 2):
        """uint8 RGB (H, W, 3) -> (padded (3, Hp, Wp) float32, resized (h, w)).

        ``dump_level`` 1 leaves out the two full-resolution float copies (``input/tensor``,
        ``transform/normalized``), as the dumps of large images do."""
        cfg = self.cfg
        rec.save("input/image", image)
        t = T.to_tensor(image)
        if dump_level >= 2:
            rec.save("input/tensor", t)
        n = T.normalize(t, cfg.image_mean, cfg.image_std)
        if dump_level >= 2:
            rec.save("transform/normalized", n)
        H, W = image.shape[:2]
        s = T.resize_scale(H, W, cfg.min_size, cfg.max_size)
        h, w = T.resized_size(H, W, s)
        if h < 1 or w < 1:
            raise InputError(f"image {W}x{H} resizes to {w}x{h} at min_size={cfg.min_size}, max_size={cfg.max_size}")
        x = T.pad_to_multiple(T.resize_bilinear(n, h, w), cfg.size_divisible)
        rec.save("transform/resized", x[None])
        rec.save("transform/image_sizes", np.array([[h, w]], dtype=np.int64))
        return x, (h, w)

    def predict(self, image: np.ndarray, rec: StageRecorder = NULL_RECORDER, probe_boxes: np.ndarray | None = None,
                start: StageRef | None = None, dump_level: int = 2) -> Detections:
        """Run upstream's ``predict([ToTensor(image)])`` on a uint8 RGB image.

        ``probe_boxes`` (K, 4): also record ``probe/roi_align/*`` (the dumps' RoIAlign probe).
        ``start``: take the inputs of stage ``start.stage`` (one of ``START_STAGES``) from its reference.
        ``dump_level``: 2 records every stage, 1 leaves out the full-resolution float copies.
        """
        start_stage = start.stage if start is not None else "input"
        if start_stage not in START_STAGES:
            raise InputError(f"unknown start stage (one of {', '.join(START_STAGES)})", param="start", value=start_stage)
        ref = start.reference if start is not None else None
        start = start_stage
        if start != "input":
            check_reference(ref, start)
        image = T.check_image(image)
        cfg = self.cfg
        H, W = image.shape[:2]
        if start == "input":
            x, hw = self.preprocess(image, rec, dump_level)
        else:
            x, hw = None, tuple(int(v) for v in ref["transform/image_sizes"][0])
        if start == "input" or start == "backbone":
            if start == "backbone":
                x = np.asarray(ref["transform/resized"][0], dtype=np.float32)
            feats = self.net.backbone(x, rec)
            padded = x.shape[-2:]
        else:
            feats = [np.asarray(ref[f"backbone/fpn/p{k}"][0]) for k in range(2, 7)]
            padded = tuple(ref["transform/resized"].shape[-2:]) if "transform/resized" in ref else None
            if padded is None:
                raise InputError("reference lacks transform/resized (its shape gives the padded size)")
        if start in ("input", "backbone", "rpn"):
            proposals, _ = RPN.rpn(feats, padded, hw, self.p, cfg, rec, head=self.net.rpn_head)
        else:
            proposals = np.asarray(ref["rpn/post_nms/boxes"])
        with rec.scope("roi"):
            if start != "postprocess":
                pooled, levels, scales = R.multiscale_roi_align(feats[:4], proposals, hw, cfg.roi_output_size,
                                                                cfg.roi_sampling_ratio)
                rec.save("box_roi_pool/features", pooled)
                rec.save("box_roi_pool/levels", levels)
                rec.save("box_roi_pool/scales", np.asarray(scales, dtype=np.float64))
                dof_reg, logits = self.net.roi_networks(pooled, rec)
            else:
                dof_reg, logits = np.asarray(ref["roi/dof_regression"]), np.asarray(ref["roi/class_logits"])
            boxes, dofs, scores, labels = PP.postprocess_detections(
                logits, dof_reg, proposals, hw, self.points68, cfg, self.orthogonalize, rec)
            with rec.scope("output"):
                rec.save("boxes", boxes)
                rec.save("scores", scores)
                rec.save("dofs", dofs)
                rec.save("labels", labels)
        out_boxes = PP.to_original(boxes, hw, (H, W), rec)
        with rec.scope("output"):
            rec.save("boxes", out_boxes)
            rec.save("scores", scores)
            rec.save("dofs", dofs)
            rec.save("labels", labels)
        if probe_boxes is not None and rec.enabled:
            pb = np.asarray(probe_boxes, dtype=np.float32)
            feats_p, lv, _ = R.multiscale_roi_align(feats[:4], pb, hw, cfg.roi_output_size, cfg.roi_sampling_ratio)
            rec.save("probe/roi_align/boxes", pb)
            rec.save("probe/roi_align/levels", lv)
            rec.save("probe/roi_align/features", feats_p)
        det = Detections(out_boxes, scores, labels, dofs, (H, W), self.points68, self.points5)
        if rec.enabled:
            from pyparity.pipelines.img2pose.pose import image_intrinsics

            rec.save("post/intrinsics", image_intrinsics(H, W))
            rec.save("post/landmarks68", det.landmarks68)
            if det.landmarks5 is not None:
                rec.save("post/landmarks5", det.landmarks5)
        return det
