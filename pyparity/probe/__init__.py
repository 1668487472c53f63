"""Probes: record a third-party port stage by stage, from the outside, under the reference's names."""

from pyparity.probe.run import probe_meta, record_probe, run_probe
from pyparity.probe.spec import Probe, ProbeError, load_probe

__all__ = ["Probe", "ProbeError", "load_probe", "probe_meta", "record_probe", "run_probe"]
