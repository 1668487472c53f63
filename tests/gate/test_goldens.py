"""Goldens: save / load / update / refusal / locking / producer version, on real reference-dump arrays."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pyparity.errors import InputError, TraceError
from pyparity.gate.goldens import (GOLDEN_FORMAT, list_goldens, load_golden, producer_meta, read_golden_meta,
                                    save_golden)
from pyparity.trace import Trace, read_trace


@pytest.fixture(scope="module")
def run_trace(openface_dumps):
    """A 'run' made of sample1's real MTCNN stages, with pyparity as producer."""
    ref = read_trace(openface_dumps / "images" / "sample1.jpg").select(["mtcnn/**"])
    return Trace.from_arrays([(n, ref[n]) for n in ref.names], meta={"producer": producer_meta("mtcnn")})


def _perturbed(trace, stage, delta):
    arrs = []
    for n in trace.names:
        a = np.array(trace[n], copy=True)
        if n == stage:
            a.reshape(-1)[0] += delta
        arrs.append((n, a))
    return Trace.from_arrays(arrs, meta=trace.meta)


def test_save_selects_stages_and_keeps_producer(tmp_path, run_trace):
    ch = save_golden(run_trace, "mtcnn/s1", tmp_path, stages=["mtcnn/output/*", "mtcnn/onet/out"])
    assert ch.action == "created"
    g = load_golden(tmp_path, "mtcnn/s1")
    assert g.names == ["mtcnn/onet/out", "mtcnn/output/raw_boxes", "mtcnn/output/scores", "mtcnn/output/boxes"]
    np.testing.assert_array_equal(g["mtcnn/output/boxes"], run_trace["mtcnn/output/boxes"])
    assert g["mtcnn/output/boxes"].dtype == np.float32
    assert g.meta["producer"]["name"] == "pyparity"
    assert g.meta["golden"]["stages"] == ["mtcnn/output/*", "mtcnn/onet/out"]
    assert [n for n, _ in list_goldens(tmp_path)] == ["mtcnn/s1"]


def test_existing_golden_needs_update_and_update_reports_changes(tmp_path, run_trace):
    save_golden(run_trace, "g", tmp_path, stages=["mtcnn/output/*"])
    with pytest.raises(InputError, match="golden exists") as exc:
        save_golden(run_trace, "g", tmp_path, stages=["mtcnn/output/*"])
    assert exc.value.param == "update"  # the library names its parameter; the CLI says --update
    assert save_golden(run_trace, "g", tmp_path, stages=["mtcnn/output/*"], update=True).action == "unchanged"
    new = _perturbed(run_trace, "mtcnn/output/boxes", 0.25)
    ch = save_golden(new, "g", tmp_path, stages=["mtcnn/output/*", "mtcnn/onet/out"], update=True)
    assert ch.action == "updated"
    assert ch.changed == ["mtcnn/output/boxes"] and ch.added == ["mtcnn/onet/out"] and ch.removed == []
    assert "mtcnn/output/boxes" in ch.describe()
    assert load_golden(tmp_path, "g")["mtcnn/output/boxes"].reshape(-1)[0] == new["mtcnn/output/boxes"].reshape(-1)[0]


def test_update_refuses_a_run_worse_against_reference_unless_forced(tmp_path, run_trace):
    save_golden(run_trace, "g", tmp_path, score={"failing": 0, "first_divergence": None})
    worse = _perturbed(run_trace, "mtcnn/output/boxes", 1.0)
    bad = {"failing": 1, "first_divergence": "mtcnn/output/boxes"}
    ch = save_golden(worse, "g", tmp_path, update=True, score=bad)
    assert ch.action == "refused" and "force the update" in ch.message
    np.testing.assert_array_equal(load_golden(tmp_path, "g")["mtcnn/output/boxes"], run_trace["mtcnn/output/boxes"])
    assert save_golden(worse, "g", tmp_path, update=True, score=bad, force=True).action == "updated"


def test_goldens_are_checked_by_format_not_producer_and_half_written_ones_are_refused(tmp_path, run_trace):
    save_golden(run_trace, "g", tmp_path, stages=["mtcnn/output/*"])
    meta_p = tmp_path / "g" / "meta.json"
    meta = json.loads(meta_p.read_text())
    assert meta["golden"]["format"] == GOLDEN_FORMAT == 1
    # another producer, another pyparity version, a golden from before the format key: all still read
    meta["producer"] = {"name": "myport", "version": "0.0.1"}
    del meta["golden"]["format"]
    meta_p.write_text(json.dumps(meta))
    np.testing.assert_array_equal(load_golden(tmp_path, "g")["mtcnn/output/boxes"], run_trace["mtcnn/output/boxes"])
    for fmt, match in ((2, "golden format 2 is newer than this pyparity reads \\(1\\); upgrade pyparity"),
                       ("1", "golden format '1' is not a format version")):
        meta["golden"]["format"] = fmt
        meta_p.write_text(json.dumps(meta))
        with pytest.raises(TraceError, match=match):
            load_golden(tmp_path, "g")
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "meta.json").write_text("{}")
    with pytest.raises(TraceError, match="missing index.tsv"):
        read_golden_meta(tmp_path / "h")
    # an interrupted writer's hidden directory is never listed as a golden
    (tmp_path / ".x.partial-123").mkdir()
    (tmp_path / ".x.partial-123" / "meta.json").write_text("{}")
    assert "x" not in [n for n, _ in list_goldens(tmp_path)]


def test_concurrent_writer_is_refused_and_nothing_is_corrupted(tmp_path, run_trace):
    import subprocess
    import sys

    save_golden(run_trace, "g", tmp_path, stages=["mtcnn/output/*"])
    # another gate holds the golden's lock (flock, as the gate's own writer takes it) ...
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from pyparity.atomic import WriterLock\n"
                               "with WriterLock(Path(sys.argv[1]), 'golden', kind='golden'):\n"
                               "    print('held', flush=True); time.sleep(60)\n", str(tmp_path / "g")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TraceError, match="another process"):
            save_golden(_perturbed(run_trace, "mtcnn/output/boxes", 1.0), "g", tmp_path, update=True)
    finally:
        holder.kill()
        holder.wait()
    np.testing.assert_array_equal(load_golden(tmp_path, "g")["mtcnn/output/boxes"], run_trace["mtcnn/output/boxes"])
    # ... and once it is killed, its lock file (left behind) no longer blocks anyone
    assert (tmp_path / ".g.golden.lock").exists()
    save_golden(_perturbed(run_trace, "mtcnn/output/boxes", 1.0), "g", tmp_path, update=True)
    assert not (tmp_path / ".g.golden.lock").exists()


def test_bad_names_and_empty_selection(tmp_path, run_trace):
    with pytest.raises(InputError, match="golden name"):
        save_golden(run_trace, "../escape", tmp_path)
    with pytest.raises(InputError, match="no stage"):
        save_golden(run_trace, "g", tmp_path, stages=["nothing/*"])
    assert not (tmp_path / "g").exists()


def test_cli_golden_save_list_show(tmp_path, openface_dumps, capsys):
    from pyparity.cli.app import main

    root = tmp_path / "goldens"
    dump = openface_dumps / "images" / "sample1.jpg"
    assert main(["golden", "save", str(dump), "--name", "ref/s1", "--stages", "mtcnn/output/*", "--root", str(root)]) == 0
    assert main(["golden", "save", str(dump), "--name", "ref/s1", "--root", str(root)]) == 2
    assert "--update" in capsys.readouterr().err
    assert main(["golden", "list", "--root", str(root)]) == 0
    assert "ref/s1\t3 stages" in capsys.readouterr().out
    assert main(["golden", "show", "ref/s1", "--root", str(root)]) == 0
    assert "mtcnn/output" in capsys.readouterr().out
