"""The shared data folder is found through an option or $PYPARITY_SHARED, never next to the installed
package; without either, one line says how to give it."""

from __future__ import annotations

import pytest

from pyparity.errors import InputError
from pyparity.shared import shared_dir, shared_dir_or_none


def test_explicit_path_wins_over_the_variable(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.setenv("PYPARITY_SHARED", str(tmp_path / "a"))
    assert shared_dir() == tmp_path / "a"
    assert shared_dir(tmp_path / "b") == tmp_path / "b"
    assert shared_dir_or_none() == tmp_path / "a"


def test_neither_given_is_one_line_saying_how(monkeypatch):
    monkeypatch.delenv("PYPARITY_SHARED", raising=False)
    with pytest.raises(InputError, match=r"^the shared data folder is not given: pass --points DIR or set "
                                         r"PYPARITY_SHARED \(e\.g\. export PYPARITY_SHARED=\$PWD/\.\./shared\)$"):
        shared_dir(option="--points DIR")
    with pytest.raises(InputError, match=r"^the shared data folder is not given: set PYPARITY_SHARED"):
        shared_dir(option=None)
    assert shared_dir_or_none() is None


def test_a_folder_that_does_not_exist_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("PYPARITY_SHARED", str(tmp_path / "nope"))
    with pytest.raises(InputError, match=f"^PYPARITY_SHARED={tmp_path / 'nope'}: the shared data folder does not exist$"):
        shared_dir()
    with pytest.raises(InputError, match="^x/y: the shared data folder does not exist$"):
        shared_dir("x/y")
    assert shared_dir_or_none() is None


def test_run_img2pose_without_points_or_shared_is_one_line_exit_2(monkeypatch, capsys, samples_dir):
    from pyparity.cli.app import main

    monkeypatch.delenv("PYPARITY_SHARED")
    code = main(["run", "img2pose", str(samples_dir / "sample1.jpg"), "--synthetic"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.endswith("the shared data folder is not given: pass --points DIR or set PYPARITY_SHARED (e.g. export "
                        "PYPARITY_SHARED=$PWD/../shared)") and "\n" not in err


def test_a_probes_shared_placeholder_from_the_option_or_the_variable(tmp_path, monkeypatch):
    from pyparity.probe import load_probe
    from pyparity.probe.run import Inputs

    probe = load_probe("pyclnf-0.4.1")  # its setup names $shared/openface/synthetic_cen
    monkeypatch.delenv("PYPARITY_SHARED", raising=False)
    with pytest.raises(InputError, match="^the shared data folder is not given: set PYPARITY_SHARED"):
        Inputs(probe, tmp_path / "x.jpg", None, None, None).resolve("$shared/openface", "setup_kwargs")
    assert Inputs(probe, tmp_path / "x.jpg", None, None, tmp_path).resolve("$shared/openface", "k") == f"{tmp_path}/openface"
