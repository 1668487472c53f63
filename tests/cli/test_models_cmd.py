"""`pyparity models ...` through typer's CliRunner on a standalone app holding the models sub-app:
exit codes, one-line errors (never a traceback), nothing half-written."""

from __future__ import annotations

import dataclasses

import pytest
import typer
from typer.testing import CliRunner

from pyparity.cli.models_cmd import models_app
from pyparity.models import manager
from pyparity.models.manifest import load_manifest

app = typer.Typer()
app.add_typer(models_app, name="models")
runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("PYPARITY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PYPARITY_MODEL_DIR", raising=False)
    monkeypatch.delenv("PYPARITY_MANIFEST", raising=False)
    manager._clear_process_caches()
    yield
    manager._clear_process_caches()


def run(*args: str):
    r = runner.invoke(app, ["models", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r


def test_fetch_verify_path_list(openface_model_dir):
    r = run("fetch", "--from", str(openface_model_dir), "--only", "mtcnn_detector/*")
    assert r.exit_code == 2
    assert "not accepted" in r.output and "Full licence: https://github.com/TadasBaltrusaitis/OpenFace" in r.output
    assert not (manager.cache_root() / "openface-2.2.0").exists()

    r = run("fetch", "--from", str(openface_model_dir), "--only", "mtcnn_detector/*", "--accept-license")
    assert r.exit_code == 0, r.output
    assert "4 file(s) installed (4 from the mirror, 0 downloaded)" in r.output
    r = run("fetch", "--from", str(openface_model_dir), "--only", "mtcnn_detector/*")
    assert r.exit_code == 0 and "4 already present" in r.output

    r = run("verify", "--only", "mtcnn_detector/*")
    assert r.exit_code == 0 and "4 model file(s) ok" in r.output
    r = run("verify")                       # the rest of the OpenFace folder was never fetched
    assert r.exit_code == 1 and "openface/tris_68.txt: missing" in r.output

    r = run("path", "mtcnn_detector/PNet.dat")
    assert r.exit_code == 0
    assert r.output.strip().endswith("openface-2.2.0/model/mtcnn_detector/PNet.dat")
    r = run("path")
    assert r.exit_code == 2 and "run `pyparity models fetch`" in r.output

    r = run("list")
    assert r.exit_code == 0
    assert "openface/mtcnn_detector/PNet.dat" in r.output and "not fetched" in r.output
    assert "unpinned" in r.output


def test_corrupt_file_exits_1_naming_it(openface_model_dir):
    assert run("fetch", "--from", str(openface_model_dir), "--only", "haarAlign.txt", "--accept-license").exit_code == 0
    p = manager.cache_root() / "openface-2.2.0" / "model" / "haarAlign.txt"
    p.write_bytes(p.read_bytes() + b"x")
    r = run("verify", "--only", "haarAlign.txt")
    assert r.exit_code == 1
    assert "openface/haarAlign.txt: size mismatch" in r.output


def test_unreachable_url_is_one_line_exit_2(monkeypatch):
    m = load_manifest()
    moved = dataclasses.replace(m, files=tuple(
        dataclasses.replace(f, urls=("http://127.0.0.1:9/" + f.path,)) for f in m.files))
    monkeypatch.setattr(manager, "manifest", lambda path=None: moved)
    r = run("fetch", "--only", "haarAlign.txt", "--accept-license")
    assert r.exit_code == 2
    errors = [ln for ln in r.output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "cannot download" in errors[0] and "127.0.0.1:9" in errors[0]
    assert "Traceback" not in r.output
    installed = [q for q in manager.cache_root().rglob("*") if q.is_file() and q.parent.name != "licences"]
    assert installed == []


def test_unknown_selection_exit_2():
    r = run("fetch", "--only", "nope/*", "--accept-license")
    assert r.exit_code == 2 and "no model file matches 'nope/*'" in r.output
