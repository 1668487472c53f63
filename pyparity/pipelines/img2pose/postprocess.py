"""RoI post-processing (upstream DOFRoIHeads.postprocess_detections, eval) and the transform's
postprocess back to the original image. Boxes xyxy float32; dofs float32 (N, 6)."""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.img2pose import boxops, pose, transform
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("roi/postprocess/*", "postprocess_detections", "img2pose models.py: DOFRoIHeads.postprocess_boxes",
          "softmax scores, score threshold, clip, remove small boxes"),
    Stage("roi/postprocess/*/*", "postprocess_detections", "img2pose models.py: DOFRoIHeads.postprocess_boxes",
          "score threshold, clip, small boxes, NMS on the projected boxes (IoU 0.5)"),
    Stage("transform/postprocess/ratios", "to_original", "torchvision GeneralizedRCNNTransform.postprocess",
          "resized / original size"),
)

_F32 = np.float32


def softmax(x: np.ndarray) -> np.ndarray:
    """Last-axis softmax in float32: ``exp(x - max) * (1 / sum)`` (PyTorch's vectorised CPU kernel)."""
    # exp correctly rounded (PyTorch's vectorised expf is within 1 ulp; either way last-bit only)
    e = np.exp((x - x.max(axis=-1, keepdims=True)).astype(np.float64)).astype(_F32)
    return e * (_F32(1) / e.sum(axis=-1, keepdims=True))


def postprocess_detections(class_logits, dof_regression, proposals, image_hw, points68, cfg,
                           orthogonalize_first: bool = True, rec: StageRecorder = NULL_RECORDER):
    """-> (boxes (N, 4) float32, dofs (N, 6) float32, scores (N,) float32, labels (N,) int64),
    resized-image frame. img2pose does no box regression: candidate boxes are the proposals; final
    boxes come from the projected 68 landmarks, and NMS runs on those."""
    num_classes = class_logits.shape[-1]
    N = len(proposals)
    scores = softmax(class_logits)
    with rec.scope("postprocess"):
        rec.save("softmax", scores)
        thr = _F32(cfg.box_score_thresh)  # torch compares a float32 tensor with the scalar cast to float32
        inds = np.nonzero(scores[:, 1:].reshape(-1) > thr)[0].astype(np.int64)
        rec.save("score_thresh/keep", inds)
        boxes = proposals.reshape(N, -1, 4)
        rec.save("clip/in_boxes", boxes)
        boxes = boxops.clip_boxes_to_image(boxes, image_hw)
        rec.save("clip/boxes", boxes)
    labels = np.broadcast_to(np.arange(num_classes, dtype=np.int64)[None], scores.shape)
    dofs = dof_regression.reshape(N, -1, 6)[:, 1:].reshape(-1, 6)
    sc = scores[:, 1:].reshape(-1)
    lab = labels[:, 1:].reshape(-1)
    bx = boxes.reshape(-1, 4)
    bx, dofs, sc, lab = bx[inds], dofs[inds], sc[inds], lab[inds]
    keep = boxops.remove_small_boxes(bx, cfg.remove_small_boxes_min_size_roi)
    rec.save("postprocess/remove_small/keep", keep)
    bx, dofs, sc, lab = bx[keep], dofs[keep], sc[keep], lab[keep]
    bx, dofs = pose.transform_pose_global_project_bbox(
        bx, dofs, cfg.pose_mean, cfg.pose_stddev, image_hw, points68, cfg, orthogonalize_first, rec
    )
    with rec.scope("postprocess/nms"):
        rec.save("in_boxes", bx)
        rec.save("in_scores", sc)
        rec.save("in_idxs", lab)
        keep = boxops.batched_nms(bx, sc, lab, cfg.box_nms_thresh, cfg.batched_nms_vanilla_above)
        rec.save("keep", keep)
    # upstream slices `keep` to detections_per_img only after using it: no effect (reproduced)
    return bx[keep], dofs[keep], sc[keep], lab[keep]


def to_original(boxes: np.ndarray, resized_hw, original_hw, rec: StageRecorder = NULL_RECORDER) -> np.ndarray:
    """GeneralizedRCNNTransform.postprocess: boxes scaled by float32 original/resized per axis."""
    rec.save("transform/postprocess/ratios", transform.postprocess_ratios(resized_hw, original_hw))
    ratios = np.array(original_hw, dtype=_F32) / np.array(resized_hw, dtype=_F32)
    return transform.resize_boxes(boxes, ratios)


def project_landmarks(dofs: np.ndarray, points: np.ndarray, original_hw) -> np.ndarray:
    """Landmarks in the original image for each output dof (consumers' use: K of the original image)."""
    K = pose.image_intrinsics(*original_hw)
    if len(dofs) == 0:
        return np.zeros((0, len(points), 2))
    return np.stack([pose.project_points(points, d.astype(float), K)[0] for d in dofs])
