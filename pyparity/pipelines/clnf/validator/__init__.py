"""The CNN detection validator (LandmarkDetectionValidator.cpp) and the piecewise-affine warp (PAW.cpp)."""

from pyparity.pipelines.clnf.validator.cnn import DetectionValidator, read_validator
from pyparity.pipelines.clnf.validator.paw import Paw

__all__ = ["DetectionValidator", "read_validator", "Paw"]
