"""Probe files: how to build and call a port on an input, and what to capture under which stage name.

A probe file is TOML (documented in `docs/probes.md`)::

    [probe]
    name = "toy-mtcnn"
    requires = ["toy_port"]                 # modules that must import (else: 'not installed')
    install = "pip install toy-port==1.0"   # shown when they do not
    policy = "toy.policy.toml"              # optional: hunt's tolerance policy unless --policy (a built-in
                                            #   name, or a path: with a / or .toml, relative to the probe)

    [port]
    setup = "toy_port:Detector"             # optional: builds the port object (a class or factory)
    setup_kwargs = { min_size = 60 }
    call = "detect"                         # a method of that object, or "module:function"
    args = ["$image_bgr"]                   # placeholders: $image_bgr $image_rgb $image_gray $path
    kwargs = {}                             #   $models $shared $probe_dir $ref:STAGE (from --reference)
    env = { TOY_MODELS = "$models" }        # set while the port runs, restored after

    [[capture]]                             # a function or method, wherever the port calls it
    target = "toy_port.nets:PNet.forward"   # module:qualname
    value = "return[0]"                     # return | args.NAME | args[i] | self.ATTR, then .x ['k'] [1, :]
    stage = "mtcnn/pnet/s{n:02d}/out"       # n counts this capture's calls from 0
    transform = { transpose = [2, 0, 1] }   # alignment to the reference's conventions
    calls = [0, 1]                          # optional: only these call numbers
    # stage-name fields from the call, for ports whose loops are numbered unlike the reference's:
    #   stage = "clnf/{ws}/it{it:02d}/mean_shifts"
    #   fields = { ws = "args.window_size", it = "args.iteration" }
    #   lookup = { ws = { 11 = "s0", 9 = "s1" } }      # optional: value -> text

    [[capture]]                             # a torch module (forward hook)
    torch_module = "backbone.layer1"        # dotted name inside the module found at `root`
    root = "self.model"                     # value path from the port object, or "module:attr"
    value = "output"                        # output | input[0] | output[1] ...

    [onnx]                                  # or: the port is an ONNX graph run by onnxruntime
    model = "$probe_dir/model.onnx"
    inputs = { x = { from = "$ref:mtcnn/pnet/s00/input", transform = { transpose = [2, 0, 1], reshape = [1, 3, -1, 128] } } }
    [[capture]]
    tensor = "conv1_out"                    # an intermediate tensor, exposed as an output
    stage = "mtcnn/pnet/s00/conv1"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pyparity.errors import PyparityError
from pyparity.probe.schema import ProbeFile
from pyparity.probe.transforms import normalise_steps
from pyparity.probe.valuepath import ValuePath, parse_value_path
from pyparity.tomlfile import read_toml, validate

SHIPPED_DIR = Path(__file__).resolve().parent / "shipped"


class ProbeError(PyparityError):
    """A probe that cannot be read or run: the message names the probe file and line."""


@dataclass
class Capture:
    index: int
    where: str                    # "probe.toml:12 (capture 3)": for messages
    stage: str
    transform: list
    target: str | None = None     # module:qualname
    value: ValuePath | None = None
    paths: list = field(default_factory=list)   # every value path (one, or several joined by concat/stack)
    multi: bool = False           # value = [...]: several paths of one call
    when: str = "after"
    torch_module: str | None = None
    torch_root: str | None = None
    torch_value: str = "output"
    tensor: str | None = None
    calls: list[int] | None = None
    # Stage-name fields taken from the call (``fields = { ws = "args.window_size" }``), optionally
    # mapped through ``lookup = { ws = { "11" = "s0", "9" = "s1" } }``: for a port whose loops are not
    # numbered the way the reference's are (one function called per scale and per iteration).
    fields: dict = field(default_factory=dict)
    lookup: dict = field(default_factory=dict)
    # True when a reference value can replace the port's here (`pyparity hunt --isolate`), else why not
    injectable: object = True
    # count = "module:qual": record how many times that function ran during this call (an iteration
    # count seen from outside), as an int32
    count: str | None = None
    # inject_into = "self.max_iter": where the reference's value goes instead of the value path (before the
    # call, restored after it): a count is injected as the port's loop bound
    inject_into: ValuePath | None = None

    def read(self, frame: dict):
        """The captured value(s) of this call (``frame``: self, args, return)."""
        vals = [p.get(frame[p.root], empty_ok=True) for p in self.paths]
        return vals if self.multi else vals[0]

    def stage_name(self, n: int, frame: dict | None = None) -> str:
        kw = {}
        for name, vp in self.fields.items():
            if frame is None or frame.get(vp.root) is None:
                raise ValueError(f"stage field {name} = {vp.text!r}: not available for this capture")
            v = vp.get(frame[vp.root])
            v = v.item() if hasattr(v, "item") and getattr(v, "ndim", 0) == 0 else v
            if isinstance(v, float) and v.is_integer() and name not in self.lookup:
                v = int(v)
            if name in self.lookup:
                key = str(v)
                if key not in self.lookup[name]:
                    raise ValueError(f"stage field {name} = {v!r} is not in lookup.{name} "
                                     f"({', '.join(self.lookup[name])})")
                v = self.lookup[name][key]
            kw[name] = v
        return self.stage.format(n=n, **kw)


@dataclass
class Probe:
    path: Path
    name: str
    description: str = ""
    requires: list[str] = field(default_factory=list)
    install: str = ""
    setup: str | None = None
    setup_args: list = field(default_factory=list)
    setup_kwargs: dict = field(default_factory=dict)
    call: str | None = None
    args: list = field(default_factory=list)
    kwargs: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)
    captures: list[Capture] = field(default_factory=list)
    onnx_model: str | None = None
    onnx_inputs: dict = field(default_factory=dict)
    record_return: str | None = None
    policy: str | None = None  # [probe] policy: hunt's tolerance policy unless --policy (a built-in name or an absolute path)

    def line_of(self, text: str) -> int | None:
        return _line_of(self.path, text)

    def stage_globs(self) -> list[str]:
        """Every stage name this probe can record, as globs (``{n:02d}`` and other fields -> ``*``):
        what a reference is expected to hold of the port's stages."""
        globs = []
        for c in self.captures:
            g = re.sub(r"\{[^{}]*\}", "*", c.stage)
            globs.append(f"{g.rstrip('/')}/*" if c.tensor == "*" else g)
        return globs


def _line_of(path: Path, needle: str) -> int | None:
    try:
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if needle in line:
                return i
    except (OSError, UnicodeDecodeError):
        pass
    return None


def shipped_probe_names() -> list[str]:
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(x.stem for x in SHIPPED_DIR.glob("*.toml") if not x.name.endswith(".policy.toml"))


def resolve_probe_path(name_or_path: str | Path) -> Path:
    """A path (a ``Path``, or a string with a ``/`` or ending in ``.toml``: ``./name`` for a file here)
    is a probe file; a bare name is a probe shipped in ``pyparity/probe/shipped/`` and nothing else (a
    name never reaches outside that folder, nor reads a file from the working directory)."""
    from pyparity.diff.policy_names import spelled_as_path

    if isinstance(name_or_path, Path) or spelled_as_path(str(name_or_path)):
        p = Path(name_or_path)
        if not p.is_file():
            raise ProbeError(f"{p}: no such probe file")
        return p
    names = shipped_probe_names()
    if name_or_path in names:
        return SHIPPED_DIR / f"{name_or_path}.toml"
    raise ProbeError(f"{name_or_path!r}: no shipped probe of that name (shipped: {', '.join(names) or 'none'}; "
                     f"write ./{name_or_path} for a probe file here)")


def load_probe(name_or_path: str | Path) -> Probe:
    path = resolve_probe_path(name_or_path)
    f = validate(ProbeFile, read_toml(path, "probe file", ProbeError), str(path), ProbeError)
    meta = f.probe
    pr = Probe(path=path, name=meta.name or path.stem, description=meta.description, requires=list(meta.requires),
               install=meta.install)
    if meta.policy is not None:
        from pyparity.diff.policy_names import policy_reference

        pol = meta.policy
        where = f"{path}:{_line_of(path, 'policy') or '?'}: policy = {pol!r}"
        if not pol:
            raise ProbeError(f"{where}: expected a built-in policy name or a TOML path next to the probe")
        try:
            pr.policy = policy_reference(pol, base=path.parent)
        except PyparityError as exc:
            raise ProbeError(f"{where}: {exc}") from None
    port, onnx = f.port, f.onnx
    if (port is None or not port.model_fields_set) and onnx is None:
        raise ProbeError(f"{path}: needs a [port] section (or [onnx])")
    if port is not None and port.model_fields_set:
        pr.setup, pr.call, pr.record_return = port.setup, port.call, port.record_return
        pr.setup_args, pr.setup_kwargs = list(port.setup_args), dict(port.setup_kwargs)
        pr.args, pr.kwargs = list(port.args), dict(port.kwargs)
        pr.env = {k: str(v) for k, v in port.env.items()}
        if not pr.call:
            raise ProbeError(f"{path}: [port] needs call = \"method\" or \"module:function\"")
    if pr.call and not pr.setup and ":" not in pr.call:
        raise ProbeError(f"{path}:{_line_of(path, 'call') or '?'}: call = {pr.call!r} names a method but there is "
                         "no setup to build the object; use \"module:function\"")
    if onnx is not None:
        pr.onnx_model = onnx.model
        pr.onnx_inputs = dict(onnx.inputs)
    for i, c in enumerate(f.capture, start=1):
        pr.captures.append(_capture(path, i, c.model_dump(exclude_unset=True)))
    if pr.record_return is not None:
        # shorthand for a capture of the top-level call's whole result
        if not isinstance(pr.record_return, str) or not pr.record_return:
            raise ProbeError(f"{path}:{_line_of(path, 'record_return') or '?'}: record_return = \"stage/name\"")
        pr.captures.append(_capture(path, len(pr.captures) + 1,
                                    {"target": "$call", "value": "return", "stage": pr.record_return}))
    if not pr.captures and not pr.record_return:
        raise ProbeError(f"{path}: no [[capture]] tables: nothing would be recorded")
    return pr


def _capture(path: Path, i: int, c: dict) -> Capture:
    key = c.get("target") or c.get("torch_module") or c.get("tensor") or c.get("stage") or ""
    line = _line_of(path, f'"{key}"') if key else None
    where = f"{path}:{line or '?'} (capture {i})"
    kinds = [k for k in ("target", "torch_module", "tensor") if k in c]
    if len(kinds) != 1:
        raise ProbeError(f"{where}: needs exactly one of target = \"module:qualname\", torch_module = \"name\", "
                         "tensor = \"onnx tensor\"")
    stage = c["stage"]
    if not stage:
        raise ProbeError(f"{where}: needs stage = \"reference/stage/name\" (may use {{n:02d}})")
    fields = c.get("fields", {})
    lookup = c.get("lookup", {})
    parsed_fields = {}
    for fname, ftext in fields.items():
        if fname == "n":
            raise ProbeError(f"{where}: fields.{fname} must be a value path such as \"args.window_size\"")
        try:
            parsed_fields[fname] = parse_value_path(ftext)
        except PyparityError as exc:
            raise ProbeError(f"{where}: fields.{fname}: {exc}") from None
    for lname, table in lookup.items():
        if lname not in parsed_fields or not table:
            raise ProbeError(f"{where}: lookup.{lname} must map values of fields.{lname} to strings")
    lookup = {k: {str(a): str(b) for a, b in t.items()} for k, t in lookup.items()}
    try:
        dummy = {k: (next(iter(lookup[k].values())) if k in lookup else 0) for k in parsed_fields}
        stage.format(n=0, **dummy)
    except (KeyError, IndexError, ValueError) as exc:
        known = ", ".join(["{n}"] + [f"{{{k}}}" for k in parsed_fields])
        raise ProbeError(f"{where}: stage template {stage!r} is not valid ({exc}); defined: {known}") from None
    try:
        steps = normalise_steps(c.get("transform"), where)
    except PyparityError as exc:
        raise ProbeError(str(exc)) from None
    cap = Capture(index=i, where=where, stage=stage, transform=steps, fields=parsed_fields, lookup=lookup)
    if c.get("calls") is not None:
        cap.calls = list(c["calls"])
    if "target" in c:
        t = c["target"]
        if t != "$call" and not re.fullmatch(r"[\w.]+:[\w.]+", t):
            raise ProbeError(f"{where}: target {t!r} must be \"package.module:Qualified.name\" or \"$call\"")
        cap.target = t
        if "count" in c:
            cnt = c["count"]
            if "value" in c or not isinstance(cnt, str) or not re.fullmatch(r"[\w.]+:[\w.]+", cnt):
                raise ProbeError(f"{where}: count = \"package.module:Qualified.name\" (the function whose calls "
                                 "are counted during this call), instead of value")
            cap.count = cnt
            c = dict(c, value="return", when="after")
        value = c.get("value", "return")
        cap.multi = isinstance(value, list)
        texts = value if cap.multi else [value]
        if not texts or not all(isinstance(v, str) for v in texts):
            raise ProbeError(f"{where}: value is a value path, or a list of them joined by concat/stack")
        try:
            cap.paths = [parse_value_path(v) for v in texts]
        except PyparityError as exc:
            raise ProbeError(f"{where}: {exc}") from None
        cap.value = cap.paths[0]
        roots = {p.root for p in cap.paths}
        default_when = "before" if roots == {"args"} else "after"
        cap.when = c.get("when", default_when)
        if cap.when not in ("before", "after"):
            raise ProbeError(f"{where}: when must be \"before\" or \"after\"")
        if cap.when == "before" and "return" in roots:
            raise ProbeError(f"{where}: a value taken from return is there only after the call (when = \"after\")")
        if cap.multi and not (steps and steps[0][0] in ("concat", "stack")):
            raise ProbeError(f"{where}: value = [...] takes several values; join them with transform = "
                             "{ concat = AXIS } or { stack = AXIS }")
        if t == "$call":
            cap.injectable = "the port's final result: nothing of the port runs after it"
        elif any(p.root == "self" and not p.steps for p in cap.paths):
            cap.injectable = "value = self: the object itself cannot be replaced"
    elif "torch_module" in c:
        cap.torch_module = c["torch_module"]
        cap.torch_root = c.get("root", "self")
        cap.torch_value = c.get("value", "output")
        if not isinstance(cap.torch_value, str) or not re.fullmatch(r"(output|input)(\[\d+\])*", cap.torch_value):
            raise ProbeError(f"{where}: value for a torch module is output, input[0], output[1], ...")
    else:
        cap.tensor = c["tensor"]
    inject = c.get("inject", True)
    if not isinstance(inject, bool):
        raise ProbeError(f"{where}: inject = true or false")
    if "inject_into" in c:
        try:
            cap.inject_into = parse_value_path(c["inject_into"]) if isinstance(c["inject_into"], str) else None
        except PyparityError as exc:
            raise ProbeError(f"{where}: inject_into: {exc}") from None
        if cap.target in (None, "$call") or cap.inject_into is None or cap.inject_into.root not in ("self", "args") \
                or not cap.inject_into.steps:
            raise ProbeError(f"{where}: inject_into = \"self.ATTR\" or \"args.NAME\" (of a target's call): where the "
                             "reference's value is written before the call")
    elif cap.count is not None:
        cap.injectable = "a count cannot be written back; give inject_into = \"self.LOOP_BOUND\""
    from pyparity.probe.inverse import check_steps_invertible

    why = check_steps_invertible(steps)
    if not inject:
        cap.injectable = "inject = false in the probe"
    elif why:
        cap.injectable = why
    return cap
