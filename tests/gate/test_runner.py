"""The gate end to end: parallel runs, golden and reference diffs, regressions, updates, reports.

Toy pipelines replay a real reference dump's MTCNN stages (optionally perturbed), so every verdict
below is about real arrays; the shipped corpus is also run through the real MTCNN pipeline.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from pyparity.gate import pipelines
from pyparity.gate.corpus import load_corpus
from pyparity.gate.outcome import GateOptions
from pyparity.gate.runner import run_gate
from pyparity.trace import read_trace
from tests.paths import REPO

STAGES = ["mtcnn/onet/out", "mtcnn/output/raw_boxes", "mtcnn/output/scores", "mtcnn/output/boxes"]
CASES = ["sample1.jpg", "001.jpg", "002.jpg"]


def replay(input_path: Path, rec, model_dir) -> None:
    """Toy pipeline: the input is a dump's meta.json; record its final MTCNN stages."""
    ref = read_trace(Path(input_path).parent)
    with rec.scope("mtcnn"):
        for n in STAGES:
            rec.save(n[len("mtcnn/"):], ref[n])


def replay_shifted(input_path: Path, rec, model_dir) -> None:
    """Toy pipeline with a regression: output boxes moved by 1e-3 px (over the 5e-4 px policy)."""
    ref = read_trace(Path(input_path).parent)
    with rec.scope("mtcnn"):
        for n in STAGES:
            a = ref[n]
            rec.save(n[len("mtcnn/"):], a + np.float32(1e-3) if n == "mtcnn/output/boxes" else a)


@pytest.fixture
def toy(tmp_path, openface_dumps):
    pipelines.register("toy", replay)
    pipelines.register("toy-shifted", replay_shifted)
    dumps = openface_dumps / "images"
    body = ['[corpus]\npipeline = "toy"\npolicy = "mtcnn"\ngoldens = "g"\ngolden_stages = ["mtcnn/output/*"]\n'
            f'[vars]\ndumps = "{dumps}"\n']
    for c in CASES:
        body.append(f'[[case]]\nname = "{c[:-4]}"\ninput = "${{dumps}}/{c}/meta.json"\nreference = "${{dumps}}/{c}"\n')
    spec = tmp_path / "toy.toml"
    spec.write_text("\n".join(body))
    yield spec
    pipelines.unregister("toy")
    pipelines.unregister("toy-shifted")


def _use(spec: Path, pipeline: str) -> None:
    spec.write_text(spec.read_text().replace('pipeline = "toy"', f'pipeline = "{pipeline}"').replace(
        'pipeline = "toy-shifted"', f'pipeline = "{pipeline}"'))


def test_gate_pass_fail_and_update_in_parallel(toy, tmp_path):
    corpus = load_corpus(toy)
    opts = GateOptions(goldens=corpus.goldens)
    with pytest.raises(Exception, match="does not exist.*update run blesses") as exc:
        run_gate(corpus, opts, jobs=2, progress=False)
    assert exc.value.param == "update"
    created = run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=2, progress=False)
    assert [o.status for o in created] == ["new"] * 3
    assert sorted(p.name for p in (tmp_path / "g" / "toy").iterdir()) == ["001", "002", "sample1"]
    seen = []
    ok = run_gate(corpus, opts, jobs=2, progress=False, on_result=lambda o: seen.append(o.name))
    assert [o.status for o in ok] == ["pass"] * 3 and sorted(seen) == sorted(c[:-4] for c in CASES)
    assert all(o.golden_status == "match" and o.reference_status == "match" for o in ok)

    _use(toy, "toy-shifted")  # a regressed pipeline, compared with the goldens blessed above
    corpus2 = load_corpus(toy)
    for c in corpus2.cases:
        c.golden = "toy/" + c.name
    bad = run_gate(corpus2, opts, jobs=2, progress=False)
    assert [o.status for o in bad] == ["regression"] * 3
    assert all(o.golden_first == "mtcnn/output/boxes" and o.reference_first == "mtcnn/output/boxes" for o in bad)
    assert "mtcnn/output/boxes" in bad[0].golden_summary

    # an update to a run that got worse against the reference is refused, forced it goes through
    refused = run_gate(corpus2, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    assert [o.status for o in refused] == ["refused"] * 3
    forced = run_gate(corpus2, GateOptions(goldens=corpus.goldens, update=True, force=True), jobs=1, progress=False)
    assert all(o.status == "diverged" and "changed (mtcnn/output/boxes)" in o.golden_change for o in forced)


def test_gate_cli_reports(toy, tmp_path, capsys):
    from pyparity.cli.app import main

    assert main(["gate", str(toy), "--update", "--no-progress", "--jobs", "2"]) == 0
    out = tmp_path / "r"
    code = main(["gate", str(toy), "--no-progress", "--jobs", "2", "--inject-regression", "mtcnn/output/scores=0.5",
                 "--json", str(out / "g.json"), "--junit", str(out / "g.xml"), "--html", str(out / "html")])
    assert code == 1
    text = capsys.readouterr().out
    assert "mtcnn/output/scores" in text and "GATE FAILED: 3 of 3" in text
    doc = json.loads((out / "g.json").read_text())
    assert doc["ok"] is False and {c["golden_first"] for c in doc["cases"]} == {"mtcnn/output/scores"}
    root = ET.parse(out / "g.xml").getroot()  # valid XML, parsed back with the standard library
    suites = root.findall("testsuite")
    assert len(suites) == 6  # each input vs reference and vs golden
    failed = [(s.get("name"), c.get("name")) for s in suites for c in s.findall("testcase") if c.find("failure") is not None]
    assert ("sample1 vs golden", "mtcnn/output") in failed and ("sample1 vs reference", "mtcnn/output") in failed
    assert all(c.get("name") != "mtcnn/onet" for s in suites for c in s.findall("testcase") if c.find("failure") is not None)
    index = (out / "html" / "index.html").read_text()
    assert 'href="sample1.html"' in index and (out / "html" / "sample1.html").is_file()


def test_failing_pipeline_is_a_failed_case_not_a_crash(toy):
    def boom(input_path, rec, model_dir):
        raise RuntimeError("kaput")

    pipelines.register("toy", boom)
    corpus = load_corpus(toy)
    res = run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    assert all(o.status == "error" and "kaput" in o.message for o in res)


def test_shipped_corpus_passes_and_injected_regression_names_the_stage(openface_model_dir, capsys):
    from pyparity.cli.app import main

    spec = str(REPO / "corpus" / "openface-samples.toml")
    args = ["gate", spec, "--model-dir", str(openface_model_dir), "--no-progress", "--jobs", "2"]
    assert main(args) == 0
    assert "GATE PASSED: 26 case(s)" in capsys.readouterr().out
    assert main(args + ["--inject-regression", "mtcnn/rnet/corrected_boxes=0.01"]) == 1
    out = capsys.readouterr().out
    assert "mtcnn/rnet/corrected_boxes" in out and "GATE FAILED" in out
