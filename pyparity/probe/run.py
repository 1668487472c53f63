"""Running a probe: build the port, call it on an input under capture, write the trace atomically."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from pyparity.errors import PyparityError
from pyparity.probe.capture import attach, import_target, to_array
from pyparity.probe.spec import Probe, ProbeError
from pyparity.probe.transforms import apply_steps, normalise_steps
from pyparity.trace import Recorder, Trace


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
        if self.shared_dir is not None:
            return str(self.shared_dir)
        return os.environ.get("PYPARITY_SHARED", str(Path.cwd().parent / "shared"))


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


def check_requirements(probe: Probe) -> None:
    for mod in probe.requires:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError:
            hint = f" ({probe.install})" if probe.install else ""
            raise ProbeError(f"{probe.path}: the port needs {mod!r}, which is not installed{hint}") from None


def _sha256(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


def record_probe(probe: Probe, input_path: Path, out: Path | None = None, reference: Trace | None = None,
                 model_dir: Path | None = None, shared_dir: Path | None = None) -> tuple[Trace, Any]:
    """Run the port under capture; returns (trace, the port's own result). Nothing is left on error."""
    input_path = Path(input_path)
    if not input_path.exists():
        raise PyparityError(f"{input_path}: no such file")
    check_requirements(probe)
    inputs = Inputs(probe, input_path, reference, model_dir, shared_dir)
    meta = {
        "producer": {"name": f"probe:{probe.name}", "probe_file": str(probe.path)},
        "input": {"file": input_path.name, "sha256": _sha256(input_path)},
    }
    rec = Recorder(out, meta=meta)
    try:
        env = {k: inputs.resolve(v, f"{probe.path} [port.env]") for k, v in probe.env.items()}
        with _environment(env):
            if probe.onnx_model is not None:
                result = _run_onnx(probe, inputs, rec)
            else:
                result = _run_port(probe, inputs, rec)
        return rec.finish(), result
    except BaseException:
        rec.abort()
        raise


def _run_port(probe: Probe, inputs: Inputs, rec) -> Any:
    where = f"{probe.path} [port]"
    obj = None
    if probe.setup:
        _, _, factory = import_target(probe.setup, f"{probe.path}:{probe.line_of('setup') or '?'} (setup)")
        try:
            obj = factory(*inputs.resolve(probe.setup_args, where), **inputs.resolve(probe.setup_kwargs, where))
        except PyparityError:
            raise
        except Exception as exc:
            raise ProbeError(f"{probe.path}:{probe.line_of('setup') or '?'}: building the port with "
                             f"{probe.setup!r} raised {type(exc).__name__}: {exc}") from None
    call_where = f"{probe.path}:{probe.line_of('call') or '?'} (call)"
    if ":" in probe.call:
        _, _, fn = import_target(probe.call, call_where)
    else:
        fn = getattr(obj, probe.call, None)
        if fn is None:
            raise ProbeError(f"{call_where}: the port object {type(obj).__name__} has no method {probe.call!r}")
    args, kwargs = inputs.resolve(probe.args, where), inputs.resolve(probe.kwargs, where)
    with attach(probe, rec, port_object=obj) as session:
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            raise ProbeError(f"{call_where}: the port raised {type(exc).__name__}: {exc}") from None
        for c in probe.captures:
            if c.target == "$call":
                frame = {"return": result, "self": obj, "args": None}
                session.record(c, lambda c=c: c.value.get(frame[c.value.root]), frame)
    if session.errors:
        raise ProbeError(session.errors[0])
    return result


def _run_onnx(probe: Probe, inputs: Inputs, rec) -> Any:
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
    try:
        outputs = sess.run(None, feeds)
    except Exception as exc:
        raise ProbeError(f"{where}: onnxruntime raised {type(exc).__name__}: {exc}") from None
    by_name = dict(zip([o.name for o in sess.get_outputs()], outputs))
    for c, t in wanted:
        arr = apply_steps(to_array(by_name[t]), c.transform, c.where)
        stage = c.stage.format(n=0) if c.tensor != "*" else f"{c.stage.rstrip('/')}/{t}"
        rec.save(stage, arr)
    return outputs
