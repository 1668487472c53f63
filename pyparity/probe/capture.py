"""Capturing values from a running port without editing it: patch, record, (inject,) restore.

`attach(probe, recorder, port_object, injector=None)` is a context manager. It replaces each captured
function or method by a wrapper that calls the original, records the selected value (copied, so the
port's own results are untouched) and returns the original result; torch captures register forward
(pre-)hooks. With an `Injector`, a capture whose stage it names also *replaces* the port's value there
by the reference's (inject.py): arguments before the call, return values and attributes after it, a
torch module's input or output. Everything is restored on exit, also when the port raises. A capture
that fails (a value path that does not exist at run time) does not disturb the port: the error is
raised after the call returns, naming the probe line, the capture and the call number.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import re
from typing import Any

import numpy as np

from pyparity.probe.inject import InjectionError, Injector, replace_at, restore_type
from pyparity.probe.inverse import InverseError, forward, inverse
from pyparity.probe.spec import Capture, Probe, ProbeError
from pyparity.probe.transforms import JOINS, TransformError
from pyparity.probe.valuepath import ValuePath, parse_value_path


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


def _parts(value: Any) -> list[np.ndarray]:
    """A captured sequence as arrays (for concat/stack): tensors detached, each element copied."""
    seq = value if isinstance(value, (list, tuple)) else list(to_array(value))
    return [to_array(v) for v in seq]


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


_NOTHING = object()


class Session:
    """One run's captures: call counts, what was recorded, the errors, and the injections."""

    def __init__(self, recorder, injector: Injector | None = None, reference=None):
        self.recorder = recorder
        self.injector = injector
        self.reference = reference if reference is not None else getattr(injector, "reference", None)
        self.counts: dict[int, int] = {}          # capture index -> calls seen
        self.counted: dict[str, int] = {}         # count = "module:qual" target -> calls so far
        self.counted_at: dict[str, int] = {}      # ... -> stages recorded when it last ran
        self.recorded: list[str] = []             # stages in recording order
        self.when: dict[str, float] = {}          # stage -> when the port computed it, where that is not
        #                                           when it was recorded (a count: after its last counted call)
        self.stages: dict[str, int] = {}          # stage recorded -> capture index
        self.errors: list[str] = []

    def fire(self, cap: Capture, frame: dict | None, getter=None, n: int | None = None) -> Any:
        """Record ``cap``'s value for this call; returns the reference's value in the port's type when
        the injector asks for this stage, else ``_NOTHING``. ``n``: the call number, when the caller
        already counted the call (`inject_before`)."""
        if n is None:
            n = self.counts.get(cap.index, 0)
            self.counts[cap.index] = n + 1
        if cap.calls is not None and n not in cap.calls:
            return _NOTHING
        stage = None
        try:
            stage = cap.stage_name(n, frame)
            raw = getter() if getter is not None else cap.read(frame)
            arr, tape = self._forward(cap, raw, stage)
            self.recorder.save(stage, arr)
            self.stages[stage] = cap.index
            self.recorded.append(stage)
            if cap.count is not None:
                self.when[stage] = self.counted_at.get(cap.count, len(self.recorded) - 1) - 0.5
        except Exception as exc:  # never break the port; report after it returns
            self.errors.append(f"{cap.where}, call {n}{f' ({stage})' if stage else ''}: {exc}")
            return _NOTHING
        if self.injector is None or cap.inject_into is not None or not self.injector.wants(stage, cap.index):
            return _NOTHING
        try:
            if cap.injectable is not True:
                raise InjectionError(cap.injectable or "this capture cannot inject")
            new = inverse(self.injector.value(stage), cap.transform, tape)
            new = restore_type(new, raw if not isinstance(new, list) or isinstance(raw, (list, tuple)) else None)
        except (InverseError, InjectionError, ValueError, TypeError) as exc:
            self.injector.failed.setdefault(stage, str(exc))
            return _NOTHING
        self.injector.injected.append(stage)
        return new

    def inject_before(self, cap: Capture, frame: dict, bound) -> tuple[int, list]:
        """For a capture with ``inject_into``: this call's number, and (when the injector asks for its
        stage) the reference's value written at ``inject_into`` before the call; returns what to
        restore after the call."""
        n = self.counts.get(cap.index, 0)
        self.counts[cap.index] = n + 1
        if self.injector is None or (cap.calls is not None and n not in cap.calls):
            return n, []
        try:
            stage = cap.stage_name(n, frame)
        except Exception:
            return n, []  # fire() reports it after the call
        if not self.injector.wants(stage, cap.index):
            return n, []
        path = cap.inject_into
        try:
            original = path.get(frame[path.root])
            new = restore_type(np.asarray(self.injector.value(stage)).reshape(np.shape(original)), original)
            undo = []
            if path.root == "self":
                holder = ValuePath(path.text, "self", path.steps[:-1]).get(frame["self"])
                undo = [(holder, path.steps[-1], original)]
                replace_at(frame["self"], path, new, self.injector.notes, stage)
            else:
                _write_args(path, new, bound, self.injector.notes, stage, after=False)
        except (InjectionError, ValueError, TypeError, IndexError, AttributeError, KeyError) as exc:
            self.injector.failed.setdefault(stage, str(exc))
            return n, []
        self.injector.injected.append(stage)
        return n, undo

    def _forward(self, cap: Capture, raw: Any, stage: str):
        value = _parts(raw) if cap.transform and cap.transform[0][0] in JOINS else (
            [to_array(r) for r in raw] if cap.multi else to_array(raw))
        try:
            return forward(value, cap.transform)
        except TransformError:
            if not _is_empty(value):
                raise
        # a port that found nothing: an empty array of the stage's dtype (and the reference's row shape)
        dtype = next((np.dtype(v) for k, v, _ in reversed(cap.transform) if k == "dtype"), None)
        dtype = dtype or (value[0].dtype if isinstance(value, list) and value else np.asarray(value).dtype)
        shape = (0,)
        ref = self.reference
        if ref is not None and stage in ref and len(ref.info(stage).shape) >= 1:
            shape = (0,) + tuple(ref.info(stage).shape[1:])
        return np.empty(shape, dtype=dtype), _EmptyTape()


class _EmptyTape:
    inputs: list = []
    parts = None


def _is_empty(value) -> bool:
    if isinstance(value, list):
        return not value or all(np.asarray(v).size == 0 for v in value)
    return np.asarray(value).size == 0


def _write(cap: Capture, frame: dict, new: Any, bound, notes: list[str], stage: str = "") -> None:
    """Put ``new`` (one value, or one per path) at the capture's path(s) in the call's frame."""
    news = new if cap.multi else [new]
    for path, value in zip(cap.paths, news):
        if path.root == "return":
            frame["return"] = replace_at(frame["return"], path, value, notes, stage)
        elif path.root == "self":
            if not path.steps:
                raise InjectionError("cannot replace the object itself (self)")
            replace_at(frame["self"], path, value, notes, stage)
        else:
            _write_args(path, value, bound, notes, stage, after=bool(frame.get("after")))


def _write_args(path: ValuePath, value, bound, notes, stage: str, after: bool) -> None:
    if bound is None:
        raise InjectionError("the call's arguments could not be bound to its signature")
    kind, key = path.steps[0]
    names = list(bound.arguments)
    name = key if kind == "attr" else names[key] if isinstance(key, int) and key < len(names) else None
    if name not in bound.arguments:
        raise InjectionError(f"the call has no argument {key!r}")
    rest = ValuePath(path.text, "args", path.steps[1:])
    if after and isinstance(bound.arguments[name], np.ndarray) and not rest.steps:
        np.copyto(bound.arguments[name], value)  # an output argument the call filled in
    else:
        bound.arguments[name] = replace_at(bound.arguments[name], rest, value, notes, stage)


def _wrap_function(func, caps: list[Capture], session: Session, is_method: bool):
    sig = None
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        pass
    injecting = session.injector is not None
    needs_bound = injecting or any(any(p.root == "args" for p in c.paths) or any(f.root == "args" for f in c.fields.values())
                                   for c in caps)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        bound = None
        if needs_bound and sig is not None:
            try:
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
            except TypeError:
                bound = None
        frame = {"self": args[0] if is_method and args else None, "args": _Args(bound, args)}
        changed = False
        calls, undo, started = {}, [], {}
        for c in caps:
            if c.inject_into is not None:
                calls[c.index], u = session.inject_before(c, frame, bound)
                undo += u
                changed = changed or (bool(u) or c.inject_into.root == "args")
            if c.count is not None:
                started[c.index] = session.counted.get(c.count, 0)
            if c.when == "before":
                new = session.fire(c, frame, n=calls.get(c.index))
                if new is not _NOTHING:
                    _inject(c, frame, new, bound, session)
                    changed = True
        if changed and bound is not None:
            args, kwargs = bound.args, bound.kwargs
        try:
            result = func(*args, **kwargs)
        finally:
            for holder, (kind, key), original in reversed(undo):
                if kind == "attr" and not isinstance(holder, dict):
                    setattr(holder, key, original)
                else:
                    holder[key] = original
        frame["return"] = result
        frame["after"] = True
        for c in caps:
            if c.when == "after":
                getter = None
                if c.count is not None:
                    ran = session.counted.get(c.count, 0) - started[c.index]
                    getter = lambda ran=ran: np.int32(ran)
                new = session.fire(c, frame, getter, n=calls.get(c.index))
                if new is not _NOTHING:
                    _inject(c, frame, new, bound, session)
        return frame["return"]

    return wrapper


def _inject(cap: Capture, frame: dict, new, bound, session: Session) -> None:
    inj = session.injector
    stage = inj.injected[-1] if inj.injected else cap.stage
    try:
        _write(cap, frame, new, bound, inj.notes, stage)
    except (InjectionError, ValueError, TypeError, IndexError) as exc:
        inj.injected.pop()
        inj.failed.setdefault(stage, str(exc))


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
def attach(probe: Probe, recorder, port_object=None, injector: Injector | None = None, reference=None):
    session = Session(recorder, injector, reference)
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
        for counted in sorted({c.count for c in probe.captures if c.count}):
            owner, attr, raw = import_target(counted, next(c.where for c in probe.captures if c.count == counted))
            had_own = hasattr(owner, "__dict__") and attr in owner.__dict__
            setattr(owner, attr, _counting(raw, counted, session))
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


def _counting(raw, name: str, session: Session):
    """``raw`` (a function, static- or classmethod) that counts its calls in ``session.counted[name]``."""
    func = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw

    @functools.wraps(func)
    def counted(*args, **kwargs):
        session.counted[name] = session.counted.get(name, 0) + 1
        try:
            return func(*args, **kwargs)
        finally:
            session.counted_at[name] = len(session.recorded)

    return type(raw)(counted) if isinstance(raw, (staticmethod, classmethod)) else counted


def _torch_hook(c: Capture, port_object, session: Session):
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
    which = m.group(1)
    path = ValuePath(c.torch_value, "return", tuple(("index", int(i)) for i in re.findall(r"\d+", m.group(2))))

    def replaced(value, new):
        try:
            return replace_at(value, path, new, session.injector.notes, session.injector.injected[-1])
        except (InjectionError, ValueError, TypeError, IndexError) as exc:
            session.injector.failed.setdefault(session.injector.injected.pop(), str(exc))
            return _NOTHING

    if which == "input":
        def pre_hook(mod, inputs):
            new = session.fire(c, None, lambda: path.get(inputs))
            if new is _NOTHING:
                return None
            out = replaced(tuple(inputs), new)
            return None if out is _NOTHING else out

        return sub.register_forward_pre_hook(pre_hook)

    def hook(mod, inputs, output):
        new = session.fire(c, None, lambda: path.get(output))
        if new is _NOTHING:
            return None
        out = replaced(output, new)
        return None if out is _NOTHING else out

    return sub.register_forward_hook(hook)


__all__ = ["attach", "import_target", "to_array", "Session", "TransformError", "InverseError"]
