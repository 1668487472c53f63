"""Running the instrumented OpenFace programs: one validated dump per image, or per frame of a sequence.

Images go through FaceLandmarkImg (one process for all of them), image folders and videos through
FeatureExtraction (tracking; `<out>/<name>/frameNNNN`). The programs find their models relative to
their own path, so each run gets a folder of links: the programs, `model/` (the model folder, with
CEN files or an early-termination file laid over it when asked) and `AU_predictors/`.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pyparity.atomic import replace_dir, write_bytes_atomic
from pyparity.errors import InputError, TraceError
from pyparity.imageio import VIDEO_SUFFIXES
from pyparity.reference.openface.build import Build
from pyparity.trace.dumpio import read_trace

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
DUMP_MARKER = "pyparity-dump: "  # what the recorder prints for every dump it has written
MODEL_NAMES = ("main_clnf_general", "main_ceclm_general", "main_clnf_wild", "main_clnf_multi_pie", "main_clm_general")


@dataclass
class RecordOptions:
    model: str = "main_clnf_general"       # a name in the model folder, or a file
    model_dir: Path | None = None
    level: int = 1
    cen_dir: Path | None = None             # cen_patches_*.dat laid into model/patch_experts/
    early_term: Path | None = None          # replaces model/early_term_cen_of.txt
    multi_view: bool = False
    aus: bool = False                       # also record faceNN/au/... (FaceAnalyser)
    record: bool = True                     # False: the same programs with recording off
    csv_dir: Path | None = None             # keep OpenFace's own CSV output here
    frames_dir: Path | None = None          # FeatureExtraction: save the frames as OpenFace decoded them
    extra_args: list[str] = field(default_factory=list)


@dataclass
class RecordResult:
    dumps: list[Path]
    csv_files: list[Path]


def classify(path: Path) -> str:
    """'image', 'sequence' (a folder of images) or 'video'; InputError otherwise."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file or directory")
    if p.is_dir():
        if not any(q.suffix.lower() in IMAGE_SUFFIXES for q in p.iterdir()):
            raise InputError(f"{p}: folder holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return "sequence"
    suffix = p.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise InputError(f"{p}: not an image, image folder or video (by its name)")


def model_files(model_file: Path, model_dir: Path) -> dict[str, Path]:
    """Every model file the run reads, keyed 'model/<path in the model folder>' as in the shared dumps
    (paths are followed as OpenFace follows them: relative to the file that names them)."""
    found: dict[str, Path] = {}

    def visit(p: Path) -> None:
        p = Path(os.path.normpath(p))
        rel = os.path.relpath(p, model_dir)
        key = str(p) if rel.startswith("..") else f"model/{rel}"
        if key in found or not p.is_file():
            return
        found[key] = p
        if p.suffix != ".txt" or p.stat().st_size > 2_000_000:
            return
        for line in p.read_text(encoding="utf-8", errors="replace").splitlines()[:200]:
            parts = line.split()
            if len(parts) >= 2 and not parts[0].startswith("#"):
                cand = p.parent / parts[1]
                if cand.is_file():
                    visit(cand)

    visit(model_dir / "mtcnn_detector" / "MTCNN_detector.txt")
    visit(model_file)
    if any("cen_patches" in k for k in found):
        visit(model_dir / "early_term_cen_of.txt")
    return found


def au_model_files(au_dir: Path, images: bool) -> dict[str, Path]:
    """The AU model lists FaceAnalyser reads (static models on images, dynamic ones on sequences)."""
    names = (["AU_all_static.txt", "main_static_svms.txt"] if images else ["AU_all_best.txt", "main_dynamic_svms.txt"])
    names.append("In-the-wild_aligned_PDM_68.txt")
    return {f"AU_predictors/{n}": au_dir / n for n in names if (au_dir / n).is_file()}


def _link_model_dir(run: Path, opts: RecordOptions, model_dir: Path) -> Path:
    target = run / "model"
    if opts.cen_dir is None and opts.early_term is None:
        target.symlink_to(model_dir, target_is_directory=True)
        return target
    for p in sorted(model_dir.rglob("*")):
        rel = p.relative_to(model_dir)
        if p.is_dir():
            (target / rel).mkdir(parents=True, exist_ok=True)
        else:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).symlink_to(p.resolve())
    if opts.cen_dir is not None:
        cens = sorted(Path(opts.cen_dir).glob("cen_patches_*.dat"))
        if not cens:
            raise InputError(f"{opts.cen_dir}: no cen_patches_*.dat files")
        for c in cens:
            dst = target / "patch_experts" / c.name
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.unlink(missing_ok=True)
            dst.symlink_to(c.resolve())
    if opts.early_term is not None:
        if not Path(opts.early_term).is_file():
            raise InputError(f"{opts.early_term}: no such file")
        dst = target / "early_term_cen_of.txt"
        dst.unlink(missing_ok=True)
        dst.symlink_to(Path(opts.early_term).resolve())
    return target


def _resolve_model(opts: RecordOptions, run_model: Path) -> Path:
    m = opts.model
    if Path(m).suffix == ".txt" and Path(m).is_file():
        return Path(m).resolve()
    name = m[:-4] if m.endswith(".txt") else m
    p = run_model / f"{name}.txt"
    if not p.is_file():
        raise InputError(f"model {m!r}: no {name}.txt in the model folder (names: {', '.join(MODEL_NAMES)})")
    return p


def _environment(out_dir: Path, opts: RecordOptions, models: dict[str, Path], command: str) -> dict[str, str]:
    env = dict(os.environ)
    if platform.machine() in ("x86_64", "AMD64"):
        env.setdefault("OPENBLAS_CORETYPE", "Haswell")
    env.pop("PYPARITY_DUMP_DIR", None)
    if opts.record:
        env["PYPARITY_DUMP_DIR"] = str(out_dir)
        env["PYPARITY_DUMP_LEVEL"] = str(opts.level)
        if not opts.aus:
            env["PYPARITY_DUMP_EXCLUDE"] = "au"
        else:
            env.pop("PYPARITY_DUMP_EXCLUDE", None)
        env["PYPARITY_DUMP_MODELS"] = ";".join(f"{k}={v}" for k, v in models.items())
        params = {"model": f"model/{Path(opts.model).stem}.txt" if not Path(opts.model).is_file() else str(opts.model),
                  "multi_view": opts.multi_view, "dump_level": opts.level}
        env["PYPARITY_DUMP_META"] = json.dumps({"parameters": params, "command": command})
    return env


def record(
    inputs: list[Path],
    out_dir: Path,
    build: Build,
    opts: RecordOptions,
    progress: Callable[[Path], None] = lambda p: None,
) -> RecordResult:
    """Run the instrumented programs on `inputs`; every dump is validated with `read_trace`.

    One image and nothing else: the dump is written at `out_dir` itself (so `diff OUT DUMP` works);
    otherwise `out_dir/<image name>` per image and `out_dir/<sequence or video name>/frameNNNN`.
    """
    kinds = [(Path(i), classify(Path(i))) for i in inputs]
    images = [p for p, k in kinds if k == "image"]
    names = [p.name for p in images]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"two input images share the name {dup[0]!r}: their dumps would collide")
    model_dir = Path(opts.model_dir) if opts.model_dir else None
    if model_dir is None or not (model_dir / "mtcnn_detector").is_dir():
        raise InputError(f"{model_dir}: not an OpenFace model folder (no mtcnn_detector/)", param="model_dir")
    out_dir = Path(out_dir)
    single = len(kinds) == 1 and kinds[0][1] == "image"
    if single and out_dir.exists() and not (out_dir / "index.tsv").is_file() and any(out_dir.iterdir()):
        raise InputError(f"{out_dir}: exists and is not a dump; refusing to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    if not single:
        out_dir.mkdir(parents=True, exist_ok=True)
    dumps: list[Path] = []
    csvs: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="pyparity-openface-run-") as tmp:
        run = Path(tmp)
        run_model = _link_model_dir(run, opts, model_dir.resolve())
        (run / "AU_predictors").symlink_to(build.au_predictors, target_is_directory=True)
        for prog in ("FaceLandmarkImg", "FeatureExtraction"):
            (run / prog).symlink_to(build.program(prog))
        model_file = _resolve_model(opts, run_model)
        models = model_files(model_file, run_model)
        au_dir = run / "AU_predictors"
        csv_tmp = run / "csv"
        common = ["-mloc", str(model_file)] + (["-multi_view", "1"] if opts.multi_view else []) + list(opts.extra_args)
        jobs: list[tuple[list[str], Path, Path | None]] = []
        if images:
            args = [str(run / "FaceLandmarkImg")]
            for p in images:
                args += ["-f", str(p.resolve())]
            jobs.append((args + common + ["-out_dir", str(csv_tmp)], run / "dumps" if single else out_dir, None))
        for p, k in kinds:
            if k in ("sequence", "video"):
                flag = "-fdir" if k == "sequence" else "-f"
                args = [str(run / "FeatureExtraction"), flag, str(p.resolve())] + common + ["-out_dir", str(csv_tmp)]
                frames = Path(opts.frames_dir) / p.name if opts.frames_dir is not None else None
                jobs.append((args, out_dir / p.name, frames))
        for args, dest, frames in jobs:
            command = " ".join([Path(args[0]).name] + [Path(a).name if os.path.isabs(a) else a for a in args[1:]])
            sequence = Path(args[0]).name == "FeatureExtraction"
            env = _environment(dest, opts, {**models, **(au_model_files(au_dir, not sequence) if opts.aus else {})}, command)
            if frames is not None:
                frames.mkdir(parents=True, exist_ok=True)
                env["PYPARITY_DUMP_FRAMES_DIR"] = str(frames.resolve())
            got = _run_program(args, dest, env, (lambda p: None) if single else progress)
            if opts.record and not got:
                raise InputError(f"{args[2]}: OpenFace read no image or frame from it (unreadable or empty?)")
            dumps += got
        if single and opts.record:
            if len(dumps) != 1:
                raise InputError(f"{images[0]}: the recorder wrote {len(dumps)} dumps (expected 1)")
            staged = out_dir.parent / f".{out_dir.name}.staged-{os.getpid()}"
            if staged.exists():
                shutil.rmtree(staged)
            shutil.move(str(dumps[0]), staged)
            replace_dir(staged, out_dir)  # the previous dump stays whole until the new one is in place
            dumps = [out_dir]
            progress(out_dir)
        if csv_tmp.is_dir():
            for c in sorted(csv_tmp.glob("*.csv")):
                if opts.csv_dir is not None:
                    Path(opts.csv_dir).mkdir(parents=True, exist_ok=True)
                    csvs.append(write_bytes_atomic(Path(opts.csv_dir) / c.name, c.read_bytes()))
    return RecordResult(dumps, csvs)


def _run_program(args: list[str], dest: Path, env: dict[str, str], progress: Callable[[Path], None]) -> list[Path]:
    dumps: list[Path] = []
    tail: list[str] = []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=str(Path(args[0]).parent))
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        marker = line.find(DUMP_MARKER)  # OpenFace's progress output ("10% ") may precede it on a line
        if marker >= 0:
            path = Path(line[marker + len(DUMP_MARKER):])
            try:
                read_trace(path).validate()
            except TraceError as exc:
                proc.kill()
                raise InputError(f"the recorder wrote an invalid dump: {exc}") from None
            dumps.append(path)
            progress(path)
        else:
            tail = (tail + [line])[-20:]
    code = proc.wait()
    if code != 0:
        raise InputError(f"{Path(args[0]).name} exited with code {code}: " + " | ".join(t for t in tail[-5:] if t.strip()))
    if any("Could not" in t or "ERROR" in t for t in tail) and not dumps and env.get("PYPARITY_DUMP_DIR"):
        raise InputError(f"{Path(args[0]).name}: " + " | ".join(t for t in tail if "ERROR" in t or "Could not" in t))
    return dumps
