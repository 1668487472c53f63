"""Frames pipelines (FeatureExtraction's tracking, ``pyparity run openface-sequence``): a trace per frame
and one for the end of the video, each diffed with the reference's dump of the same name (``frameNNNN/``,
``video/``), a line per frame, the summary and the JSON report. `run_and_diff` comes here for a spec
with ``frames``; the front-ends parse, call that, and print."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

from pyparity.app.compare import resolve_policy_for
from pyparity.app.reports import ReportOptions
from pyparity.errors import InputError

FRAME = re.compile(r"frame\d{4,}")


def check_frames_folder(out: Path) -> None:
    """A frames run's output folder is replaced whole: refuse one that holds anything but frame traces."""
    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder of frame traces; refusing to overwrite it", param="out")
    for q in out.iterdir():
        if not (q.name.startswith(".") or ((FRAME.fullmatch(q.name) or q.name == "video")
                                           and (q / "index.tsv").is_file())):
            raise InputError(f"{out}: holds {q.name!r}, not only frame traces; refusing to overwrite it", param="out")


def run_frames_and_diff(spec, source, options=None, *, reference=None, start=None, out=None,
                        reports: ReportOptions = ReportOptions(),
                        on_frame: Callable[[str], None] | None = None):
    """Run the frames pipeline ``spec`` over ``source`` (an image folder or a video): a trace per frame
    (under ``out``: frame0000/, ..., and video/ for the end-of-video AU post-processing), each diffed with
    the ``reference`` folder's dump of the same name; one line per frame to ``on_frame``; the JSON report
    as ``reports`` asks. Returns a `RunOutcome` (exit code 0: parity or nothing asked, 1: a divergence)."""
    import numpy as np

    from pyparity.app.reports import write_text
    from pyparity.app.spec import RunContext, RunOutcome
    from pyparity.atomic import AtomicDir
    from pyparity.diff import diff_traces
    from pyparity.diff.report import FrameDiff, FramesReport
    from pyparity.pipelines.openface.sequence import VIDEO_DUMP
    from pyparity.trace import Recorder, read_trace

    on_line = on_frame if on_frame is not None else (lambda line: None)
    options = options if options is not None else spec.options()
    diff = Path(reference) if reference is not None else None
    max_frames = getattr(options, "max_frames", None)
    if diff is not None and not diff.is_dir():
        raise InputError(f"{diff}: no such folder of reference frame dumps", param="reference")
    ctx = RunContext(Path(source), options, None, start, diff)
    producer = spec.producer_meta(options)  # the input block is each frame's (a video is not read twice)
    pol = resolve_policy_for(reports.policy, default=spec.default_policy(producer)) if diff is not None else None
    frames_dir = None
    if out is not None:
        check_frames_folder(Path(out))
        frames_dir = AtomicDir(out, what="folder of frame traces")  # renamed into place when the run ends

    def dump_name(i, name):
        return VIDEO_DUMP if name == VIDEO_DUMP else f"frame{i:04d}"

    def recorder_for(i, name):
        # as the reference's: the end-of-video dump names the video it came from ("" for an image folder)
        video_file = "" if Path(source).is_dir() else Path(source).name
        m = {"producer": producer, "input": {"file": video_file if name == VIDEO_DUMP else name}}
        return Recorder(frames_dir.tmp / dump_name(i, name), meta=m) if out is not None else Recorder(meta=m)

    ctx.rec = recorder_for
    rows, report, video, kept = [], FramesReport(), None, {}
    try:
        for i, (name, face, trace) in enumerate(spec.run(ctx)):
            if name == VIDEO_DUMP:
                video = _video_row(trace, diff, pol, max_frames, Path(source).is_dir(), face)
                on_line(video["line"] + (_reinit_margin_text(video) if "smallest_reinit_margin" in video else ""))
                continue
            row = {"frame": f"frame{i:04d}", "input": name,
                   "success": None if face is None else int(face.detection_success)}
            if face is not None and face.aus is not None:
                row["aus_present"] = [n for n, v in zip(face.aus.class_names, face.aus.presence) if v == 1]
                if face.aus.success:
                    row["smallest_presence_margin"] = list(face.aus.smallest_margin())
            if diff is not None:
                fd = FrameDiff(row["frame"], name)
                ref_dir = Path(diff) / row["frame"]
                if ref_dir.is_dir():
                    ref = read_trace(ref_dir)
                    fd.report = diff_traces(trace, ref, policy=pol, stages=spec.scope(trace, options))
                    name_lm = "face00/output/landmarks_stacked"
                    if name_lm in ref and name_lm in trace:
                        row["landmarks_max_abs"] = float(np.abs(np.asarray(ref[name_lm], np.float64)
                                                                - np.asarray(trace[name_lm], np.float64)).max())
                    row["first_divergence"] = fd.report.first_divergence
                    row.update(_compared(fd.report))
                    if fd.report.nothing_compared:
                        row["nothing_compared"] = fd.report.nothing_compared
                    if not kept or (kept["report"].ok and not fd.report.ok):
                        kept = {"report": fd.report, "reference": ref, "trace": trace}
                row["status"] = fd.status
                report.frames.append(fd)
            rows.append(row)
            lm = row.get("landmarks_max_abs")
            label = row["frame"] if name == row["frame"] else f"{row['frame']} {name}"
            on_line(f"{label}: success {row['success']}"
                    + (f", AUs {' '.join(row['aus_present']) or '-'}" if "aus_present" in row else "")
                    + (f", {row['status']}" if "status" in row else "")
                    + (f", landmarks max abs {lm:.6f} px" if lm is not None else "")
                    + (_compared_text(row) if "stages_compared" in row else "")
                    + (f", first divergence {row['first_divergence']}" if row.get("first_divergence") else "")
                    + (f" ({row['nothing_compared']})" if row.get("nothing_compared") else ""))
        if frames_dir is not None:
            frames_dir.commit()
    except BaseException:
        if frames_dir is not None:
            frames_dir.abort()
        raise
    outcome = RunOutcome(spec, None, out=Path(out) if out is not None else None, frames=len(rows))
    margins = [(abs(r["smallest_presence_margin"][1]), r) for r in rows if "smallest_presence_margin" in r]
    if margins:
        r = min(margins, key=lambda m: m[0])[1]
        name, value = r["smallest_presence_margin"]
        outcome.notes.append(f"smallest presence margin {value:+.3g} ({name}, {r['frame']})")
    if diff is not None:
        run = {r["frame"] for r in rows}
        report.reference_only = sorted(q.name for q in diff.iterdir()
                                       if FRAME.fullmatch(q.name) and q.name not in run and max_frames is None)
        worst = max((r.get("landmarks_max_abs", 0.0) for r in rows), default=0.0)
        with_aus = sum(1 for r in rows if r.get("au_stages_compared"))
        outcome.notes.append(f"{report.summary_line()}; AU stages compared in {with_aus}/{len(rows)} frames"
                             f"; worst face00/output/landmarks_stacked max abs {worst:.6f} px"
                             + (f"; video {video['status']}" if video is not None and "status" in video else ""))
        outcome.report = report
        outcome.also_ok = video is None or video.get("ok", True)
    if reports.json is not None:
        doc = {"frames": rows, "diverged": report.count("diverged") if diff is not None else 0}
        if video is not None:
            doc["video"] = {k: v for k, v in video.items() if k != "line"}
        if diff is not None:
            doc.update(ok=report.ok, nothing_compared=report.nothing_compared or None,
                       no_reference=report.count("no-reference"), reference_only=report.reference_only)
        write_text(reports.json, json.dumps(doc, indent=1) + "\n")
    _write_frame_reports(report, reports, kept)
    return outcome


def _write_frame_reports(report, reports: ReportOptions, kept: dict) -> None:
    """JUnit (a case per compared frame), and the HTML and GitHub reports of the first diverged frame
    (else the first compared)."""
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

        write_github(kept["report"], title="pyparity sequence", elapsed=reports.elapsed())


def _video_row(trace, diff, pol, max_frames, from_folder: bool, final=None) -> dict:
    """The end-of-video trace (`video/au/...`) and its diff with the reference's `video` dump, unless
    --max-frames cut the run short (the reference's post-processing saw every frame). final: the
    VideoAus, whose re-predicted presences (those the CSV's vote counts) have their smallest margin."""
    from pyparity.diff import diff_traces
    from pyparity.diff.report import FrameDiff
    from pyparity.pipelines.openface.sequence import end_of_video_stages
    from pyparity.trace import read_trace

    row: dict = {"frame": "video", "line": "video: end-of-video AU post-processing"}
    smallest = final.smallest_reinit_margin() if final is not None else None
    if smallest is not None:
        name, frame, value = smallest
        row["smallest_reinit_margin"] = [name, f"frame{frame:04d}", value]
    if diff is None:
        return row
    if max_frames is not None:
        row["line"] += " not compared (--max-frames: the reference's post-processing saw every frame)"
        return row
    fd, note = FrameDiff("video", "end of video"), ""
    if (Path(diff) / "video").is_dir():
        ref = read_trace(Path(diff) / "video")
        stages, note = end_of_video_stages(ref, from_folder)
        fd.report = diff_traces(trace, ref, policy=pol, stages=stages)
        row["first_divergence"] = fd.report.first_divergence
        row.update(_compared(fd.report))
    row.update(status=fd.status, ok=fd.report is None or fd.report.ok)
    row["line"] = ", ".join(p for p in (f"video: {fd.status}", row.get("first_divergence") and
                                        f"first divergence {row['first_divergence']}", note) if p)
    if "stages_compared" in row:
        row["line"] += _compared_text(row)
    return row


def _reinit_margin_text(row: dict) -> str:
    name, frame, value = row["smallest_reinit_margin"]
    return f", smallest re-predicted presence margin {value:+.3g} ({name}, {frame})"


def _compared(report) -> dict:
    """What a frame's diff compared: stages, AU stages among them, and reference stages the run never
    recorded (they do not fail a diff, so a run without AUs says so here instead of passing silently)."""
    from pyparity.diff.compare import IGNORED, ONLY_IN_A, ONLY_IN_B

    compared = [s.name for s in report.stages if s.status not in (ONLY_IN_A, ONLY_IN_B, IGNORED)]
    return {"stages_compared": len(compared),
            "au_stages_compared": sum(1 for n in compared if "/au/" in n),
            "only_in_reference": sum(1 for s in report.stages if s.status == ONLY_IN_A)}


def _compared_text(row: dict) -> str:
    n, missing = row["stages_compared"], row["only_in_reference"]
    return (f", {n} stage{'' if n == 1 else 's'} compared ({row['au_stages_compared']} AU)"
            + (f", {missing} only in the reference" if missing else ""))
