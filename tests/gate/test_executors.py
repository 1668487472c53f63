"""The gate on its executors (issue 19): the same corpus on the local executor and on Dask gives the same
reports; the results journal (streamed JSON and JUnit, --resume), --fail-fast, --timeout, the workers'
thread setting, and goldens written by the coordinator only.

Toy pipelines replay a real reference dump's MTCNN stages (some perturbed past the policy), so the verdicts
compared across executors are about real arrays: passes, regressions and divergences alike.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from pyparity.gate import pipelines
from pyparity.gate.corpus import load_corpus
from pyparity.executors import InProcess, LocalProcesses
from pyparity.gate.journal import Journal
from pyparity.gate.outcome import GateOptions
from pyparity.gate.reports import write_gate_json, write_gate_junit
from pyparity.gate.runner import run_gate, stream_gate
from pyparity.render.gate import gate_document
from pyparity.render.junit import junit_document, junit_text
from pyparity.trace import read_trace

REPO = Path(__file__).resolve().parents[2]
STAGES = ["mtcnn/onet/out", "mtcnn/output/raw_boxes", "mtcnn/output/scores", "mtcnn/output/boxes"]
CASES = ["sample1.jpg", "001.jpg", "002.jpg", "003.jpg"]
HERE = "tests.gate.test_executors"


def replay(input_path: Path, rec, model_dir) -> None:
    """The input is a copy of a dump's meta.json beside the dump's name: record its final MTCNN stages."""
    ref = read_trace(Path(input_path.read_text().split("\n")[0]))
    with rec.scope("mtcnn"):
        for n in STAGES:
            rec.save(n[len("mtcnn/"):], ref[n])


def replay_shifted(input_path: Path, rec, model_dir) -> None:
    """A regression: output boxes moved by 1e-3 px (over the mtcnn policy's 5e-4 px)."""
    ref = read_trace(Path(input_path.read_text().split("\n")[0]))
    with rec.scope("mtcnn"):
        for n in STAGES:
            rec.save(n[len("mtcnn/"):], ref[n] + np.float32(1e-3) if n == "mtcnn/output/boxes" else ref[n])


def slow(input_path: Path, rec, model_dir) -> None:
    t = time.monotonic()
    while time.monotonic() - t < 60:  # a pipeline that hangs (and lets other threads run: the in-process
        time.sleep(0.01)              # cluster's other worker shares this interpreter's GIL)


def threads_seen(input_path: Path, rec, model_dir) -> None:
    if os.environ.get("PYPARITY_THREADS") != "1":
        raise RuntimeError(f"PYPARITY_THREADS={os.environ.get('PYPARITY_THREADS')!r} in the worker")
    replay(input_path, rec, model_dir)


@pytest.fixture
def toy(tmp_path, openface_dumps):
    """A corpus of 4 cases (inputs are files in tmp_path naming their dumps); sample1 and 002 regress
    against the reference (toy-shifted), the others pass."""
    dumps = openface_dumps / "images"
    inputs = tmp_path / "in"
    inputs.mkdir()
    body = ['[corpus]\npipeline = "tests.gate.test_executors:replay"\npolicy = "mtcnn"\ngoldens = "g"\n'
            'golden_stages = ["mtcnn/output/*"]\n']
    for c in CASES:
        (inputs / f"{c[:-4]}.txt").write_text(f"{dumps / c}\n")
        body.append(f'[[case]]\nname = "{c[:-4]}"\ninput = "in/{c[:-4]}.txt"\nreference = "{dumps / c}"\n'
                    f'golden = "toy/{c[:-4]}"\n')
    spec = tmp_path / "toy.toml"
    spec.write_text("\n".join(body))
    return spec


def _shift(spec: Path, cases: list[str]) -> None:
    text = spec.read_text()
    for c in cases:
        text = text.replace(f'[[case]]\nname = "{c}"\n', f'[[case]]\nname = "{c}"\npipeline = "{HERE}:replay_shifted"\n')
    spec.write_text(text)


def _comparable(doc: dict) -> dict:
    """A gate document without what differs between any two runs: wall times."""
    doc = dict(doc, seconds=None)
    doc["cases"] = [dict(c, seconds=None) for c in doc["cases"]]
    return doc


def _junit_comparable(path: Path) -> str:
    root = ET.parse(path).getroot()
    for e in root.iter():
        if "time" in e.attrib:
            e.set("time", "-")
    return ET.tostring(root, encoding="unicode")


def _untimed(text: str) -> str:
    """The gate's console output without its wall times (the failing case's diff prints its own)."""
    import re

    return re.sub(r"\btime [0-9.]+ ?(ms|s|us|µs)\b", "time -", text)


def _dask(**kw):
    from pyparity.executors.dask_cluster import DaskExecutor

    return DaskExecutor(workers=2, in_process=True, **kw)


@pytest.mark.parametrize("cases_per_task", [None, 3])
def test_dask_and_local_executors_give_identical_reports(toy, tmp_path, cases_per_task):
    """One corpus, with passes, regressions and divergences, through the local processes and an
    in-process Dask LocalCluster (one case per task, and several): the JSON and JUnit reports are the
    same but for wall times."""
    pytest.importorskip("distributed")
    corpus = load_corpus(toy)
    blessed = run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), progress=False,
                       executor=LocalProcesses(2))
    assert [o.status for o in blessed] == ["new"] * 4
    _shift(toy, ["sample1", "002"])
    corpus = load_corpus(toy)
    opts = GateOptions(goldens=corpus.goldens)
    docs = {}
    for name, ex in (("local", LocalProcesses(2)), ("dask", _dask(cases_per_task=cases_per_task))):
        run = stream_gate(corpus, opts, executor=ex, journal=Journal(tmp_path / f"{name}.jsonl"), progress=False)
        write_gate_json(run, corpus, tmp_path / f"{name}.json")
        write_gate_junit(run, tmp_path / f"{name}.xml")
        docs[name] = json.loads((tmp_path / f"{name}.json").read_text())
    assert [c["status"] for c in docs["local"]["cases"]] == ["regression", "pass", "regression", "pass"]
    assert docs["local"]["cases"][0]["golden_first"] == "mtcnn/output/boxes"
    errors = {n: [(c["name"], c["message"]) for c in d["cases"] if c["status"] == "error"] for n, d in docs.items()}
    assert _comparable(docs["dask"]) == _comparable(docs["local"]), errors
    assert _junit_comparable(tmp_path / "dask.xml") == _junit_comparable(tmp_path / "local.xml")


def test_streamed_reports_are_the_documents_written_whole(toy, tmp_path):
    """The JSON and JUnit streamed from the journal are byte for byte what the in-memory writers make."""
    corpus = load_corpus(toy)
    run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    _shift(toy, ["003"])
    corpus = load_corpus(toy)
    run = stream_gate(corpus, GateOptions(goldens=corpus.goldens), jobs=1, journal=Journal(tmp_path / "j.jsonl"),
                      progress=False)
    outcomes = list(run.outcomes())
    assert [o.name for o in outcomes] == ["sample1", "001", "002", "003"]  # corpus order
    write_gate_json(run, corpus, tmp_path / "g.json")
    assert (tmp_path / "g.json").read_text() == json.dumps(gate_document(outcomes, corpus), indent=1) + "\n"
    write_gate_junit(run, tmp_path / "g.xml")
    whole = junit_text(junit_document([ET.fromstring(x) for o in outcomes for x in o.junit], name="pyparity gate"))
    assert (tmp_path / "g.xml").read_text() == whole
    assert run.counts == {"pass": 3, "regression": 1} and run.first_failed.name == "003" and not run.ok


def test_resume_skips_current_results_and_reruns_changed_ones(toy, tmp_path):
    corpus = load_corpus(toy)
    run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    opts = GateOptions(goldens=corpus.goldens)
    journal = Journal(tmp_path / "j.jsonl")
    ran: list[str] = []
    first = stream_gate(corpus, opts, jobs=1, journal=journal, progress=False, on_result=lambda o: ran.append(o.name))
    assert sorted(ran) == sorted(c[:-4] for c in CASES) and first.ok and first.resumed == 0
    ran.clear()
    again = stream_gate(corpus, opts, jobs=1, journal=journal, resume=True, progress=False,
                        on_result=lambda o: ran.append(o.name))
    assert ran == [] and again.resumed == 4 and again.counts == {"pass": 4}
    assert [o.status for o in again.outcomes()] == ["pass"] * 4  # the stored results, reported

    inp = tmp_path / "in" / "001.txt"  # an input rewritten: that case's result is no longer current
    st = inp.stat()
    os.utime(inp, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    _shift(toy, ["002"])  # a case's spec changed (its pipeline): rerun too
    corpus = load_corpus(toy)
    third = stream_gate(corpus, opts, jobs=1, journal=journal, resume=True, progress=False,
                        on_result=lambda o: ran.append(o.name))
    assert sorted(ran) == ["001", "002"] and third.resumed == 2
    assert third.counts == {"pass": 3, "regression": 1}
    assert [o.name for o in third.outcomes()] == ["sample1", "001", "002", "003"]

    ran.clear()  # a run without --resume starts over; an errored case is never current
    assert stream_gate(corpus, opts, jobs=1, journal=journal, progress=False,
                       on_result=lambda o: ran.append(o.name)).resumed == 0 and len(ran) == 4
    with pytest.raises(Exception, match="--resume"):
        stream_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), journal=journal, resume=True)


def test_an_errored_case_is_rerun_on_resume(toy, tmp_path):
    corpus = load_corpus(toy)
    run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    journal = Journal(tmp_path / "j.jsonl")
    good = (tmp_path / "in" / "002.txt").read_text()
    (tmp_path / "in" / "002.txt").write_text("/nonexistent\n")
    opts = GateOptions(goldens=corpus.goldens)
    assert stream_gate(corpus, opts, jobs=1, journal=journal, progress=False).counts == {"pass": 3, "error": 1}
    (tmp_path / "in" / "002.txt").write_text(good)
    ran: list[str] = []
    run = stream_gate(corpus, opts, jobs=1, journal=journal, resume=True, progress=False,
                      on_result=lambda o: ran.append(o.name))
    assert ran == ["002"] and run.counts == {"pass": 4}


def test_fail_fast_stops_at_the_first_failure(toy, tmp_path):
    corpus = load_corpus(toy)
    run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    _shift(toy, ["sample1", "001", "002", "003"])
    corpus = load_corpus(toy)
    journal = Journal(tmp_path / "j.jsonl")
    run = stream_gate(corpus, GateOptions(goldens=corpus.goldens), executor=InProcess(), journal=journal,
                      fail_fast=True, progress=False)
    assert run.counts == {"regression": 1} and run.not_run == 3 and not run.ok
    assert [o.name for o in run.outcomes()] == ["sample1"]
    run = stream_gate(corpus, GateOptions(goldens=corpus.goldens), executor=LocalProcesses(2), journal=journal,
                      fail_fast=True, progress=False)
    assert run.failed >= 1 and run.not_run + sum(run.counts.values()) == 4 and run.not_run >= 1


@pytest.mark.parametrize("where", ["local", "dask"])
def test_a_case_over_its_timeout_is_an_error_and_the_gate_goes_on(toy, tmp_path, where):
    if where == "dask":
        pytest.importorskip("distributed")
    corpus = load_corpus(toy)
    run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    toy.write_text(toy.read_text().replace('[[case]]\nname = "001"\n', f'[[case]]\nname = "001"\npipeline = "{HERE}:slow"\n'))
    corpus = load_corpus(toy)
    ex = InProcess() if where == "local" else _dask()
    t0 = time.monotonic()
    res = run_gate(corpus, GateOptions(goldens=corpus.goldens, timeout=1.0), executor=ex, progress=False)
    assert time.monotonic() - t0 < 50
    assert [o.status for o in res] == ["pass", "error", "pass", "pass"], [o.message for o in res]
    assert res[1].message == "timed out after 1 s (--timeout)"


def test_workers_run_one_mtcnn_thread_and_goldens_are_written_by_the_coordinator(toy, tmp_path, monkeypatch):
    monkeypatch.delenv("PYPARITY_THREADS", raising=False)
    toy.write_text(toy.read_text().replace(f'"{HERE}:replay"', f'"{HERE}:threads_seen"'))
    corpus = load_corpus(toy)
    writers: list[int] = []
    from pyparity.gate import goldens

    real = goldens.save_golden

    def spy(*a, **k):
        writers.append(os.getpid())
        return real(*a, **k)

    monkeypatch.setattr(goldens, "save_golden", spy)
    res = run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), executor=LocalProcesses(2),
                   progress=False)
    assert [o.status for o in res] == ["new"] * 4, [o.message for o in res]
    assert writers == [os.getpid()] * 4  # every golden saved in this (the coordinator's) process
    g = read_trace(tmp_path / "g" / "toy" / "sample1")
    assert g.names == ["mtcnn/output/raw_boxes", "mtcnn/output/scores", "mtcnn/output/boxes"]
    assert "path" not in g.meta["input"]


def test_cli_gate_on_dask_matches_local_and_local_never_imports_dask(toy, tmp_path):
    """The CLI both ways (``--executor dask``: a LocalCluster of worker processes, each with one MTCNN
    thread); the local run in a fresh interpreter imports no dask."""
    pytest.importorskip("distributed")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    env.pop("PYPARITY_THREADS", None)  # the workers of both executors must set it (threads_seen checks)
    toy.write_text(toy.read_text().replace(f'"{HERE}:replay"', f'"{HERE}:threads_seen"'))
    cmd = [sys.executable, "-c", "import sys; from pyparity.cli.app import entry; sys.argv[0] = 'pyparity'; entry()"]

    def gate(*args):
        return subprocess.run(cmd + ["gate", str(toy), "--no-progress", *args], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=600)

    assert gate("--update", "--jobs", "2", "--results", str(tmp_path / "u.jsonl")).returncode == 0
    _shift(toy, ["001"])
    probe = [sys.executable, "-c", "import sys, runpy; sys.argv = ['pyparity'] + sys.argv[1:]; "
             "from pyparity.cli.app import entry\ntry:\n entry()\nfinally:\n assert 'dask' not in sys.modules and "
             "'distributed' not in sys.modules, 'local executor imported dask'"]
    local = subprocess.run(probe + ["gate", str(toy), "--no-progress", "--jobs", "2", "--results",
                                    str(tmp_path / "l.jsonl"), "--json", str(tmp_path / "l.json")],
                           env=env, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert local.returncode == 1 and "local executor imported dask" not in local.stderr, local.stderr
    dask = gate("--executor", "dask", "--jobs", "2", "--results", str(tmp_path / "d.jsonl"), "--json",
                str(tmp_path / "d.json"))
    assert dask.returncode == 1, dask.stderr
    assert _untimed(dask.stdout) == _untimed(local.stdout)
    assert _comparable(json.loads((tmp_path / "d.json").read_text())) == \
        _comparable(json.loads((tmp_path / "l.json").read_text()))
    bad = gate("--executor", "ray")
    assert bad.returncode == 2 and "'ray' is not one of 'local', 'dask'" in bad.stderr and "Traceback" not in bad.stderr
    bad = gate("--scheduler", "tcp://127.0.0.1:9")
    assert bad.returncode == 2 and "--scheduler 'tcp://127.0.0.1:9': a scheduler address needs the dask executor" in bad.stderr


def dies(input_path: Path, rec, model_dir) -> None:
    os._exit(3)  # a worker killed under its case (out of memory, a segfault)


def test_a_dead_worker_fails_its_case_and_the_gate_goes_on(toy, tmp_path):
    corpus = load_corpus(toy)
    run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    toy.write_text(toy.read_text().replace('[[case]]\nname = "002"\n', f'[[case]]\nname = "002"\npipeline = "{HERE}:dies"\n'))
    corpus = load_corpus(toy)
    res = run_gate(corpus, GateOptions(goldens=corpus.goldens), executor=LocalProcesses(2), progress=False)
    assert [o.status for o in res] == ["pass", "pass", "error", "pass"]
    assert "the worker running this case died (BrokenProcessPool" in res[2].message


def test_a_dead_dask_worker_fails_only_its_case_when_tasks_carry_several(toy, tmp_path):
    """A task of three cases whose worker dies is split: its cases run again one per task, and only the
    case that kills its worker is an errored case."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    from pyparity.executors.dask_cluster import DaskExecutor

    corpus = load_corpus(toy)
    run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    toy.write_text(toy.read_text().replace('[[case]]\nname = "002"\n', f'[[case]]\nname = "002"\npipeline = "{HERE}:dies"\n'))
    corpus = load_corpus(toy)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):  # no retries on other workers
        res = run_gate(corpus, GateOptions(goldens=corpus.goldens), progress=False,
                       executor=DaskExecutor(workers=2, cases_per_task=3))
    assert [o.status for o in res] == ["pass", "pass", "error", "pass"], [o.message for o in res]
    assert "the worker running this case died (KilledWorker" in res[2].message


def test_a_second_gate_on_the_same_journal_is_refused(toy, tmp_path):
    from pyparity.errors import OutputError

    corpus = load_corpus(toy)
    run_gate(corpus, GateOptions(goldens=corpus.goldens, update=True), jobs=1, progress=False)
    held = Journal(tmp_path / "j.jsonl").open(resume=False)
    try:
        with pytest.raises(OutputError, match="another process is writing this results journal"):
            stream_gate(corpus, GateOptions(goldens=corpus.goldens), jobs=1, journal=Journal(tmp_path / "j.jsonl"),
                        progress=False)
    finally:
        held.release()
    assert stream_gate(corpus, GateOptions(goldens=corpus.goldens), jobs=1, journal=Journal(tmp_path / "j.jsonl"),
                       progress=False).ok
