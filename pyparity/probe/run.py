"""Running a probe: build the port, call it on an input under capture, write the trace atomically."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pyparity.errors import PyparityError
from pyparity.probe.capture import _NOTHING, attach, import_target
from pyparity.probe.inject import Injector
from pyparity.probe.spec import Capture, Probe, ProbeError
from pyparity.probe.transforms import apply_steps, normalise_steps
from pyparity.trace import Recorder, Trace
from pyparity.trace.meta import file_sha256


class Inputs:
    """Resolves the ``$placeholders`` of a probe file."""

    def __init__(self, probe: Probe, input_path: Path, reference: Trace | None, model_dir: Path | None,
                 shared_dir: Path | None):
        self.probe, self.input_path, self.reference = probe, Path(input_path), reference
        self.model_dir, self.shared_dir = model_dir, shared_dir
        self._image = None

    def image_bgr(self) -> np.ndarray:
        if self._image is None:
            from pyparity.imageio import read_image_bgr

            self._image = read_image_bgr(self.input_path)
        return self._image

    def resolve(self, v: Any, where: str):
        if isinstance(v, list):
            return [self.resolve(x, where) for x in v]
        if isinstance(v, dict):
            if "from" in v:  # {from = "$ref:...", transform = {...}}
                arr = np.asarray(self.resolve(v["from"], where))
                return apply_steps(arr, normalise_steps(v.get("transform"), where), where)
            return {k: self.resolve(x, where) for k, x in v.items()}
        if not isinstance(v, str) or "$" not in v:
            return v
        if v == "$image_bgr":
            return self.image_bgr().copy()
        if v == "$image_rgb":
            img = self.image_bgr()
            return np.ascontiguousarray(img[..., ::-1]) if img.ndim == 3 else img.copy()
        if v == "$image_gray":
            import cv2

            img = self.image_bgr()
            return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img.copy()
        if v == "$path":
            return str(self.input_path)
        if v.startswith("$ref:"):
            stage = v[5:]
            if self.reference is None:
                raise ProbeError(f"{where}: {v} needs a reference dump (--reference)")
            if stage not in self.reference:
                raise ProbeError(f"{where}: the reference has no stage {stage!r}")
            return np.array(self.reference[stage], copy=True)
        out = v
        for key, fn in (("$models", self._models), ("$shared", self._shared),
                        ("$probe_dir", lambda: str(self.probe.path.parent))):
            if key in out:
                out = out.replace(key, str(fn()))
        if "$" in out:
            raise ProbeError(f"{where}: unknown placeholder in {v!r}")
        return out

    def _models(self) -> str:
        if self.model_dir is not None:
            return str(self.model_dir)
        from pyparity.models import openface_model_dir

        return str(openface_model_dir())

    def _shared(self) -> str:
        from pyparity.shared import shared_dir

        return str(shared_dir(self.shared_dir, option=None))  # hunt's and record's --shared


@contextlib.contextmanager
def _environment(env: dict[str, str]):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def probe_folder_importable(probe: Probe):
    """The probe's folder on ``sys.path`` while it runs: its own setup modules import as they would
    beside a test file (a module of the same name elsewhere on the path still wins)."""
    folder = str(Path(probe.path).resolve().parent)
    added = folder not in sys.path
    if added:
        sys.path.append(folder)
    try:
        yield
    finally:
        if added:
            with contextlib.suppress(ValueError):
                sys.path.remove(folder)


def check_requirements(probe: Probe) -> None:
    for mod in probe.requires:
        try:
            with probe_folder_importable(probe):
                importlib.import_module(mod)
        except ModuleNotFoundError:
            hint = f" ({probe.install})" if probe.install else ""
            raise ProbeError(f"{probe.path}: the port needs {mod!r}, which is not installed{hint}") from None


@dataclass
class ProbeRun:
    """One run of a port under a probe: the trace, the port's result, how often each capture fired
    (capture index -> calls), which capture recorded each stage, and what was injected."""

    trace: Trace
    result: Any
    calls: dict = field(default_factory=dict)
    stages: dict = field(default_factory=dict)
    injector: Injector | None = None
    when: dict = field(default_factory=dict)   # stage -> position in the port's computation, where that differs
    #                                           from its recording order (counts: after the last counted call)

    def port_order(self) -> dict:
        """stage -> when the port computed it (recording position, or `when`'s)."""
        out = {n: float(i) for i, n in enumerate(self.trace.names)}
        out.update(self.when)
        return out


def record_probe(probe: Probe, input_path: Path, out: Path | None = None, reference: Trace | None = None,
                 model_dir: Path | None = None, shared_dir: Path | None = None,
                 injector: Injector | None = None) -> tuple[Trace, Any]:
    """Run the port under capture; returns (trace, the port's own result). Nothing is left on error.
    With ``injector``, the reference's values replace the port's at the stages it names."""
    run = run_probe_once(probe, input_path, out=out, reference=reference, model_dir=model_dir,
                         shared_dir=shared_dir, injector=injector)
    return run.trace, run.result


def run_probe_once(probe: Probe, input_path: Path, out: Path | None = None, reference: Trace | None = None,
                   model_dir: Path | None = None, shared_dir: Path | None = None,
                   injector: Injector | None = None, port: Any = None, image=None, rec=None) -> ProbeRun:
    """`record_probe` with everything the hunt needs to know about the run (`ProbeRun`). ``port``: an
    object built by `build_port` (a sequence calls one port frame after frame); ``image``: the frame;
    ``rec``: a recorder of the caller's to record into (then it finishes it; the run's trace is None)."""
    input_path = Path(input_path)
    if image is None and not input_path.exists():
        raise PyparityError(f"{input_path}: no such file")
    check_requirements(probe)
    inputs = Inputs(probe, input_path, reference, model_dir, shared_dir)
    if image is not None:
        inputs._image = image
    own = rec is None
    if own:
        rec = Recorder(out, meta=probe_meta(probe, input_path, image is None))
    try:
        env = {k: inputs.resolve(v, f"{probe.path} [port.env]") for k, v in probe.env.items()}
        with _environment(env), probe_folder_importable(probe):
            if probe.onnx_model is not None:
                result, session = _run_onnx(probe, inputs, rec, injector)
            else:
                result, session = _run_port(probe, inputs, rec, injector, port)
        return ProbeRun(rec.finish() if own else None, result, dict(session.counts), dict(session.stages), injector,
                        dict(session.when))
    except BaseException:
        if own:
            rec.abort()
        raise


def probe_meta(probe: Probe, input_path: Path, hash_input: bool = True) -> dict:
    """A probe trace's metadata: the probe that recorded it (its policy is the default for comparing the
    trace: `pyparity.app` reads ``producer``) and the input."""
    return {"producer": {"name": f"probe:{probe.name}", "probe_file": str(probe.path)},
            "input": {"file": Path(input_path).name, "sha256": file_sha256(input_path) if hash_input else None}}


def run_probe(probe: Probe, input_path: Path, rec, reference: Trace | None = None, model_dir: Path | None = None,
              shared_dir: Path | None = None) -> Any:
    """Run the port on ``input_path`` under capture, recording into the caller's ``rec``; returns the
    port's own result (the application layer's ``probe:NAME`` pipeline)."""
    return run_probe_once(probe, input_path, reference=reference, model_dir=model_dir, shared_dir=shared_dir,
                          rec=rec).result


def build_port(probe: Probe, input_path: Path, reference: Trace | None = None, model_dir: Path | None = None,
               shared_dir: Path | None = None) -> Any:
    """The port object of ``[port] setup`` (None without one), built once, e.g. for a sequence."""
    if not probe.setup:
        return None
    check_requirements(probe)
    inputs = Inputs(probe, Path(input_path), reference, model_dir, shared_dir)
    env = {k: inputs.resolve(v, f"{probe.path} [port.env]") for k, v in probe.env.items()}
    with _environment(env), probe_folder_importable(probe):
        return _build(probe, inputs)


def _build(probe: Probe, inputs: Inputs) -> Any:
    where = f"{probe.path} [port]"
    _, _, factory = import_target(probe.setup, f"{probe.path}:{probe.line_of('setup') or '?'} (setup)")
    try:
        return factory(*inputs.resolve(probe.setup_args, where), **inputs.resolve(probe.setup_kwargs, where))
    except PyparityError:
        raise
    except Exception as exc:
        raise ProbeError(f"{probe.path}:{probe.line_of('setup') or '?'}: building the port with "
                         f"{probe.setup!r} raised {type(exc).__name__}: {exc}") from None


def _run_port(probe: Probe, inputs: Inputs, rec, injector: Injector | None = None, obj: Any = None):
    where = f"{probe.path} [port]"
    if obj is None and probe.setup:
        obj = _build(probe, inputs)
    call_where = f"{probe.path}:{probe.line_of('call') or '?'} (call)"
    if ":" in probe.call:
        _, _, fn = import_target(probe.call, call_where)
    else:
        fn = getattr(obj, probe.call, None)
        if fn is None:
            raise ProbeError(f"{call_where}: the port object {type(obj).__name__} has no method {probe.call!r}")
    args, kwargs = inputs.resolve(probe.args, where), inputs.resolve(probe.kwargs, where)
    with attach(probe, rec, port_object=obj, injector=injector, reference=inputs.reference) as session:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            raise ProbeError(f"{call_where}: the port raised {type(exc).__name__}: {exc}") from None
        frame = {"return": result, "self": obj, "args": None}
        for c in probe.captures:
            if c.target == "$call":
                session.fire(c, frame)
    if session.errors:
        more = f" (and {len(session.errors) - 1} more capture error(s))" if len(session.errors) > 1 else ""
        raise ProbeError(session.errors[0] + more)
    return result, session


def _run_onnx(probe: Probe, inputs: Inputs, rec, injector: Injector | None = None):
    """Run an ONNX graph with the captured intermediate tensors exposed as outputs (as Polygraphy marks them)."""
    where = f"{probe.path} [onnx]"
    try:
        import onnx
        import onnxruntime as ort
    except ModuleNotFoundError as exc:
        raise ProbeError(f"{where}: needs {exc.name!r} (pip install 'pyparity[onnx]')") from None
    model_path = Path(inputs.resolve(probe.onnx_model, where))
    try:
        model = onnx.load(str(model_path))
    except Exception as exc:
        raise ProbeError(f"{where}: cannot load ONNX model {model_path} ({exc})") from None
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:
        pass
    known = {vi.name: vi for vi in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output)}
    produced = {o for node in model.graph.node for o in node.output}
    wanted = []
    for c in probe.captures:
        if c.tensor is None:
            continue
        names = sorted(produced) if c.tensor == "*" else [c.tensor]
        for t in names:
            if t not in produced and t not in known:
                raise ProbeError(f"{c.where}: the ONNX graph has no tensor {t!r}")
            wanted.append((c, t))
    existing = {o.name for o in model.graph.output}
    for _, t in wanted:
        if t in existing:
            continue
        vi = known.get(t)
        if vi is None:
            vi = onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None)
        model.graph.output.append(vi)
        existing.add(t)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {}
    for name, spec in probe.onnx_inputs.items():
        feeds[name] = np.asarray(inputs.resolve(spec, f"{where} inputs.{name}"))
    from pyparity.probe.capture import Session

    session = Session(rec, injector, inputs.reference)
    graph_inputs = {i.name for i in model.graph.input}
    for c, t in list(wanted):
        if t in graph_inputs and t in feeds:
            # a graph input: recorded as fed, and the reference's value is fed instead when injected
            stage = c.stage.format(n=0) if c.tensor != "*" else f"{c.stage.rstrip('/')}/{t}"
            new = session.fire(_named(c, stage), None, lambda t=t: feeds[t])
            if new is not _NOTHING:
                feeds[t] = np.asarray(new, dtype=feeds[t].dtype)
            wanted.remove((c, t))
    try:
        outputs = sess.run(None, feeds)
    except Exception as exc:
        raise ProbeError(f"{where}: onnxruntime raised {type(exc).__name__}: {exc}") from None
    by_name = dict(zip([o.name for o in sess.get_outputs()], outputs))
    for c, t in wanted:
        stage = c.stage.format(n=0) if c.tensor != "*" else f"{c.stage.rstrip('/')}/{t}"
        cap = _named(c, stage)
        cap.injectable = "an intermediate tensor of an ONNX graph (only graph inputs can be fed)"
        session.fire(cap, None, lambda t=t: by_name[t])
    if session.errors:
        raise ProbeError(session.errors[0])
    return outputs, session


def _named(c: Capture, stage: str) -> Capture:
    """A copy of an ONNX tensor capture whose stage is one fixed name (``tensor = "*"`` expands to many)."""
    import dataclasses

    return dataclasses.replace(c, stage=stage.replace("{", "{{").replace("}", "}}"), fields={}, lookup={})
