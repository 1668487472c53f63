"""Trust (issue 14), class 1: a comparison of nothing is never parity, whatever the front-end.

Every case builds its own traces; each must end in exit 1 with "nothing compared" and the reason
(or exit 2 for a --stage glob that matches nothing), never in exit 0 / PARITY.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.diff import diff_traces
from pyparity.errors import UsageError
from pyparity.pytest_plugin import ParityError, assert_parity
from pyparity.trace import Recorder, Trace, read_trace

PORTS = Path(__file__).parent / "probe_ports"


def _trace(path: Path, **stages) -> Path:
    with Recorder(path) as rec:
        for name, value in stages.items():
            rec.save(name.replace("__", "/"), value)
    return path


@pytest.fixture
def ref(tmp_path) -> Path:
    return _trace(tmp_path / "ref", mtcnn__pnet__s00__prob=np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4),
                  mtcnn__output__boxes=np.ones((2, 4), np.float32))


VACUOUS_DIFFS = {
    "empty candidate": (lambda tmp, ref: [str(ref), str(_trace(tmp / "empty"))], "recorded no stage"),
    "empty reference": (lambda tmp, ref: [str(_trace(tmp / "empty")), str(ref)], "reference (A) has no stage"),
    "both empty": (lambda tmp, ref: [str(_trace(tmp / "e1")), str(_trace(tmp / "e2"))], "both traces are empty"),
    "misspelt names": (lambda tmp, ref: [str(ref), str(_trace(tmp / "typo", mtcnm__output__boxes=np.ones((2, 4))))],
                       "no stage in common"),
    "policy ignores all": (lambda tmp, ref: [str(ref), str(ref), "--policy", str(_ignore_all(tmp))], "ignored by the policy"),
    "map ignores all": (lambda tmp, ref: [str(ref), str(ref), "--map", str(_map_ignore_all(tmp))], "mapping ignores every"),
    "filter selects one side": (lambda tmp, ref: [str(ref), str(_trace(tmp / "other", port__x=np.ones(2))),
                                                  "--stage", "mtcnn/**", "--stage", "port/**"],
                                "no stage in common among the stages matching mtcnn/**, port/**"),
}


def _ignore_all(tmp: Path) -> Path:
    p = tmp / "ignore.toml"
    p.write_text("[default]\nignore = true\n")
    return p


def _map_ignore_all(tmp: Path) -> Path:
    p = tmp / "map.toml"
    p.write_text('ignore = ["**"]\n')
    return p


@pytest.mark.parametrize("case", list(VACUOUS_DIFFS))
def test_diff_of_nothing_exits_1_and_says_why(tmp_path, ref, capsys, case):
    make, reason = VACUOUS_DIFFS[case]
    args = make(tmp_path, ref)
    code = main(["diff", *args, "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "NOTHING COMPARED" in out and reason in out and "PARITY" not in out.replace("NOTHING", "")
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["ok"] is False and reason in rep["nothing_compared"] and rep["n_compared"] == 0
    suite = ET.parse(tmp_path / "r.xml").getroot()[0]
    assert int(suite.get("failures")) >= 1
    assert any(tc.get("name") == "nothing compared" and tc.find("failure") is not None for tc in suite)


@pytest.mark.parametrize("globs", [["mtcnn/pnet/s00/porb"], ["mtcnn/**", "mtcnn/onet/*"], ["nothing*"]])
def test_stage_glob_that_matches_nothing_is_a_usage_error(ref, capsys, globs):
    args = [a for g in globs for a in ("--stage", g)]
    assert main(["diff", str(ref), str(ref), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stage filter") and len(err.strip().splitlines()) == 1
    with pytest.raises(UsageError, match="matches no stage"):
        assert_parity(read_trace(ref), ref, stages=globs)
    if any(g.startswith("mtcnn/**") for g in globs):  # the library reports the glob that matched nothing
        assert diff_traces(read_trace(ref), read_trace(ref), stages=globs).unmatched_stage_globs == ["mtcnn/onet/*"]
    else:
        with pytest.raises(UsageError, match="matches no stage"):
            diff_traces(read_trace(ref), read_trace(ref), stages=globs)


def test_reference_stage_the_candidate_never_produced_stays_visible(tmp_path, ref, capsys):
    part = _trace(tmp_path / "part", mtcnn__output__boxes=np.ones((2, 4), np.float32),
                  mtcnn__extra=np.zeros(1))
    assert main(["diff", str(ref), str(part), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "PARITY: all 1 compared stages match, 1 only in A (the candidate never produced them), 1 only in B" in out
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["counts"] == {"match": 1, "only-in-A": 1, "only-in-B": 1}
    assert {s["name"]: s["status"] for s in rep["stages"]}["mtcnn/pnet/s00/prob"] == "only-in-A"


def test_pytest_assert_parity_refuses_nothing(tmp_path, ref):
    with pytest.raises(ParityError, match="nothing compared: the candidate"):
        assert_parity(Trace.from_arrays({}), ref)
    misspelt = Trace.from_arrays({"mtcnm/output/boxes": np.ones((2, 4), np.float32)})
    with pytest.raises(ParityError, match="nothing compared: no stage of the reference .A. matches mtcnm"):
        assert_parity(misspelt, ref)
    with pytest.raises(UsageError):
        assert_parity(read_trace(ref), ref, stages=["mtcnn/porb"])
    assert assert_parity(read_trace(ref), ref).n_compared == 2  # the control: a real comparison passes


def test_run_diff_against_a_reference_without_its_stages(tmp_path, capsys):
    from pyparity.app import ReportOptions, compare, recorded_groups

    ours = Trace.from_arrays({"mtcnn/output/boxes": np.ones((2, 4), np.float32)})
    other = _trace(tmp_path / "img2pose_dump", img2pose__output__boxes=np.ones((2, 4), np.float32))
    report = compare(ours, read_trace(other), ReportOptions(policy="mtcnn"), scope=recorded_groups(ours))
    assert not report.ok
    assert report.verdict() == "NOTHING COMPARED: no stage of the reference (A) matches mtcnn/** (1 stage(s) of B do)"


def test_hunt_whose_captures_never_fire(tmp_path, ref, capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(PORTS))
    probe = tmp_path / "never.toml"
    probe.write_text('[probe]\nname = "never"\nrequires = ["toy_port"]\n[port]\nsetup = "toy_port:build"\n'
                     'call = "detect"\nargs = [[]]\n[[capture]]\ntarget = "toy_port:ToyDetector._prob"\n'
                     'value = "return"\nstage = "mtcnn/pnet/s{n:02d}/prob"\n')
    img = tmp_path / "in.bin"
    img.write_bytes(b"x")
    assert main(["hunt", str(probe), str(img), "--reference", str(ref)]) == 1
    out = capsys.readouterr().out
    assert "NOTHING COMPARED: the candidate (B) recorded no stage" in out
    # the probe's declared stage is in the reference: shown as one the port never reached
    assert "mtcnn/pnet/s00/prob" in out and "only-in-A" in out


def test_gate_case_that_compares_nothing_fails(tmp_path, ref):
    from pyparity.gate import pipelines
    from pyparity.corpus_spec import Case
    from pyparity.gate.case import run_case
    from pyparity.gate.outcome import FAILED, GateOptions

    def port(input_path, rec, model_dir):
        rec.save("port/boxes", np.ones((2, 4), np.float32))

    inp = tmp_path / "in.bin"
    inp.write_bytes(b"x")
    case = Case(name="c", input=inp, pipeline="toy", golden="toy/c", reference=ref, policy="mtcnn")
    out = run_case(case, GateOptions(goldens=tmp_path / "g", update=True), pipeline_entry=port)
    assert out.reference_status == "nothing-compared" and out.status in FAILED and out.failed
    assert "nothing compared" in out.reference_summary and "nothing compared" in out.message
    pipelines.unregister("toy")


def _fake_sequence(monkeypatch, n_frames: int, stage: str = "face00/output/landmarks_stacked"):
    """openface-sequence's command without the models: each frame records one stage."""
    import pyparity.app.specs.openface as ro
    from pyparity.pipelines.openface import sequence

    def run_sequence(frames, models, recorder_for, level, max_frames, reference_for=None):
        for i in range(n_frames):
            rec = recorder_for(i, f"{i:03d}.jpg")
            rec.save(stage, np.full((4, 1), i, np.float32))
            yield f"{i:03d}.jpg", None, rec.finish()

    monkeypatch.setattr(ro, "load_models", lambda model_dir, **options: None)
    monkeypatch.setattr(sequence, "frames_of", lambda source: iter(()))
    monkeypatch.setattr(sequence, "run_sequence", run_sequence)


def test_sequence_diff_against_a_folder_without_frame_dumps(tmp_path, monkeypatch, capsys):
    _fake_sequence(monkeypatch, 2)
    (tmp_path / "refs").mkdir()
    code = main(["run", "openface-sequence", str(tmp_path), "--diff", str(tmp_path / "refs"),
                 "--json", str(tmp_path / "s.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "2 frames, 0 match, 0 diverged, 2 without a reference frame; NOTHING COMPARED: the reference has no" in out
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["ok"] is False and doc["no_reference"] == 2 and "no frame dump" in doc["nothing_compared"]


def test_sequence_frames_that_share_no_stage_with_their_reference(tmp_path, monkeypatch, capsys):
    _fake_sequence(monkeypatch, 2)
    for i in range(3):
        _trace(tmp_path / "refs" / f"frame{i:04d}", other__stage=np.ones(2))
    assert main(["run", "openface-sequence", str(tmp_path), "--diff", str(tmp_path / "refs")]) == 1
    out = capsys.readouterr().out
    assert "2 nothing compared" in out and "1 reference frame(s) not run" in out and "NOTHING COMPARED" in out


def test_sequence_with_some_reference_frames_counts_the_rest(tmp_path, monkeypatch, capsys):
    _fake_sequence(monkeypatch, 3)
    _trace(tmp_path / "refs" / "frame0000", face00__output__landmarks_stacked=np.zeros((4, 1), np.float32))
    assert main(["run", "openface-sequence", str(tmp_path), "--diff", str(tmp_path / "refs")]) == 0
    out = capsys.readouterr().out
    assert "3 frames, 1 match, 0 diverged, 2 without a reference frame" in out and "NOTHING" not in out
