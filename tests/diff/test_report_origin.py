"""What a report says about its sides and its time (fast, no shared data): the real path of a trace
read from disk, a clear label for one held in memory, and per-stage times that add up."""

from __future__ import annotations

import numpy as np

from pyparity.diff import diff_traces
from pyparity.diff.report import DiffReport, trace_origin
from pyparity.trace import Trace, read_trace, write_trace


def test_a_trace_on_disk_is_named_by_its_path(tmp_path):
    t = Trace.from_arrays({"a/x": np.zeros(2)}, meta={"producer": {"name": "openface-cpp", "version": "2.0.2",
                                                                   "command": "FaceLandmarkImg -f x.jpg"},
                                                      "input": {"file": "x.jpg"}})
    write_trace(t, tmp_path / "t")
    origin = trace_origin(read_trace(tmp_path / "t"))
    assert origin == {"path": str(tmp_path / "t"), "producer": "openface-cpp 2.0.2 (FaceLandmarkImg -f x.jpg)",
                      "input": "x.jpg", "label": str(tmp_path / "t")}


def test_a_trace_in_memory_says_what_it_is_and_how_to_keep_it():
    run = Trace.from_arrays({"a/x": np.zeros(2)}, meta={"producer": {"name": "pyparity", "pipeline": "mtcnn"},
                                                        "input": {"file": "x.jpg", "path": "/data/x.jpg"}})
    assert trace_origin(run) == {"path": None, "producer": "pyparity (mtcnn)", "input": "/data/x.jpg",
                                 "label": "in memory: pyparity (mtcnn) on /data/x.jpg (not saved; --out PATH keeps it)"}
    bare = trace_origin(Trace.from_arrays({"a/x": np.zeros(2)}))
    assert bare["path"] is None and bare["producer"] is None and bare["input"] is None
    assert bare["label"] == "in memory: this run's trace (not saved; --out PATH keeps it)"
    named = trace_origin(Trace.from_arrays({"a/x": np.zeros(2)}, source="somewhere"))
    assert named["path"] == "somewhere" == named["label"]


def test_diff_reports_both_origins_and_times_every_stage():
    a = Trace.from_arrays({"s/x": np.zeros(3), "s/y": np.ones(3), "s/only_a": np.ones(1)}, source="A-dir")
    b = Trace.from_arrays({"s/x": np.zeros(3), "s/y": np.ones(3) * 2})
    rep = diff_traces(b, a)
    assert rep.origin("a")["path"] == "A-dir" and rep.origin("b")["path"] is None
    assert rep.to_dict()["a"] == rep.a_origin and rep.to_dict()["b"] == rep.b_origin
    assert len(rep.stage_seconds) == len(rep.stages) == 3
    assert all(0 <= s <= rep.seconds for s in rep.stage_seconds) and sum(rep.stage_seconds) <= rep.seconds < 60
    assert rep.to_dict()["seconds"] == round(rep.seconds, 6)


def test_a_report_built_by_hand_still_has_origins():
    rep = DiffReport("dump-dir", "<memory>")
    assert rep.origin("a") == {"path": "dump-dir", "producer": None, "input": None, "label": "dump-dir"}
    assert rep.origin("b")["path"] is None
