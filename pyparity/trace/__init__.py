"""Traces: ordered, named arrays of one run, plus metadata.

`Recorder` is what pipeline code calls; `Trace` is what the diff engine reads. On disk a trace is a
directory in the reference dump format (``meta.json``, ``index.tsv``, ``arrays.npz``), so that
our traces and C++/PyTorch reference dumps are read by the same code.
"""

from pyparity.trace.trace import StageInfo, Trace
from pyparity.trace.recorder import NULL_RECORDER, NullRecorder, Recorder, StageRecorder
from pyparity.trace.dumpio import read_trace, write_trace
from pyparity.trace.stageref import StageRef

__all__ = [
    "StageInfo",
    "Trace",
    "Recorder",
    "NullRecorder",
    "NULL_RECORDER",
    "StageRecorder",
    "read_trace",
    "write_trace",
    "StageRef",
]
