"""The command as a package's command: --version, python -m pyparity, shell completion, examples in
--help (the wheel itself is built, installed and run by scripts/wheel_check.sh in CI)."""

from __future__ import annotations

import os
import subprocess
import sys

import pyparity
from pyparity.cli.app import main


def _run(args, tmp_path, **env):
    # from a folder outside the checkout: nothing may depend on the working directory
    return subprocess.run([sys.executable, "-m", "pyparity", *args], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **env}, timeout=120)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"pyparity {pyparity.__version__}\n"


def test_python_dash_m_and_completion(tmp_path):
    r = _run(["--version"], tmp_path)
    assert (r.returncode, r.stdout) == (0, f"pyparity {pyparity.__version__}\n")
    r = _run(["--show-completion", "bash"], tmp_path)
    assert r.returncode == 0 and "_pyparity_completion" in r.stdout and "_PYPARITY_COMPLETE=complete_bash" in r.stdout
    r = _run([], tmp_path, _PYPARITY_COMPLETE="complete_bash", COMP_WORDS="pyparity run open", COMP_CWORD="2")
    assert r.returncode == 0 and r.stdout.split() == ["openface-image", "openface-sequence"]


def test_help_has_examples_and_completion(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "--install-completion" in out and "--version" in out
    assert "pyparity run openface-image ../shared/openface/samples/sample1.jpg --diff" in out
    assert main(["run", "clnf", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Examples:" in out and "pyparity run clnf ../shared/openface/samples/image_sequence/001.jpg --bbox" in out
    for command in (["diff"], ["show"], ["hunt"], ["gate"], ["run", "openface-image"], ["run", "img2pose"]):
        assert main([*command, "--help"]) == 0
        assert "Examples:" in capsys.readouterr().out, command
