"""POF constants: COCO-17 limbs, solver/enforcement orders, limb graphs, anthropometric proportions.

Values are upstream's (`JoeyKardolus/humanpose3d_backend@396dac4`, src/pof/constants.py,
graph_utils.py, bone_lengths.py, least_squares.py); the adjacency matrices are checked in the tests
against the dumps' ``const/*`` stages.
"""

from __future__ import annotations

import numpy as np

NUM_JOINTS = 17
NUM_LIMBS = 14
L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 5, 6, 11, 12

# (parent, child) per limb, COCO-17 joint indices; limb i's POF points parent -> child.
LIMBS: tuple[tuple[int, int], ...] = (
    (5, 7), (7, 9), (6, 8), (8, 10),          # L upper arm, L forearm, R upper arm, R forearm
    (11, 13), (13, 15), (12, 14), (14, 16),   # L thigh, L shin, R thigh, R shin
    (5, 6), (11, 12),                          # shoulder width, hip width
    (5, 11), (6, 12),                          # L torso, R torso (shoulder -> hip)
    (5, 12), (6, 11),                          # cross-body diagonals
)
LIMB_PARENTS = np.array([p for p, _ in LIMBS], dtype=np.intp)
LIMB_CHILDREN = np.array([c for _, c in LIMBS], dtype=np.intp)

# Least-squares solve order (hips -> torso -> arms -> legs); limbs 10/11 are solved hip -> shoulder,
# i.e. against their POF direction, so the solver negates their POF.
SOLVE_ORDER: tuple[int, ...] = (9, 10, 11, 0, 2, 1, 3, 4, 6, 5, 7)
REVERSED_LIMBS = frozenset({10, 11})
ENFORCE_ORDER: tuple[int, ...] = (10, 11, 0, 2, 1, 3, 4, 6, 5, 7)

VALID_SOLVE_THRESHOLD = 0.05   # ||orient_xy||^2 must be strictly above this for the lstsq branch
MAX_SCALE_FACTOR = 1.5         # |scale| <= 1.5 * bone_length (normalised units)
HEAD_DEPTH_OFFSET = 0.05       # nose depth = shoulder-centre depth + 0.05
HEIGHT_TO_TORSO_RATIO = 3.4    # metric torso = height / 3.4 (upstream constants.py)
DEFAULT_OUTPUT_DEPTH = 2.0

# bone_lengths.py AnatomicalProportions (fractions of standing height), per limb.
PROPORTIONS = {
    "upper_arm": 0.172, "forearm": 0.157, "thigh": 0.245, "shin": 0.246,
    "torso_side": 0.288, "shoulder_width": 0.259, "hip_width": 0.191, "cross_torso": 0.345,
}
LIMB_PROPORTION = (
    "upper_arm", "forearm", "upper_arm", "forearm", "thigh", "shin", "thigh", "shin",
    "shoulder_width", "hip_width", "torso_side", "torso_side", "cross_torso", "cross_torso",
)

# Kinematic (parent-child / torso-attachment) limb edges, undirected (graph_utils build_kinematic_adj).
KINEMATIC_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (2, 3), (4, 5), (6, 7),            # upper limb -> lower limb
    (0, 8), (2, 8), (4, 9), (6, 9),            # limbs attached to shoulder / hip width
    (0, 10), (4, 10), (2, 11), (6, 11),        # limbs attached to the side torso limbs
    (10, 12), (10, 13), (11, 12), (11, 13),    # side torso <-> diagonals
)
# Left-right symmetric limb pairs (graph_utils build_symmetry_adj).
SYMMETRY_EDGES: tuple[tuple[int, int], ...] = ((0, 2), (1, 3), (4, 6), (5, 7), (10, 11), (12, 13))


def _from_edges(edges) -> np.ndarray:
    a = np.zeros((NUM_LIMBS, NUM_LIMBS), dtype=np.float32)
    for i, j in edges:
        a[i, j] = a[j, i] = 1.0
    return a


def joint_sharing_adj() -> np.ndarray:
    """(14,14) float32 0/1: limbs sharing a joint (no self loops)."""
    a = np.zeros((NUM_LIMBS, NUM_LIMBS), dtype=np.float32)
    for i, li in enumerate(LIMBS):
        for j, lj in enumerate(LIMBS):
            if i != j and set(li) & set(lj):
                a[i, j] = 1.0
    return a


def kinematic_adj() -> np.ndarray:
    return _from_edges(KINEMATIC_EDGES)


def symmetry_adj() -> np.ndarray:
    return _from_edges(SYMMETRY_EDGES)


def semgcn_adjacencies() -> dict[str, np.ndarray]:
    """The SemGCN buffers as the constructor builds them: 0/1 matrix + identity, float32."""
    eye = np.eye(NUM_LIMBS, dtype=np.float32)
    return {
        "adj_joint": joint_sharing_adj() + eye,
        "adj_kinematic": kinematic_adj() + eye,
        "adj_symmetry": symmetry_adj() + eye,
    }


def combined_adj() -> np.ndarray:
    """POFGraphModel's ``adj``: union of the three edge types, plus self loops (float32 0/1)."""
    u = np.maximum(np.maximum(joint_sharing_adj(), kinematic_adj()), symmetry_adj())
    np.fill_diagonal(u, 1.0)
    return u
