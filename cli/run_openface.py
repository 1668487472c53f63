"""`pyparity run openface-image IMAGE`, `pyparity run openface-sequence DIR_OR_VIDEO` and
`pyparity run clnf IMAGE --bbox x,y,w,h`: OpenFace's FaceLandmarkImg / FeatureExtraction flows and a
CLNF fit from a given box, each recording its trace and optionally diffing it with a reference dump."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

POLICY = "openface"


def _models(model_dir, backend="ccnf", cen_dir=None, early_term=None, aus=False, au_dir=None, au_dynamic=False):
    from cli.common import checked_model_dir
    from pyparity.pipelines.openface import load_openface_models

    return load_openface_models(checked_model_dir(model_dir), backend=backend, cen_dir=cen_dir, early_term=early_term,
                                aus=aus, au_dir=checked_model_dir(au_dir, group="openface_au"), au_dynamic=au_dynamic)


def _parse_bbox(text: str):
    import math

    from pyparity.errors import InputError

    try:
        vals = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        raise InputError(f"--bbox {text!r}: expected four numbers x,y,w,h") from None
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise InputError(f"--bbox {text!r}: expected four finite numbers x,y,w,h")
    if vals[2] <= 0 or vals[3] <= 0:
        raise InputError(f"--bbox {text!r}: the box has zero or negative size")
    return vals


def _print_faces(faces) -> None:
    from pyparity.render.table import make_console

    console = make_console()
    if not faces:
        console.print("no face detected", markup=False, highlight=False)
    for i, f in enumerate(faces):
        line = (f"face{i:02d}: success {int(f.detection_success)}, certainty {float(f.detection_certainty):.4f}, "
                f"model likelihood {float(f.model_likelihood):.4f}" if f.fitted else
                f"face{i:02d}: landmarks from the reference")
        if f.aus is not None:
            name, margin = f.aus.smallest_margin()
            present = [n for n, v in zip(f.aus.presence_names, f.aus.presence) if v == 1]
            line += (f"; AUs present {' '.join(present) or '-'}, smallest presence margin {margin:+.3g} ({name})")
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def _recorder(out: Path | None, image: Path, models, command: str, level: int):
    import hashlib

    from pyparity.trace import Recorder

    meta = {"producer": {"name": "pyparity", "command": command, "dump_level": level},
            "parameters": {"model": models.backend}}
    if models.au is not None:
        # as the AU reference dumps' meta.json (the CSV adapter and the report read the names here)
        meta["parameters"].update({"au_models": "AU_predictors/AU_all_static.txt (images: static models only)",
                                   "au_reg_names": list(models.au.intensity.names),
                                   "au_class_names": list(models.au.presence.names)})
        meta["models"] = models.au.sha256
    try:
        meta["input"] = {"file": image.name, "sha256": hashlib.sha256(image.read_bytes()).hexdigest()}
    except OSError:
        pass
    return Recorder(out, meta=meta) if out is not None else Recorder(meta=meta)


def _run_image(image: Path, load_models, command: str, out, diff, policy, json_out, level: int, html_out=None,
               **run_kwargs) -> int:
    """What `openface-image` and `clnf` share: read the image, load the models, run FaceLandmarkImg's flow
    with ``run_kwargs`` into a recorder (aborted on any error), print the faces, report/diff the run."""
    from cli.common import finish_run
    from pyparity.imageio import read_image_bgr
    from pyparity.pipelines.openface import run_image

    img = read_image_bgr(image)
    models = load_models()
    rec = _recorder(out, image, models, command, level)
    try:
        faces = run_image(img, models, rec=rec, level=level, **run_kwargs)
    except BaseException:
        rec.abort()
        raise
    trace = rec.finish()
    _print_faces(faces)
    return finish_run(trace, out=out, diff_against=diff, policy=policy if policy is not None else POLICY,
                      json_out=json_out, html_out=html_out)


def register(run_app: typer.Typer) -> None:
    @run_app.command("openface-image")
    def openface_image(
        image: Path = typer.Argument(..., help="image file (read as OpenFace does: 8-bit BGR)"),
        out: Optional[Path] = typer.Option(None, "--out", help="write the trace here"),
        diff: Optional[Path] = typer.Option(None, "--diff", help="reference dump to diff against"),
        policy: Optional[str] = typer.Option(None, "--policy", help="policy TOML (default: the committed openface policy)"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="write the diff report as JSON"),
        model: str = typer.Option("ccnf", "--model", help="landmark model: ccnf (main_clnf_general) or ceclm"),
        cen_dir: Optional[Path] = typer.Option(None, "--cen-dir", help="CE-CLM: folder of the CEN patch experts"),
        early_term: Optional[Path] = typer.Option(None, "--early-term", help="CE-CLM: early-termination file"),
        multi_view: bool = typer.Option(False, "--multi-view", help="try the 11 rotation hypotheses (FaceLandmarkImg -multi_view 1)"),
        from_reference: Optional[Path] = typer.Option(None, "--from-reference", help="reference dump to take early stages from"),
        start: Optional[str] = typer.Option(None, "--start", help="stage to start at: box (the reference's face boxes), "
                                            "an MTCNN stage (mtcnn/pnet/merged, mtcnn/rnet/input_boxes, "
                                            "mtcnn/onet/input_boxes), a faceNN/clnf/... stage, or au (only the "
                                            "AUs, from the reference's landmarks)"),
        level: int = typer.Option(2, "--level", min=1, max=2, help="1: leave out Jacobians, Hessians and the gray image; 2: record all"),
        model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="OpenFace model folder (default: the model manager's)"),
        no_aus: bool = typer.Option(False, "--no-aus", help="skip the action units (FaceAnalyser's faceNN/au/... stages)"),
        au_dir: Optional[Path] = typer.Option(None, "--au-dir", help="OpenFace's AU_predictors folder "
                                              "(default: the model manager's)"),
        html_out: Optional[Path] = typer.Option(None, "--html", help="with --diff: write an HTML report (aligned "
                                                "faces, HOG difference, AU intensities)"),
    ) -> None:
        """FaceLandmarkImg: MTCNN, then CLNF landmarks, validator, pose, 3D landmarks, gaze and action units for
        every face."""
        from cli.common import run_guarded, start_from_reference

        def body() -> int:
            start_from = start_from_reference(from_reference, start)
            return _run_image(image, lambda: _models(model_dir, model, cen_dir, early_term, not no_aus, au_dir),
                              "openface-image", out, diff, policy, json_out, level, html_out=html_out,
                              start_from=start_from, multi_view=multi_view)

        raise typer.Exit(run_guarded(body))

    @run_app.command("clnf")
    def clnf(
        image: Path = typer.Argument(..., help="image file (read as OpenFace does: 8-bit BGR)"),
        bbox: str = typer.Option(..., "--bbox", help="face box x,y,w,h in pixels"),
        out: Optional[Path] = typer.Option(None, "--out", help="write the trace here"),
        diff: Optional[Path] = typer.Option(None, "--diff", help="reference dump to diff against (its face00 stages)"),
        policy: Optional[str] = typer.Option(None, "--policy", help="policy TOML (default: the committed openface policy)"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="write the diff report as JSON"),
        multi_view: bool = typer.Option(False, "--multi-view", help="try the 11 rotation hypotheses"),
        level: int = typer.Option(2, "--level", min=1, max=2, help="1: leave out Jacobians, Hessians and the gray image; 2: record all"),
        model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="OpenFace model folder (default: the model manager's)"),
    ) -> None:
        """CLNF landmarks from a given face box (DetectLandmarksInImage), with validator and outputs, as face00."""
        from cli.common import run_guarded

        def body() -> int:
            box = _parse_bbox(bbox)
            return _run_image(image, lambda: _models(model_dir), "clnf", out, diff, policy, json_out, level,
                              boxes_xywh=[box], multi_view=multi_view)

        raise typer.Exit(run_guarded(body))

    @run_app.command("openface-sequence")
    def openface_sequence(
        source: Path = typer.Argument(..., help="image folder (sorted by name) or video file"),
        out: Optional[Path] = typer.Option(None, "--out", help="write one trace per frame here (frame0000/, ...)"),
        diff: Optional[Path] = typer.Option(None, "--diff", help="folder of reference frame dumps (frame0000/, ...)"),
        policy: Optional[str] = typer.Option(None, "--policy", help="policy TOML (default: the committed openface policy)"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="write the per-frame summary as JSON"),
        max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="stop after this many frames"),
        isolate: bool = typer.Option(False, "--isolate", help="with --diff: start every tracked frame from the "
                                     "reference frame's own face00/init parameters (errors do not carry over)"),
        level: int = typer.Option(1, "--level", min=1, max=2, help="1: leave out Jacobians and Hessians; 2: record all"),
        model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="OpenFace model folder (default: the model manager's)"),
        no_aus: bool = typer.Option(False, "--no-aus", help="skip the action units (face00/au/... per frame, "
                                    "video/au/... at the end)"),
        au_dir: Optional[Path] = typer.Option(None, "--au-dir", help="OpenFace's AU_predictors folder "
                                              "(default: the model manager's)"),
    ) -> None:
        """FeatureExtraction's tracking: detect on the first frame, then fit each frame from the previous one;
        action units per frame and, after the last frame, their post-processing (a `video` trace)."""
        from cli.common import run_guarded

        raise typer.Exit(run_guarded(_run_sequence, source, out, diff, policy, json_out, max_frames, level,
                                     model_dir, isolate, not no_aus, au_dir))


def _frames_folder(out: Path) -> None:
    """``--out`` of a sequence is replaced whole: refuse a folder that holds anything but frame traces."""
    import re

    from pyparity.errors import InputError

    if not out.exists():
        return
    if not out.is_dir():
        raise InputError(f"{out}: exists and is not a folder of frame traces; refusing to overwrite it")
    for q in out.iterdir():
        if not (q.name.startswith(".") or (re.fullmatch(r"frame\d{4,}|video", q.name) and (q / "index.tsv").is_file())):
            raise InputError(f"{out}: holds {q.name!r}, not only frame traces; refusing to overwrite it")


def _run_sequence(source, out, diff, policy, json_out, max_frames, level, model_dir, isolate=False, aus=False,
                  au_dir=None) -> int:
    import re

    import numpy as np

    from pyparity.atomic import AtomicDir, write_text_atomic
    from pyparity.diff import diff_traces
    from pyparity.diff.policy_names import resolve_policy
    from pyparity.diff.report import FrameDiff, FramesReport
    from pyparity.errors import InputError
    from pyparity.pipelines.openface.sequence import VIDEO_DUMP, frames_of, run_sequence
    from pyparity.render.escape import printable
    from pyparity.render.table import make_console
    from pyparity.trace import Recorder, read_trace

    if max_frames is not None and max_frames <= 0:
        raise InputError(f"--max-frames must be positive, got {max_frames}")
    if diff is not None and not Path(diff).is_dir():
        raise InputError(f"{diff}: no such folder of reference frame dumps")
    if isolate and diff is None:
        raise InputError("--isolate needs --diff (the reference frames to start from)")

    def reference_for(i):
        d = Path(diff) / f"frame{i:04d}"
        return read_trace(d) if d.is_dir() else None

    models = _models(model_dir, aus=aus, au_dir=au_dir, au_dynamic=True)
    pol = resolve_policy(POLICY if policy is None else policy) if diff is not None else None
    frames_dir = None
    if out is not None:
        _frames_folder(Path(out))
        frames_dir = AtomicDir(out, what="folder of frame traces")  # renamed into place when the run ends

    def dump_name(i, name):
        return VIDEO_DUMP if name == VIDEO_DUMP else f"frame{i:04d}"

    def recorder_for(i, name):
        # as the reference's: the end-of-video dump names the video it came from ("" for an image folder)
        video_file = "" if Path(source).is_dir() else Path(source).name
        meta = {"producer": {"name": "pyparity", "command": "openface-sequence", "dump_level": level},
                "input": {"file": video_file if name == VIDEO_DUMP else name}}
        return Recorder(frames_dir.tmp / dump_name(i, name), meta=meta) if out is not None else Recorder(meta=meta)

    console = make_console()
    rows, report, video = [], FramesReport(), None
    try:
        for i, (name, face, trace) in enumerate(run_sequence(frames_of(source), models, recorder_for, level,
                                                                    max_frames, reference_for if isolate else None)):
            if name == VIDEO_DUMP:
                video = _video_row(trace, diff, pol, max_frames, Path(source).is_dir(), face)
                console.print(printable(video["line"] + (_reinit_margin_text(video) if "smallest_reinit_margin" in video
                                                         else "")), markup=False, highlight=False)
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
                    prefixes = sorted({s.split("/")[0] for s in trace.names})
                    fd.report = diff_traces(ref, trace, policy=pol, stages=[p + "/**" for p in prefixes])
                    name_lm = "face00/output/landmarks_stacked"
                    if name_lm in ref and name_lm in trace:
                        row["landmarks_max_abs"] = float(np.abs(np.asarray(ref[name_lm], np.float64)
                                                                - np.asarray(trace[name_lm], np.float64)).max())
                    row["first_divergence"] = fd.report.first_divergence
                    row.update(_compared(fd.report))
                    if fd.report.nothing_compared:
                        row["nothing_compared"] = fd.report.nothing_compared
                row["status"] = fd.status
                report.frames.append(fd)
            rows.append(row)
            lm = row.get("landmarks_max_abs")
            label = row["frame"] if name == row["frame"] else f"{row['frame']} {name}"
            console.print(printable(f"{label}: success {row['success']}"
                                    + (f", AUs {' '.join(row['aus_present']) or '-'}" if "aus_present" in row else "")
                                    + (f", {row['status']}" if "status" in row else "")
                                    + (f", landmarks max abs {lm:.6f} px" if lm is not None else "")
                                    + (_compared_text(row) if "stages_compared" in row else "")
                                    + (f", first divergence {row['first_divergence']}" if row.get("first_divergence") else "")
                                    + (f" ({row['nothing_compared']})" if row.get("nothing_compared") else "")),
                          markup=False, highlight=False)
        if frames_dir is not None:
            frames_dir.commit()
    except BaseException:
        if frames_dir is not None:
            frames_dir.abort()
        raise
    if out is not None:
        console.print(f"traces: {out} ({len(rows)} frames)", markup=False, highlight=False)
    margins = [(abs(r["smallest_presence_margin"][1]), r) for r in rows if "smallest_presence_margin" in r]
    if margins:
        r = min(margins, key=lambda m: m[0])[1]
        name, value = r["smallest_presence_margin"]
        console.print(f"smallest presence margin {value:+.3g} ({name}, {r['frame']})", markup=False, highlight=False)
    if diff is not None:
        run = {r["frame"] for r in rows}
        report.reference_only = sorted(q.name for q in Path(diff).iterdir()
                                       if re.fullmatch(r"frame\d{4,}", q.name) and q.name not in run
                                       and max_frames is None)
        worst = max((r.get("landmarks_max_abs", 0.0) for r in rows), default=0.0)
        with_aus = sum(1 for r in rows if r.get("au_stages_compared"))
        console.print(printable(f"{report.summary_line()}; AU stages compared in {with_aus}/{len(rows)} frames"
                                f"; worst face00/output/landmarks_stacked max abs {worst:.6f} px"
                                + (f"; video {video['status']}" if video is not None and "status" in video else "")),
                      markup=False, highlight=False)
    if json_out is not None:
        doc = {"frames": rows, "diverged": report.count("diverged") if diff is not None else 0}
        if video is not None:
            doc["video"] = {k: v for k, v in video.items() if k != "line"}
        if diff is not None:
            doc.update(ok=report.ok, nothing_compared=report.nothing_compared or None,
                       no_reference=report.count("no-reference"), reference_only=report.reference_only)
        write_text_atomic(json_out, json.dumps(doc, indent=1))
    return 0 if diff is None or (report.ok and (video is None or video.get("ok", True))) else 1


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
        fd.report = diff_traces(ref, trace, policy=pol, stages=stages)
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
