"""`pyparity run pof INPUT --model ... [--weights FILE | --synthetic] [--height] [--out] [--trc] [--diff]
[--from-reference DUMP --start input|model|solver] [--fix signed|zsign|isotropic|bone_table ...]
[--fallback signed] [--zsign always|never] [--aspect isotropic] [--torso bone_table]`.

``--fix NAME`` (repeatable) is the short form of one upstream-defect fix: ``signed`` = --fallback signed,
``zsign`` = --zsign always, ``isotropic`` = --aspect isotropic, ``bone_table`` = --torso bone_table.

INPUT: a pof reference dump (its clip inputs), a .npz (pose_2d (T,17,2), visibility (T,17)) or a CSV
(layouts in pyparity/pipelines/pof/io.py). With --diff and no --policy the committed policy is
``pof``, or ``pof-fix-<name>`` when exactly one fix option is given (its expected divergences).

semgcn-temporal with --diff: where the free run fails only in stages the prev_pof feedback reaches
after frame 0, no decision changed, and the per-step run (``--from-reference DIFF --start model``)
matches everywhere, the free-running differences are reported as expected drift (float32 rounding
amplified by the recurrence) and the run exits 0; ``--strict-temporal`` turns that off.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer


# --fix NAME -> (option, value); NAME is also the suffix of its policy pof-fix-<NAME>.toml
FIXES = {"signed": ("fallback", "signed"), "zsign": ("zsign", "always"),
         "isotropic": ("aspect", "isotropic"), "bone_table": ("torso", "bone_table")}


def register(run_app: typer.Typer) -> None:
    @run_app.command("pof")
    def pof(
        input: Path = typer.Argument(..., help="reference dump dir, .npz (pose_2d, visibility) or .csv"),
        model: str = typer.Option("semgcn-temporal", "--model", help="semgcn-temporal|semgcn|gcn|transformer"),
        weights: Optional[Path] = typer.Option(None, "--weights", help="upstream .pth (needs torch) or .npz"),
        synthetic: bool = typer.Option(False, "--synthetic", help="crc32-normal-v1 synthetic weights"),
        height: Optional[float] = typer.Option(None, "--height", help="subject height in m (default: dump's, else 1.78)"),
        out: Optional[Path] = typer.Option(None, "--out", help="write the trace here"),
        trc: Optional[Path] = typer.Option(None, "--trc", help="write 3D joints as TRC"),
        fps: float = typer.Option(30.0, "--fps"),
        diff: Optional[Path] = typer.Option(None, "--diff", help="reference dump to diff against"),
        policy: Optional[str] = typer.Option(None, "--policy", help="policy TOML (default: POF's)"),
        json_out: Optional[Path] = typer.Option(None, "--json"),
        fallback: str = typer.Option("upstream", "--fallback", help="upstream|signed"),
        zsign: str = typer.Option("upstream", "--zsign", help="upstream|always|never"),
        aspect: str = typer.Option("upstream", "--aspect", help="upstream|isotropic"),
        torso: str = typer.Option("upstream", "--torso", help="upstream|bone_table"),
        from_reference: Optional[Path] = typer.Option(None, "--from-reference", help="pof dump to take --start's inputs from"),
        start: Optional[str] = typer.Option(None, "--start", help="input | model (dump's model inputs) | solver (dump's POF)"),
        fix: Optional[list[str]] = typer.Option(None, "--fix", help="signed|zsign|isotropic|bone_table (repeatable)"),
        image_size: Optional[str] = typer.Option(None, "--image-size", help="WxH of the source image (for --aspect isotropic; default 1920x1080)"),
        strict_temporal: bool = typer.Option(False, "--strict-temporal", help="semgcn-temporal: fail on free-running drift through the feedback even when every step matches"),
    ) -> None:
        from cli.common import fail, finish_run
        from pyparity.errors import PyparityError
        from pyparity.pipelines.pof.checkpoint import load_checkpoint, synthetic_model
        from pyparity.pipelines.pof.io import read_keypoints, write_trc
        from pyparity.pipelines.pof.reconstruct import Options, reconstruct_3d, reconstruct_from_reference
        from pyparity.trace import Recorder, read_trace

        try:
            for name in fix or []:
                if name not in FIXES:
                    raise PyparityError(f"--fix {name!r}: expected one of {', '.join(FIXES)}")
                key, value = FIXES[name]
                if key == "fallback":
                    fallback = value
                elif key == "zsign":
                    zsign = value
                elif key == "aspect":
                    aspect = value
                else:
                    torso = value
            size = (1920, 1080)
            if image_size is not None:
                try:
                    w_px, h_px = (int(v) for v in image_size.lower().split("x"))
                except ValueError:
                    raise PyparityError(f"--image-size {image_size!r}: expected WxH, e.g. 1920x1080") from None
                if w_px <= 0 or h_px <= 0:
                    raise PyparityError(f"--image-size {image_size!r}: width and height must be > 0")
                size = (w_px, h_px)
            if (from_reference is None) != (start is None):
                raise PyparityError("--from-reference and --start go together")
            solver_only = start == "solver"
            if not solver_only and (weights is None) == (not synthetic):
                raise PyparityError("give exactly one of --weights FILE or --synthetic")
            if height is not None and not (math.isfinite(height) and height > 0):
                raise PyparityError(f"--height must be > 0 m (and finite), got {height}")
            if not (math.isfinite(fps) and fps > 0):
                raise PyparityError(f"--fps must be > 0 (and finite), got {fps}")
            m = None
            if not solver_only:
                m = synthetic_model(model) if synthetic else load_checkpoint(weights, None)
                if not synthetic and m.variant != model:
                    raise PyparityError(f"{weights}: checkpoint is a {m.variant} model, --model says {model}")
            opts = Options(fallback=fallback, zsign=zsign, aspect=aspect, torso=torso, image_size=size)
            rec = Recorder(out) if out is not None else Recorder()
            h = height
            if from_reference is not None:
                res = reconstruct_from_reference(m, read_trace(from_reference), start, height, rec, opts)
            else:
                kp, vis, h_dump = read_keypoints(input)
                h = height if height is not None else (h_dump if h_dump is not None else 1.78)
                res = reconstruct_3d(m, kp, vis, h, rec, opts)
            trace = rec.finish()
            if trc is not None:
                write_trc(trc, res.pose_3d_m, fps)
            fixes = [name for name, on in (("signed", fallback == "signed"), ("zsign", zsign == "always"),
                                           ("isotropic", aspect == "isotropic"), ("bone_table", torso == "bone_table")) if on]
            # the committed pyparity/policies/pof.toml, or the one fix's pof-fix-<name>.toml
            pol = policy if policy is not None else (f"pof-fix-{fixes[0]}" if len(fixes) == 1 else "pof")
            if diff is not None and from_reference is None and m.temporal and not strict_temporal:
                code = _finish_temporal(trace, m, diff, h, opts, pol, out, json_out)
            else:
                code = finish_run(trace, out=out, diff_against=diff, policy=pol, json_out=json_out)
        except PyparityError as e:
            fail(str(e))
            return
        raise typer.Exit(code)


def _finish_temporal(trace, model, diff: Path, height_m, opts, policy_name: str, out: Path | None,
                     json_out: Path | None) -> int:
    """``--diff`` for semgcn-temporal: the free-running diff, and where it fails only through the
    feedback after frame 0, the per-step run that tells drift from a defect
    (pyparity/pipelines/pof/temporal_drift.py)."""
    from cli.common import present_report, recorded_prefixes
    from pyparity.diff import diff_traces
    from pyparity.diff.policy import default_policy
    from pyparity.diff.policy_names import resolve_policy
    from pyparity.errors import InputError
    from pyparity.pipelines.pof import temporal_drift
    from pyparity.pipelines.pof.reconstruct import reconstruct_from_reference
    from pyparity.render.table import make_console
    from pyparity.trace import Recorder, read_trace

    console = make_console()
    if out is not None:
        console.print(f"trace: {out} ({len(trace)} stages)", markup=False, highlight=False)
    ref = read_trace(diff)
    policy = resolve_policy(policy_name) or default_policy()
    free = diff_traces(ref, trace, policy=policy, stages=recorded_prefixes(trace))
    if free.ok or not temporal_drift.could_be_drift(free, policy):
        return present_report(free, ref, trace, json_out=json_out)
    try:
        rec = Recorder()
        reconstruct_from_reference(model, ref, "model", height_m, rec, opts)
    except InputError as e:  # the reference lacks the per-frame model inputs: the free diff stands
        code = present_report(free, ref, trace, json_out=json_out)
        console.print(f"per-step check not possible ({e}); the free-running divergence stands", markup=False)
        return code
    steps = rec.finish()
    per_step = diff_traces(ref, steps, policy=policy, stages=recorded_prefixes(steps))
    if not per_step.ok:
        code = present_report(free, ref, trace, json_out=json_out)
        console.print("per-step run (each frame from the reference's previous POF) diverges too:\n"
                      + per_step.summary(), markup=False, highlight=False)
        return code
    reason = temporal_drift.drift_reason(free, per_step)
    report = diff_traces(ref, trace, policy=temporal_drift.drift_policy(policy, reason), stages=recorded_prefixes(trace))
    code = present_report(report, ref, trace, json_out=json_out)
    console.print("semgcn-temporal: the free-running differences above are drift through the feedback, not a "
                  "defect (--strict-temporal makes them fail)", markup=False, highlight=False)
    return code
