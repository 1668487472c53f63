"""Frames pipelines (a sequence tracked frame by frame): one trace per frame, each compared with the
reference's frame dump of the same number (``frameNNNN/``), summed up in a `FramesReport`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from pyparity.app.compare import compare, resolve_policy_for
from pyparity.app.reports import ReportOptions, write_text
from pyparity.errors import InputError

FRAME = re.compile(r"frame\d{4,}")


def check_frames_folder(out: Path) -> None:
    """A frames run's output folder is replaced whole: refuse one that holds anything but frame traces."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder of frame traces; refusing to overwrite it", param="out")
    for q in out.iterdir():
        if not (q.name.startswith(".") or (FRAME.fullmatch(q.name) and (q / "index.tsv").is_file())):
            raise InputError(f"{out}: holds {q.name!r}, not only frame traces; refusing to overwrite it", param="out")


def _key_error(spec, ref, trace) -> tuple[str, float] | None:
    """The max abs difference of the spec's first key output present on both sides."""
    for name in spec.key_outputs:
        if name in ref and name in trace:
            d = np.abs(np.asarray(ref[name], np.float64) - np.asarray(trace[name], np.float64))
            return name, float(d.max()) if d.size else 0.0
    return None


def run_frames_and_diff(spec, source, options, *, reference=None, start=None, out=None,
                        reports: ReportOptions = ReportOptions(), on_frame=None):
    from pyparity.app.meta import run_meta
    from pyparity.app.spec import RunContext, RunOutcome
    from pyparity.atomic import AtomicDir
    from pyparity.diff.report import FrameDiff, FramesReport
    from pyparity.trace import Recorder, read_trace

    options = options if options is not None else spec.options()
    ref_dir = Path(reference) if reference is not None else None
    if ref_dir is not None and not ref_dir.is_dir():
        raise InputError(f"{ref_dir}: no such folder of reference frame dumps", param="reference")
    if out is not None:
        check_frames_folder(Path(out))
    ctx = RunContext(Path(source), options, None, start, ref_dir)
    meta = run_meta(spec, ctx)
    policy = (resolve_policy_for(reports.policy, default=spec.default_policy(meta["producer"]))
              if ref_dir is not None else None)
    frames_dir = AtomicDir(out, what="folder of frame traces") if out is not None else None

    def recorder_for(i: int, name: str):
        m = {**meta, "input": {"file": name}}
        return Recorder(frames_dir.tmp / f"frame{i:04d}", meta=m) if frames_dir is not None else Recorder(meta=m)

    ctx.rec = recorder_for
    outcome = RunOutcome(spec, None, out=Path(out) if out is not None else None)
    rows, report, kept = [], FramesReport(), {}
    try:
        for i, (name, result, trace) in enumerate(spec.run(ctx)):
            row = {"frame": f"frame{i:04d}", "input": name,
                   **(spec.frame_fields(result) if spec.frame_fields is not None else {})}
            if ref_dir is not None:
                fd = FrameDiff(row["frame"], name)
                if (ref_dir / row["frame"]).is_dir():
                    ref = read_trace(ref_dir / row["frame"])
                    fd.report = compare(ref, trace, reports, scope=spec.scope(trace, options), policy=policy)
                    key = _key_error(spec, ref, trace)
                    if key is not None:
                        row["key_output"], row["key_max_abs"] = key
                    row["first_divergence"] = fd.report.first_divergence
                    if fd.report.nothing_compared:
                        row["nothing_compared"] = fd.report.nothing_compared
                    if not kept or (kept["report"].ok and not fd.report.ok):
                        kept = {"report": fd.report, "reference": ref, "trace": trace}
                row["status"] = fd.status
                report.frames.append(fd)
            rows.append(row)
            if on_frame is not None:
                on_frame(_frame_line(row, name))
        if frames_dir is not None:
            frames_dir.commit()
    except BaseException:
        if frames_dir is not None:
            frames_dir.abort()
        raise
    outcome.frames = len(rows)
    if ref_dir is None:
        return outcome
    run = {r["frame"] for r in rows}
    if getattr(options, "max_frames", None) is None:
        report.reference_only = sorted(q.name for q in ref_dir.iterdir() if FRAME.fullmatch(q.name) and q.name not in run)
    outcome.report = report
    worst = [r for r in rows if "key_max_abs" in r]
    line = report.summary_line()
    if worst:
        w = max(worst, key=lambda r: r["key_max_abs"])
        line += f"; worst {w['key_output']} max abs {w['key_max_abs']:.6f}"
    outcome.notes.append(line)
    _write(report, rows, reports, kept)
    return outcome


def _frame_line(row: dict, name: str) -> str:
    label = row["frame"] if name == row["frame"] else f"{row['frame']} {name}"
    parts = [label + ": " + ", ".join(f"{k} {v}" for k, v in row.items()
                                       if k not in ("frame", "input", "status", "first_divergence", "nothing_compared",
                                                    "key_output", "key_max_abs"))]
    if "status" in row:
        parts.append(row["status"])
    if "key_max_abs" in row:
        parts.append(f"{row['key_output']} max abs {row['key_max_abs']:.6f}")
    if row.get("first_divergence"):
        parts.append(f"first divergence {row['first_divergence']}")
    return ", ".join(p for p in parts if p) + (f" ({row['nothing_compared']})" if row.get("nothing_compared") else "")


def _write(report, rows: list[dict], reports: ReportOptions, kept: dict) -> None:
    if reports.json is not None:
        doc = {"frames": rows, "diverged": report.count("diverged"), "ok": report.ok,
               "nothing_compared": report.nothing_compared or None, "no_reference": report.count("no-reference"),
               "reference_only": report.reference_only}
        write_text(reports.json, json.dumps(doc, indent=1, allow_nan=False) + "\n")
    if reports.junit is not None:
        from pyparity.render.junit import write_junit

        write_junit([(f.frame, f.report) for f in report.frames if f.report is not None], reports.junit)
    if reports.html is not None and kept:
        from pyparity.render.html import write_html

        write_html(kept["report"], reports.html, reference=kept["reference"], candidate=kept["trace"],
                   title=f"{kept['trace'].meta.get('input', {}).get('file', '')}: first diverged frame"
                   if not kept["report"].ok else None)
    if reports.github and kept:
        from pyparity.render.github import write_github

        # the first diverged frame (else the first compared): its annotations and summary
        write_github(kept["report"], title="pyparity sequence", elapsed=reports.elapsed())
