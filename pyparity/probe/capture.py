"""Capturing values from a running port without editing it: patch, record, restore.

`attach(probe, recorder, port_object)` is a context manager. It replaces each captured function or
method by a wrapper that calls the original, records the selected value (copied, so the port's own
results are untouched) and returns the original result; torch captures register forward hooks.
Everything is restored on exit, also when the port raises. A capture that fails (a value path that
does not exist at run time) does not disturb the port: the error is raised after the call returns.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import re
from typing import Any

import numpy as np

from pyparity.probe.spec import Capture, Probe, ProbeError
from pyparity.probe.transforms import apply_steps
from pyparity.probe.valuepath import parse_value_path


def to_array(value: Any) -> np.ndarray:
    """A copy of a captured value as a NumPy array (torch tensors, lists of arrays, scalars)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    elif isinstance(value, (list, tuple)) and value and hasattr(value[0], "detach"):
        value = [v.detach().cpu().numpy() for v in value]
    if isinstance(value, dict) and value and all(isinstance(k, (int, np.integer)) for k in value):
        # {index: array} (e.g. one response map per landmark): stacked in index order
        value = [to_array(value[k]) for k in sorted(value)]
    a = np.array(value, copy=True)
    if a.dtype.hasobject:
        raise ValueError(f"cannot record a {type(value).__name__} as an array (ragged or non-numeric)")
    return a


def import_target(target: str, where: str):
    """(owner, attribute name, raw attribute) for "module:Qual.name"."""
    modname, _, qual = target.partition(":")
    try:
        owner = importlib.import_module(modname)
    except ModuleNotFoundError as exc:
        raise ProbeError(f"{where}: module {exc.name!r} is not installed (target {target!r})") from None
    except Exception as exc:
        raise ProbeError(f"{where}: importing {modname!r} failed ({type(exc).__name__}: {exc})") from None
    parts = qual.split(".")
    for p in parts[:-1]:
        try:
            owner = getattr(owner, p)
        except AttributeError:
            raise ProbeError(f"{where}: {target!r}: {getattr(owner, '__name__', owner)!r} has no attribute {p!r}") from None
    attr = parts[-1]
    raw = owner.__dict__.get(attr) if hasattr(owner, "__dict__") and attr in owner.__dict__ else getattr(owner, attr, None)
    if raw is None:
        raise ProbeError(f"{where}: {target!r}: {getattr(owner, '__name__', owner)!r} has no attribute {attr!r}")
    return owner, attr, raw


class _Session:
    def __init__(self, recorder):
        self.recorder = recorder
        self.counts: dict[int, int] = {}
        self.errors: list[str] = []

    def record(self, cap: Capture, getter, frame: dict | None = None) -> None:
        n = self.counts.get(cap.index, 0)
        self.counts[cap.index] = n + 1
        if cap.calls is not None and n not in cap.calls:
            return
        try:
            stage = cap.stage_name(n, frame)
            value = getter()
            arr = apply_steps(to_array(value), cap.transform, cap.where)
            self.recorder.save(stage, arr)
        except Exception as exc:  # never break the port; report after it returns
            self.errors.append(f"{cap.where}: {exc}")


def _wrap_function(func, caps: list[Capture], session: _Session, is_method: bool):
    sig = None
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        pass

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = None
        before = [c for c in caps if c.when == "before"]
        if any(c.value.root == "args" or any(f.root == "args" for f in c.fields.values()) for c in caps) \
                and sig is not None:
            try:
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
            except TypeError:
                bound = None
        frame = {"self": args[0] if is_method and args else None, "args": _Args(bound, args)}
        for c in before:
            session.record(c, lambda c=c: c.value.get(frame[c.value.root]), frame)
        result = func(*args, **kwargs)
        frame["return"] = result
        for c in caps:
            if c.when == "after":
                session.record(c, lambda c=c: c.value.get(frame[c.value.root]), frame)
        return result

    return wrapper


class _Args:
    """The call's arguments: by parameter name (``args.boxes``) or position (``args[1]``)."""

    def __init__(self, bound, raw):
        self._bound, self._raw = bound, raw

    def __getattr__(self, name):
        if self._bound is None or name not in self._bound.arguments:
            raise AttributeError(f"the call has no argument named {name!r}")
        return self._bound.arguments[name]

    def __getitem__(self, i):
        if self._bound is not None:
            return list(self._bound.arguments.values())[i]
        return self._raw[i]


@contextlib.contextmanager
def attach(probe: Probe, recorder, port_object=None):
    session = _Session(recorder)
    restore: list = []
    hooks: list = []
    try:
        by_target: dict[str, list[Capture]] = {}
        for c in probe.captures:
            if c.target and c.target != "$call":
                by_target.setdefault(c.target, []).append(c)
        for target, caps in by_target.items():
            owner, attr, raw = import_target(target, caps[0].where)
            had_own = hasattr(owner, "__dict__") and attr in owner.__dict__
            if isinstance(raw, staticmethod):
                new = staticmethod(_wrap_function(raw.__func__, caps, session, is_method=False))
            elif isinstance(raw, classmethod):
                new = classmethod(_wrap_function(raw.__func__, caps, session, is_method=True))
            elif callable(raw):
                is_method = inspect.isclass(owner) and inspect.isfunction(raw)
                new = _wrap_function(raw, caps, session, is_method=is_method)
            else:
                raise ProbeError(f"{caps[0].where}: {target!r} is not callable")
            setattr(owner, attr, new)
            restore.append((owner, attr, raw, had_own))
        for c in probe.captures:
            if c.torch_module is not None:
                hooks.append(_torch_hook(c, port_object, session))
        yield session
    finally:
        for h in hooks:
            h.remove()
        for owner, attr, raw, had_own in reversed(restore):
            if had_own:
                setattr(owner, attr, raw)
            else:
                delattr(owner, attr)


def _torch_hook(c: Capture, port_object, session: _Session):
    root = c.torch_root or "self"
    if ":" in root:
        owner, attr, module = import_target(root, c.where)
    else:
        try:
            module = parse_value_path(root).get(port_object)
        except Exception as exc:
            raise ProbeError(f"{c.where}: root {root!r}: {exc}") from None
    if not hasattr(module, "get_submodule"):
        raise ProbeError(f"{c.where}: root {root!r} is a {type(module).__name__}, not a torch.nn.Module")
    try:
        sub = module.get_submodule(c.torch_module) if c.torch_module else module
    except AttributeError:
        raise ProbeError(f"{c.where}: torch module {c.torch_module!r} does not exist under {root!r}") from None
    m = re.fullmatch(r"(output|input)((?:\[\d+\])*)", c.torch_value)
    which, idx = m.group(1), [int(i) for i in re.findall(r"\d+", m.group(2))]

    def hook(mod, inputs, output):
        def get():
            v = output if which == "output" else inputs
            for i in idx:
                v = v[i]
            return v

        session.record(c, get)

    return sub.register_forward_hook(hook)
