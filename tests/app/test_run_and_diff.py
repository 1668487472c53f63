"""The application layer: one policy resolution and one set of report options for every front-end, the
spec registry, run_and_diff's outcome, the gate's executor seam."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.app import ReportOptions, compare, default_policy_ref, record, run_and_diff, spec
from pyparity.app.spec import NoOptions, PipelineSpec
from pyparity.errors import InputError, UsageError
from pyparity.trace import Recorder, read_trace
from tests.paths import PORTS


def _trace(path: Path, producer: dict | None = None, **stages) -> Path:
    with Recorder(path, meta={"producer": producer} if producer else None) as rec:
        for name, value in stages.items():
            rec.save(name.replace("__", "/"), value)
    return path


@pytest.fixture
def pair(tmp_path):
    """A reference and a candidate 1e-4 px apart on mtcnn/onet/input_boxes: within the built-in default
    policy's 5e-4 px for boxes, but a divergence under the mtcnn policy (ONet's input boxes: exact)."""
    boxes = np.full((2, 4), 100.0, np.float32)
    ref = _trace(tmp_path / "ref", mtcnn__onet__input_boxes=boxes)
    cand = _trace(tmp_path / "cand", {"name": "pyparity", "pipeline": "mtcnn"}, mtcnn__onet__input_boxes=boxes + 1e-4)
    bare = _trace(tmp_path / "bare", mtcnn__onet__input_boxes=boxes + 1e-4)
    return ref, cand, bare


def test_default_policy_is_the_producers(pair):
    ref, cand, bare = pair
    assert default_policy_ref(read_trace(cand)) == "mtcnn"
    assert default_policy_ref(read_trace(bare)) is None
    assert not compare(read_trace(cand), read_trace(ref)).ok                  # mtcnn: exact
    assert compare(read_trace(bare), read_trace(ref)).ok                      # built-in default: ≤ 5e-4 px
    assert compare(read_trace(cand), read_trace(ref), ReportOptions(policy="default")).ok
    assert main(["diff", str(ref), str(cand), "-q"]) == 1 and main(["diff", str(ref), str(bare), "-q"]) == 0


def test_fix_in_the_producer_selects_its_overlay():
    pof = spec("pof")
    assert pof.default_policy({"fixes": ["signed"]}) == "pof-fix-signed"
    assert pof.default_policy({"fixes": ["signed", "zsign"]}) == "pof"
    assert pof.default_policy({}) == "pof"


def test_record_then_diff_judges_as_hunt(tmp_path, monkeypatch, capsys):
    """The probe's own policy (here: everything within 0.5) is the default for its trace wherever it is
    compared: hunt, and diff of what record wrote."""
    monkeypatch.syspath_prepend(str(PORTS))
    out = np.zeros((6, 3, 4), np.float32)
    out[1] = 0.3
    p = 1 / (1 + np.exp(out[0] - out[1]))
    ref = _trace(tmp_path / "ref", mtcnn__pnet__s00__out=out,
                 mtcnn__pnet__s00__prob=(p + 0.1).astype(np.float32))                    # 0.1 off
    (tmp_path / "loose.toml").write_text("[default]\natol = 0.5\n")
    probe = tmp_path / "toy.toml"
    probe.write_text('[probe]\nname = "toy"\nrequires = ["toy_port"]\npolicy = "loose.toml"\n[port]\n'
                     'setup = "toy_port:build"\ncall = "detect_one"\nargs = ["$ref:mtcnn/pnet/s00/out"]\n'
                     '[[capture]]\ntarget = "toy_port:ToyDetector._prob"\nvalue = "return"\n'
                     'stage = "mtcnn/pnet/s{n:02d}/prob"\n')
    img = tmp_path / "in.bin"
    img.write_bytes(b"x")
    hunt = main(["hunt", str(probe), str(img), "--reference", str(ref), "-q"])
    assert main(["record", str(probe), str(img), "--reference", str(ref), "--out", str(tmp_path / "t")]) == 0
    producer = read_trace(tmp_path / "t").meta["producer"]
    assert producer["pipeline"] == "probe:toy" and producer["probe_file"] == str(probe)
    diff = main(["diff", str(ref), str(tmp_path / "t"), "-q"])
    assert hunt == diff == 0
    assert main(["diff", str(ref), str(tmp_path / "t"), "-q", "--policy", "default"]) == 1


def test_json_to_standard_output_and_table_to_standard_error(pair, capsys):
    ref, cand, _ = pair
    assert main(["diff", str(ref), str(cand), "--json", "-"]) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # standard output holds the JSON document and nothing else
    assert doc["ok"] is False and doc["policy"].endswith("mtcnn.toml")
    assert "FIRST DIVERGENCE mtcnn/onet/input_boxes" in captured.err and "align with:" not in captured.out


def test_reports_need_a_reference_and_max_rows_is_checked():
    toy = PipelineSpec("toy", "a toy", "default", run=lambda ctx: ctx.rec.save("x", np.ones(2)))
    with pytest.raises(UsageError, match="reference: reports .*need a reference"):
        run_and_diff(toy, "in", reports=ReportOptions(json="r.json"))
    with pytest.raises(UsageError, match="max_rows"):
        ReportOptions(max_rows=0)


def test_run_and_diff_of_a_registered_spec(tmp_path):
    """A spec registered by a plugin runs, records its producer, and is judged by its own policy."""
    from pyparity.app import register, unregister

    def run(ctx):
        ctx.rec.save("mtcnn/output/boxes", np.full((2, 4), 100.0 + 2e-4, np.float32))
        return "done"

    toy = PipelineSpec("toy-boxes", "toy", "mtcnn", run=run, options=NoOptions,
                       describe=lambda result, trace, ctx: [f"result {result}"])
    register(toy)
    try:
        ref = _trace(tmp_path / "ref", mtcnn__output__boxes=np.full((2, 4), 100.0, np.float32))
        outcome = run_and_diff(spec("toy-boxes"), tmp_path / "in", reference=ref, out=tmp_path / "t",
                               reports=ReportOptions(junit=tmp_path / "r.xml"))
        assert outcome.exit_code == 0 and outcome.lines == ["result done"]
        assert read_trace(tmp_path / "t").meta["producer"]["pipeline"] == "toy-boxes"
        assert (tmp_path / "r.xml").read_text().count("<testcase") >= 1
        trace, result, _ = record(spec("toy-boxes"), tmp_path / "in")
        assert result == "done" and trace.names == ["mtcnn/output/boxes"]
    finally:
        unregister("toy-boxes")
    with pytest.raises(InputError, match="unknown pipeline 'toy-boxes'"):
        spec("toy-boxes")


def test_every_comparing_command_has_the_report_options():
    """diff, every run command, hunt and gate share one option set, each with help text; choices are enums."""
    from typer.main import get_command

    from pyparity.cli.app import app

    root = get_command(app)
    commands = {"diff": root.commands["diff"], "hunt": root.commands["hunt"], "gate": root.commands["gate"],
                **{f"run {n}": c for n, c in root.commands["run"].commands.items()}}
    assert {"run mtcnn", "run openface-image", "run clnf", "run openface-sequence", "run img2pose", "run pof"} <= set(commands)
    for name, cmd in commands.items():
        opts = {o for p in cmd.params for o in getattr(p, "opts", ())}
        assert {"--json", "--junit", "--html", "--stage", "--max-rows", "--policy"} <= opts, name
        assert all(p.help for p in cmd.params if getattr(p, "opts", None) and not getattr(p, "hidden", False)
                   and p.param_type_name == "option"), name
    assert main(["run", "img2pose", "x.jpg", "--synthetic", "--backend", "cuda"]) == 2   # a choice, refused by typer


def test_gate_runs_cases_on_any_executor(tmp_path):
    """The executor seam: the runner hands each case to an executor's map (here one that records what it
    ran, in process)."""
    from pyparity.gate import pipelines
    from pyparity.corpus_spec import Case, Corpus
    from pyparity.executors import InProcess
    from pyparity.gate.outcome import GateOptions
    from pyparity.gate.runner import run_gate

    ran = []

    class Counting(InProcess):
        def map(self, fn, items):
            for item in items:
                ran.append(item[0].name)
                yield fn(item)

    def port(input_path, rec, model_dir):
        rec.save("mtcnn/output/boxes", np.full((2, 4), 100.0 + 2e-4, np.float32))

    pipelines.register("toy-exec", port)
    try:
        ref = _trace(tmp_path / "ref", mtcnn__output__boxes=np.full((2, 4), 100.0, np.float32))
        inp = tmp_path / "in.bin"
        inp.write_bytes(b"x")
        cases = [Case(name=f"c{i}", input=inp, pipeline="toy-exec", golden=f"toy/c{i}", reference=ref,
                      policy="mtcnn") for i in range(3)]
        out = run_gate(Corpus(tmp_path / "c.toml", "c", tmp_path / "g", cases),
                       GateOptions(goldens=tmp_path / "g", update=True), progress=False, executor=Counting())
        assert ran == ["c0", "c1", "c2"] and [o.status for o in out] == ["new"] * 3
    finally:
        pipelines.unregister("toy-exec")
