"""The gate's results journal: one JSON line per finished case, appended as cases finish, so the
coordinator holds no outcome in memory and a stopped gate can be resumed (``--resume``).

A journal line is ``{"case": NAME, "key": KEY, "outcome": {...}}``. `case_key` says when a stored result is
**current**, i.e. when rerunning the case would reproduce it: the same case spec (name, pipeline, golden,
input and reference paths, policies, golden stages), the same input file and reference dump (size and
modification time of each file the case reads: the input, the reference's index.tsv / arrays.npz /
meta.json, the golden's), the same pyparity version, the same policy files (their bytes' sha256), and the
same gate options that change a verdict (model folder, injected regressions, --policy/--stage). A case
that errored is never current (a crash or a timeout may not recur).

Without ``--resume`` a run starts an empty journal; with it, it appends, and the last line of a case
wins. At the end the journal is rewritten (atomically) in corpus order, one line per case; the JSON,
JUnit and summary reports are streamed from it. A torn last line (a killed gate) is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Iterator

JOURNAL_VERSION = 1


def default_journal(corpus_path: Path) -> Path:
    """Where a corpus's journal lives unless ``--results`` says: the user's cache folder, one file per
    spec path (no file appears in the checkout); the temporary folder where there is no writable home."""
    import tempfile

    spec = Path(corpus_path).resolve()
    name = f"{spec.stem}-{hashlib.sha256(str(spec).encode()).hexdigest()[:12]}.jsonl"
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pyparity" / "gate"
        base.mkdir(parents=True, exist_ok=True)
        if os.access(base, os.W_OK):
            return base / name
    except (OSError, RuntimeError):  # RuntimeError: no home directory to expand
        pass
    return Path(tempfile.gettempdir()) / f"pyparity-gate-{os.getuid() if hasattr(os, 'getuid') else 'user'}" / name


def _stat(path: Path | None) -> list:
    if path is None:
        return []
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns]


def _policy_digest(ref: str | None) -> str | None:
    from pyparity.diff.policy_names import BUILTIN_POLICY_DIR, spelled_as_path

    if ref is None:
        return None
    p = Path(ref) if spelled_as_path(ref) else BUILTIN_POLICY_DIR / f"{ref}.toml"
    try:
        return hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError:
        return f"unreadable:{p}"


def _dump_files(folder: Path | None) -> list:
    if folder is None:
        return []
    return [_stat(folder / f) for f in ("index.tsv", "arrays.npz", "meta.json")]


def case_key(case, opts) -> str:
    """A digest of everything a case's verdict depends on (module docstring)."""
    import pyparity
    from pyparity.gate.goldens import golden_dir

    spec = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(case).items()}
    parts = {
        "journal": JOURNAL_VERSION,
        "pyparity": pyparity.__version__,
        "case": spec,
        "input": _stat(case.input),
        "reference": _dump_files(case.reference),
        "golden": _dump_files(golden_dir(opts.goldens, case.golden)),
        "policies": [_policy_digest(case.policy), _policy_digest(case.golden_policy)],
        "options": {"model_dir": str(opts.model_dir) if opts.model_dir else None, "inject": list(opts.inject),
                    "update": opts.update, "force": opts.force, "html": str(opts.html_dir) if opts.html_dir else None,
                    **_report_options(opts)},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _report_options(opts) -> dict:
    reports = getattr(opts, "reports", None)  # --policy / --stage, where the gate has them
    if reports is None:
        return {}
    return {"policy": [str(reports.policy), _policy_digest(str(reports.policy)) if reports.policy else None],
            "stages": list(reports.stages or ())}


def outcome_line(outcome, key: str) -> str:
    d = outcome.to_dict()
    d["junit"] = list(outcome.junit)
    return json.dumps({"case": outcome.name, "key": key, "outcome": d}, separators=(",", ":")) + "\n"


def _lines(path: Path) -> Iterator[tuple[int, dict]]:
    """(byte offset, record) for every complete, readable line."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return
    with f:
        while True:
            pos = f.tell()
            raw = f.readline()
            if not raw:
                return
            if not raw.endswith(b"\n"):
                return  # torn last line
            try:
                rec = json.loads(raw)
            except ValueError:
                continue
            if isinstance(rec, dict) and isinstance(rec.get("case"), str) and isinstance(rec.get("outcome"), dict):
                yield pos, rec


class Journal:
    """The results of one gate run, on disk (module docstring). ``decode`` turns a stored outcome back
    into the caller's object (the gate: `outcome.CaseOutcome.from_dict`)."""

    def __init__(self, path: Path, decode=None):
        self.path = Path(path)
        self.decode = decode or (lambda d: d)
        self._f = None
        self._lock = None

    def previous_keys(self, never_current: Iterable[str] = ("error",)) -> dict[str, str]:
        """case -> key of its last stored result whose status is not one of ``never_current`` (what
        ``--resume`` may reuse)."""
        never = set(never_current)
        keys: dict[str, str] = {}
        for _, rec in _lines(self.path):
            if rec["outcome"].get("status") in never:
                keys.pop(rec["case"], None)
            else:
                keys[rec["case"]] = rec.get("key", "")
        return keys

    def open(self, resume: bool) -> "Journal":
        from pyparity.atomic import _ensure_parent, output_error, write_text_atomic

        from pyparity.atomic import WriterLock

        _ensure_parent(self.path)
        # two gates appending to one journal would interleave their results: the second is refused
        self._lock = WriterLock(self.path, "results journal", kind="journal")
        self._lock.acquire()
        if not resume:
            write_text_atomic(self.path, "")
        try:
            self._f = open(self.path, "a", encoding="utf-8")
        except OSError as exc:
            raise output_error(self.path, exc, "the gate's results journal") from None
        return self

    def append(self, outcome, key: str) -> None:
        self._f.write(outcome_line(outcome, key))
        self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def release(self) -> None:
        self.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def finish(self, names: Iterable[str]) -> None:
        """Rewrite the journal with each case's last line, in the order of ``names`` (cases with no
        result, e.g. after --fail-fast, are left out); only the offsets are held in memory."""
        from pyparity.atomic import atomic_path

        self.close()
        try:
            last: dict[str, int] = {}
            for pos, rec in _lines(self.path):
                last[rec["case"]] = pos
            with atomic_path(self.path) as tmp, open(self.path, "rb") as src, open(tmp, "wb") as dst:
                for n in names:
                    if n in last:
                        src.seek(last[n])
                        dst.write(src.readline())
        finally:
            self.release()

    def records(self) -> Iterator[dict]:
        """Every stored line, in file order (after `finish`: corpus order, one per case)."""
        for _, rec in _lines(self.path):
            yield rec

    def outcomes(self) -> Iterator:
        for rec in self.records():
            yield self.decode(rec["outcome"])
