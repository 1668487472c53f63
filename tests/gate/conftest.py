"""Gate tests keep the gate's default results journal (``~/.cache/pyparity/gate/``) in their own folder."""

import pytest


@pytest.fixture(autouse=True)
def _journal_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
