"""Trust (issue 14), class 6: every output appears whole or not at all. Unwritable outputs are one
line and exit 2; two writers of one trace: one wins whole, the other is refused; the path never
vanishes while a trace is replaced; SIGTERM cleans up like Ctrl-C; stale partials are removed."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.atomic import AtomicDir, write_text_atomic
from pyparity.errors import OutputError
from pyparity.trace import Recorder, read_trace

REPO = Path(__file__).resolve().parents[1]


def _trace(path: Path, value: float = 1.0) -> Path:
    with Recorder(path) as rec:
        rec.save("mtcnn/output/boxes", np.full((2, 4), value, np.float32))
    return path


def _pof_csv(path: Path) -> Path:
    rng = np.random.default_rng(1)
    rows = ["frame,joint,x,y"]
    base = rng.uniform(0.3, 0.7, (17, 2))
    for f in range(2):
        rows += [f"{f},{j},{base[j, 0] + 0.01 * f:.4f},{base[j, 1]:.4f}" for j in range(17)]
    path.write_text("\n".join(rows) + "\n")
    return path


def _outputs(tmp: Path) -> dict[str, list[str]]:
    a = _trace(tmp / "a")
    csv = _pof_csv(tmp / "k.csv")
    (tmp / "adir").mkdir()
    return {
        "--json under a file": ["diff", str(a), str(a), "--json", "/dev/null/x.json"],
        "--junit under a file": ["diff", str(a), str(a), "--junit", "/dev/null/x.xml"],
        "--html on a directory": ["diff", str(a), str(a), "--html", str(tmp / "adir")],
        "--json on a directory": ["diff", str(a), str(a), "--json", str(tmp / "adir")],
        "ingest --out under a file": ["ingest", "openface-dump", str(a), "--out", "/dev/null/t"],
        "ingest --out on a file": ["ingest", "openface-dump", str(a), "--out", str(csv)],
        "--trc under a file": ["run", "pof", str(csv), "--model", "gcn", "--synthetic", "--trc", "/dev/null/x.trc"],
        "--trc on a directory": ["run", "pof", str(csv), "--model", "gcn", "--synthetic", "--trc", str(tmp / "adir")],
        "pof --out under a file": ["run", "pof", str(csv), "--model", "gcn", "--synthetic", "--out", "/dev/null/t"],
        "golden root under a file": ["golden", "save", str(a), "--name", "g", "--root", "/dev/null/g"],
    }


@pytest.mark.parametrize("case", ["--json under a file", "--junit under a file", "--html on a directory",
                                  "--json on a directory", "ingest --out under a file", "ingest --out on a file",
                                  "--trc under a file", "--trc on a directory", "pof --out under a file",
                                  "golden root under a file"])
def test_unwritable_output_is_one_line_exit_2(tmp_path, capsys, case):
    argv = _outputs(tmp_path)[case]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing half-written left next to them


@pytest.mark.parametrize("what", ["report", "trace"])
def test_full_disk_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch, what):
    a = _trace(tmp_path / "a")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if what == "report":
        monkeypatch.setattr(os, "fsync", full)
        argv = ["diff", str(a), str(a), "--json", str(tmp_path / "r.json")]
    else:
        monkeypatch.setattr(np.lib.format, "write_array", full)
        argv = ["ingest", "openface-dump", str(a), "--out", str(tmp_path / "t")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "no space left on the device" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_second_writer_of_a_trace_is_refused_and_the_first_wins_whole(tmp_path):
    path = _trace(tmp_path / "t", 0.0)
    first = Recorder(path)
    first.save("stage", np.ones(3))
    with pytest.raises(OutputError, match="another process is writing this trace"):
        Recorder(path)
    assert read_trace(path).names == ["mtcnn/output/boxes"]  # the old trace is intact meanwhile
    first.finish()
    assert read_trace(path).names == ["stage"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]  # lock and partial gone
    Recorder(path).abort()  # the lock was released: a new writer may start


def test_second_writer_in_another_process_gets_a_clear_error(tmp_path):
    path = tmp_path / "t"
    holder = Recorder(path)
    holder.save("x", np.ones(2))
    code = ("import sys, numpy as np; from pyparity.cli.app import main; "
            f"sys.exit(main(['ingest', 'openface-dump', {str(_trace(tmp_path / 'src'))!r}, '--out', {str(path)!r}]))")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "another process is writing this trace" in r.stderr
    holder.finish()
    assert read_trace(path).names == ["x"]


def test_replacing_a_trace_never_lets_the_path_vanish(tmp_path):
    path = _trace(tmp_path / "t", 0.0)
    seen_missing = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            if not (path / "index.tsv").exists():
                seen_missing.append(True)

    w = threading.Thread(target=watch)
    w.start()
    try:
        for i in range(60):
            _trace(path, float(i))
    finally:
        stop.set()
        w.join()
    assert not seen_missing
    assert float(read_trace(path)["mtcnn/output/boxes"][0, 0]) == 59.0


def test_stale_partials_of_killed_writers_are_removed(tmp_path):
    for name in (".t.partial-dead1", ".t.old-dead2", ".other.partial-keep"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "arrays.npz").write_bytes(b"junk")
    _trace(tmp_path / "t")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.partial-keep", "t"]


SIGTERM_CHILD = """
import sys, time, numpy as np
from pyparity.cli.common import terminate_like_interrupt
from pyparity.trace import Recorder
terminate_like_interrupt()
try:
    with Recorder(sys.argv[1]) as rec:
        rec.save("a", np.ones(3))
        print("recording", flush=True)
        time.sleep(60)
except SystemExit as e:
    sys.exit(e.code)
"""


def test_sigterm_cleans_up_like_ctrl_c(tmp_path):
    old = _trace(tmp_path / "t", 7.0)
    p = subprocess.Popen([sys.executable, "-c", SIGTERM_CHILD, str(old)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "recording"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=60) == 128 + signal.SIGTERM
    assert sorted(x.name for x in tmp_path.iterdir()) == ["t"]  # no partial, no lock
    assert float(read_trace(old)["mtcnn/output/boxes"][0, 0]) == 7.0  # the old trace intact


def test_cli_installs_the_sigterm_handler():
    previous = signal.getsignal(signal.SIGTERM)
    try:
        main(["--help"])
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, previous)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_atomic_text_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "r.json"
    write_text_atomic(p, "old")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(p, "new")
    assert p.read_text() == "old" and [x.name for x in tmp_path.iterdir()] == ["r.json"]


def test_atomic_dir_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is not a directory"):
        AtomicDir(tmp_path / "f" / "sub")


def _fake_sequence(monkeypatch, n_frames: int, fail_at: int | None = None):
    import pyparity.app.specs.openface as ro
    from pyparity.errors import InputError
    from pyparity.pipelines.openface import sequence

    def run_sequence(frames, models, recorder_for, level, max_frames, reference_for=None):
        for i in range(n_frames):
            if i == fail_at:
                raise InputError(f"{i:03d}.jpg: truncated or corrupt JPEG")
            rec = recorder_for(i, f"{i:03d}.jpg")
            rec.save("face00/output/landmarks_stacked", np.full((4, 1), i, np.float32))
            yield f"{i:03d}.jpg", None, rec.finish()

    monkeypatch.setattr(ro, "load_models", lambda model_dir, **options: None)
    monkeypatch.setattr(sequence, "frames_of", lambda source: iter(()))
    monkeypatch.setattr(sequence, "run_sequence", run_sequence)


def test_sequence_frame_folder_has_no_stale_frames(tmp_path, monkeypatch):
    out = tmp_path / "frames"
    _fake_sequence(monkeypatch, 4)
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [f"frame{i:04d}" for i in range(4)]
    _fake_sequence(monkeypatch, 2)
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["frame0000", "frame0001"]  # frames 2, 3 of the old run gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_failed_sequence_leaves_no_empty_folder_and_keeps_the_old_one(tmp_path, monkeypatch, capsys):
    out = tmp_path / "frames"
    _fake_sequence(monkeypatch, 3, fail_at=1)
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(out)]) == 2
    assert "truncated" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == []
    _fake_sequence(monkeypatch, 1)
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(out)]) == 0
    _fake_sequence(monkeypatch, 3, fail_at=2)
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(out)]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["frame0000"]  # the previous complete run, untouched


def test_sequence_refuses_to_replace_a_folder_that_is_not_frames(tmp_path, monkeypatch, capsys):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    _fake_sequence(monkeypatch, 1)
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(out)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"
