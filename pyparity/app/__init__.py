"""The application layer: between the front-ends (CLI, gate, pytest plugin) and the pipelines.

- `PipelineSpec` (spec.py): one per pipeline, found by name with `spec` (registry.py; ``probe:NAME`` for
  probes);
- `run_and_diff` (run.py): run a spec on an input (from a `StageRef` if given), record, compare with a
  reference, write the reports `ReportOptions` asks for; `record`: the run alone;
- `compare` (compare.py): a trace against its reference with one policy resolution (`resolve_policy_for`)
  and stage selection;
- `ReportOptions` (reports.py): ``--json [-] --junit --html --stage --max-rows --policy`` as data.
"""

from pyparity.app.compare import compare, default_policy_ref, resolve_policy_for
from pyparity.app.reports import ReportOptions, write_reports
from pyparity.app.registry import names, register, spec, unregister
from pyparity.app.run import record, run_and_diff
from pyparity.app.spec import Fix, PipelineSpec, RunOutcome, recorded_groups
from pyparity.trace.stageref import StageRef

__all__ = ["compare", "default_policy_ref", "resolve_policy_for", "ReportOptions", "write_reports", "RunOutcome",
           "record", "run_and_diff", "Fix", "PipelineSpec", "names", "recorded_groups", "register", "spec", "unregister", "StageRef"]
