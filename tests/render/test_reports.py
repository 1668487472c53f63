"""CI reports (issue 17, part 5) and the passing run's summary block (part 3).

JSON: a `schema` and a `pyparity` version field, validated against the committed JSON Schema; the real
source path, or for an in-memory run a null path and a label that says so. JUnit: times, no skipped
groups. GitHub: annotations and a step summary.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

import pyparity
from pyparity.cli.app import main
from pyparity.diff import diff_traces
from pyparity.render.github import annotations, summary_markdown, workflow_command
from pyparity.render.json_report import report_document, schema_document
from pyparity.trace import Trace, read_trace


@pytest.fixture(scope="module")
def images(openface_dumps):
    return openface_dumps / "images"


def _validator(kind: str) -> Draft202012Validator:
    schema = schema_document(kind)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(kind: str, doc) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator(kind).iter_errors(doc)]


def _mtcnn_only(trace, **meta) -> Trace:
    """An in-memory copy of a dump's MTCNN stages (a run without --out, as `run mtcnn` makes)."""
    names = [n for n in trace.names if n.startswith("mtcnn/")]
    return Trace.from_arrays([(n, np.asarray(trace[n])) for n in names], meta=meta)


def test_cli_json_validates_and_names_its_schema_version_and_sources(images, tmp_path):
    a, b = images / "001.jpg", images / "002.jpg"
    out = tmp_path / "r.json"
    assert main(["diff", str(a), str(b), "--json", str(out), "-q"]) == 1
    doc = json.loads(out.read_text())
    assert doc["schema"] == "pyparity-diff-report/1" and doc["pyparity"] == pyparity.__version__
    assert _errors("pyparity-diff-report/1", doc) == []
    assert doc["a"]["path"] == str(a) and doc["b"]["path"] == str(b)
    assert doc["a"]["producer"].startswith("openface-cpp 2.0.2") and doc["b"]["input"] == "002.jpg"
    assert doc["verdict"] == f"FIRST DIVERGENCE {doc['first_divergence']}" and doc["seconds"] > 0
    # the schema is not vacuous: what it says is required is required, and types are checked
    broken = dict(doc, schema="pyparity-diff-report/0")
    assert _errors("pyparity-diff-report/1", broken)
    del broken["stages"][0]["max_abs"]
    assert len(_errors("pyparity-diff-report/1", broken)) == 2


def test_schema_lists_exactly_the_fields_written(images):
    """The committed schema and the writer cannot drift apart: every field written is documented there."""
    ref = read_trace(images / "001.jpg")
    doc = report_document(diff_traces(read_trace(images / "002.jpg"), ref))
    schema = schema_document()
    assert set(doc) == set(schema["properties"]) == set(schema["required"])
    stage = schema["$defs"]["stage"]
    assert all(set(s) == set(stage["properties"]) == set(stage["required"]) for s in doc["stages"])
    assert set(doc["a"]) == set(schema["$defs"]["origin"]["properties"])
    hyps = [h for s in doc["stages"] for h in s["diagnosis"]]
    assert all(set(h) == set(schema["$defs"]["hypothesis"]["properties"]) for h in hyps)


def test_in_memory_run_says_so_instead_of_memory(images):
    ref = read_trace(images / "001.jpg")
    run = _mtcnn_only(ref, producer={"name": "pyparity", "command": "mtcnn"}, input={"file": "001.jpg"})
    doc = report_document(diff_traces(run, ref, stages=["mtcnn/**"]))
    assert _errors("pyparity-diff-report/1", doc) == []
    assert doc["b"]["path"] is None and "<memory>" not in json.dumps(doc)
    assert doc["b"]["label"] == "in memory: pyparity (mtcnn) on 001.jpg (not saved; --out PATH keeps it)"
    assert doc["ok"] and doc["key_outputs"] == [{"stages": "mtcnn/output/boxes", "unit": "px", "max_abs": 0.0,
                                                 "count": 1}]


def test_non_finite_metrics_validate():
    a = Trace.from_arrays({"x/output/y": np.array([2.0])}, source="a")
    b = Trace.from_arrays({"x/output/y": np.array([np.inf])}, source="b")
    doc = report_document(diff_traces(b, a))
    assert doc["stages"][0]["max_abs"] == "inf" and _errors("pyparity-diff-report/1", doc) == []
    json.dumps(doc, allow_nan=False)


def test_gate_json_validates(tmp_path):
    from pyparity.corpus_spec import Corpus
    from pyparity.gate.outcome import CaseOutcome
    from pyparity.render.gate import gate_document

    outcomes = [CaseOutcome("s1", "mtcnn", "mtcnn/s1", "pass", golden_status="match", reference_status="match",
                            seconds=1.5),
                CaseOutcome("s2", "mtcnn", "mtcnn/s2", "regression", golden_status="regression",
                            golden_first="mtcnn/output/boxes", failing_stages=["mtcnn/output/boxes"], seconds=2.0)]
    doc = gate_document(outcomes, Corpus(tmp_path / "c.toml", "c", tmp_path, []))
    assert doc["schema"] == "pyparity-gate-report/1" and doc["pyparity"] == pyparity.__version__
    assert _errors("pyparity-gate-report/1", doc) == [] and doc["seconds"] == 3.5 and not doc["ok"]
    assert _errors("pyparity-gate-report/1", dict(doc, cases=[dict(doc["cases"][0], status="fine")]))


def test_junit_has_times_and_no_skipped_groups(images, tmp_path):
    ref = read_trace(images / "001.jpg")
    run = _mtcnn_only(read_trace(images / "002.jpg"))
    out = tmp_path / "r.xml"
    from pyparity.render.junit import write_junit

    report = diff_traces(run, ref)
    write_junit([("002", report)], out)
    root = ET.parse(out).getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert root.find(".//skipped") is None and suite.get("skipped") == "0"
    assert [c.get("name") for c in cases] == ["mtcnn/config", "mtcnn/pnet", "mtcnn/rnet", "mtcnn/onet", "mtcnn/output"]
    assert all(float(c.get("time")) >= 0 for c in cases) and float(suite.get("time")) > 0
    assert float(root.get("time")) == float(suite.get("time")) and root.get("tests") == "5"
    assert sum(float(c.get("time")) for c in cases) <= float(suite.get("time"))
    assert all(c.find("system-out") is None for c in cases)
    note = suite.find("system-out").text  # the face00 groups, never compared, are said once
    assert "only-in-A" in note and "face00/clnf" in note and "face00/output" in note
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["pyparity"] == pyparity.__version__ and props["b"].startswith("in memory")


def test_workflow_commands_escape_what_github_reads():
    line = workflow_command("error", "50% off\nnext", file="a,b:c.txt", title="t")
    assert line == "::error file=a%2Cb%3Ac.txt,title=t::50%25 off%0Anext"


def test_github_annotations_and_step_summary(images, tmp_path, monkeypatch, capsys):
    a, b = images / "001.jpg", images / "002.jpg"
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(b.parent))
    assert main(["diff", str(a), str(b), "--github", "-q"]) == 1
    out = capsys.readouterr().out.splitlines()
    errors = [ln for ln in out if ln.startswith("::error ")]
    assert 1 <= len(errors) <= 10
    assert errors[0].startswith("::error file=002.jpg,title=pyparity%3A mtcnn/pnet/s00/input diverged (first divergence)::"
                                "max abs 0.43 at [26, 15, 0], 10821 of 36864 values over tolerance")
    text = summary.read_text()
    assert text.startswith("earlier step\n### ❌ pyparity diff")
    assert "**FIRST DIVERGENCE mtcnn/pnet/s00/input**" in text and "failing stage(s)" in text
    # a passing diff: no annotation, a ✅ summary with the key outputs
    assert main(["diff", str(a), str(a), "--github", "-q"]) == 0
    assert "::error" not in capsys.readouterr().out
    assert "### ✅ pyparity diff" in summary.read_text() and "mtcnn/output/boxes 0 px" in summary.read_text()


def test_github_without_a_step_summary_file_still_annotates(images, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main(["diff", str(images / "001.jpg"), str(images / "002.jpg"), "--github", "-q"]) == 1
    cap = capsys.readouterr()
    assert "::error " in cap.out and "GITHUB_STEP_SUMMARY is not set" in cap.err


def test_github_text_from_traces_is_escaped():
    a = Trace.from_arrays({"odd|name<b>/x": np.zeros(3)}, source="a")
    b = Trace.from_arrays({"odd|name<b>/x": np.ones(3)}, source="b")
    rep = diff_traces(b, a)
    md = summary_markdown(rep)
    assert "<b>" not in md and "odd&#124;name&lt;b&gt;/x" in md
    (line,) = annotations(rep)
    assert "\n" not in line and "title=pyparity%3A odd|name<b>/x diverged (first divergence)" in line


def test_passing_run_prints_one_summary_block(images, capsys):
    d = images / "sample2.jpg"  # three faces
    assert main(["diff", str(d), str(d)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("PARITY: all ") and "stage" not in lines[0].split(":")[0]
    assert "|" not in out and "only-in" not in out  # no table
    labels = [ln.split()[0] for ln in lines[1:]]
    assert labels[:4] == ["compared", "max", "time", "A"]
    assert "max error   mtcnn/output/boxes 0 px, face*/output/landmarks_stacked 0 px (3 stages)\n" in out
    assert main(["diff", str(d), str(d), "--table"]) == 0
    assert "| stage" in capsys.readouterr().out
    assert main(["diff", str(d), str(d), "--max-rows", "5"]) == 0
    assert "not shown" in capsys.readouterr().out


def test_gate_annotations_point_at_the_case_in_the_spec(tmp_path, monkeypatch):
    from pyparity.gate.outcome import CaseOutcome
    from pyparity.render.github import gate_annotations, write_github_gate

    spec = tmp_path / "c.toml"
    spec.write_text('[corpus]\npipeline = "mtcnn"\n[[case]]\nname = "s1"\ninput = "a.jpg"\n'
                    '[[case]]\nname = "s2"  # the second\ninput = "b.jpg"\n')
    outcomes = [CaseOutcome("s1", "mtcnn", "mtcnn/s1", "pass", seconds=1.0),
                CaseOutcome("s2", "mtcnn", "mtcnn/s2", "regression", golden_first="mtcnn/output/boxes", seconds=2.0)]
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    assert gate_annotations(outcomes, spec) == [
        "::error file=c.toml,line=7,title=pyparity gate%3A s2 regression::mtcnn/output/boxes"]
    summary = tmp_path / "s.md"
    import io

    write_github_gate(outcomes, spec, "c", stream=io.StringIO(), summary_path=summary)
    text = summary.read_text()
    assert "**GATE FAILED: 1 of 2 case(s)** in 3.0 s" in text and "| <code>s2</code> | mtcnn | ❌ regression |" in text
