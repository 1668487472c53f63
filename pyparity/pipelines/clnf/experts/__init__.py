"""Patch experts (Patch_experts.cpp): CCNF and CEN response maps around each landmark."""

from pyparity.pipelines.clnf.experts.cen import CenPatchExperts, read_cen_patch_experts
from pyparity.pipelines.clnf.experts.patch_experts import PatchExperts, PatchResponse, load_patch_experts

__all__ = ["CenPatchExperts", "read_cen_patch_experts", "PatchExperts", "PatchResponse", "load_patch_experts"]
