"""The diff engine: align two traces, compare stage by stage under a policy, diagnose."""

from pyparity.diff.align import Mapping, load_mapping
from pyparity.diff.compare import StageResult, compare_arrays
from pyparity.diff.diagnose import diagnose
from pyparity.diff.hypothesis import Hypothesis
from pyparity.diff.engine import diff_traces
from pyparity.diff.policy import Policy, Tolerance, builtin_policy, default_policy, load_policy
from pyparity.diff.report import DiffReport

__all__ = [
    "diff_traces", "DiffReport", "StageResult", "compare_arrays", "diagnose", "Hypothesis",
    "Policy", "Tolerance", "load_policy", "default_policy", "builtin_policy", "Mapping", "load_mapping",
]
