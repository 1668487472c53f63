"""The probe file's schema: pydantic models of its tables, which `load_probe` validates every probe file
against (types and keys; any other key is refused) and which docs/probes.md's key reference is
generated from (`pyparity.probe.schema_doc`; a test keeps the page in step).

Each key is declared with `key`: its type, its default and what it means in the words of the
reference page. `load_probe` checks what the values mean (a target's form, a stage template, ...).
"""

from __future__ import annotations

from typing import Any, Union

from pydantic import Field

from pyparity.tomlfile import Strict

__all__ = ["ProbeFile", "SECTIONS", "keys"]

Scalar = Union[str, int, float, bool]


def key(default: Any, type_text: str, default_text: str, doc: str) -> Any:
    """A key of a probe table: its pydantic default plus the reference page's type, default and meaning."""
    return Field(default, description=doc, json_schema_extra={"type_text": type_text, "default_text": default_text})


REQUIRED = ...


class ProbeTable(Strict):
    name: str | None = key(None, "string", "the file's stem",
                           "The probe's name in reports and in a trace's producer block.")
    description: str = key("", "string", '""', "One line about the port.")
    requires: list[str] = key([], "list of strings", "[]",
                              "Modules that must import; else the run stops with \"not installed\" and `install`. "
                              "The probe's folder is importable while they are imported.")
    install: str = key("", "string", '""', "How to install the port, shown when `requires` fails.")
    policy: str | None = key(None, "string", "the built-in default",
                             "The hunt's tolerance policy unless `--policy`: a built-in name, or a TOML path (with a "
                             "`/` or ending `.toml`) relative to the probe file.")


class PortTable(Strict):
    setup: str | None = key(None, "\"module:callable\"", "none",
                            "Builds the port object (a class or a factory). The probe's folder is importable while "
                            "the probe runs, so a setup module beside the probe needs no PYTHONPATH.")
    setup_args: list[Any] = key([], "list", "[]", "Positional arguments of `setup` (placeholders allowed).")
    setup_kwargs: dict[str, Any] = key({}, "table", "{}", "Keyword arguments of `setup` (placeholders allowed).")
    call: str | None = key(None, "string", "required",
                           "A method of the `setup` object, or `\"module:function\"`: called once per input (once per "
                           "frame of a sequence, on the same object, so the port's state carries between frames).")
    args: list[Any] = key([], "list", "[]", "Positional arguments of `call` (placeholders allowed).")
    kwargs: dict[str, Any] = key({}, "table", "{}", "Keyword arguments of `call`.")
    env: dict[str, Scalar] = key({}, "table of strings", "{}",
                                 "Environment variables set while the port runs, restored after.")
    record_return: str | None = key(None, "string (a stage name)", "none",
                                    "Records the whole result of `call` under this stage: shorthand for a capture "
                                    "with `target = \"$call\"`, `value = \"return\"`.")


class CaptureTable(Strict):
    stage: str = key(REQUIRED, "string", "required",
                     "The reference's stage name; `{n}` is the capture's call number (from 0, counting every call of "
                     "the target, also the ones `calls` leaves out); `{field}` takes a value of the call (`fields`).")
    target: str | None = key(None, "\"module:Qual.name\" or \"$call\"", "one of target / torch_module / tensor",
                             "A function or method, patched on its owner for the run (`$call`: the top-level call's "
                             "result, recorded after it returns; never injected: nothing of the port runs after it).")
    value: str | list[str] | None = key(None, "value path, or a list of them", "\"return\"",
                                        "What to record: `return`, `args.NAME`, `args[i]`, `self.ATTR`, then `.attr`, "
                                        "`['key']`, `[i, 1:3, ...]` (parsed, never evaluated). A list takes several "
                                        "values of one call, joined by a `concat` or `stack` transform.")
    when: str | None = key(None, "\"before\" or \"after\"", "before for args.*, after otherwise",
                           "Whether the value is read before or after the call; a value injected before the call "
                           "replaces the argument the call receives.")
    transform: Any = key(None, "table or list of tables", "none",
                         "Alignment steps into the reference's conventions, applied in order (see Transforms); run "
                         "backwards when the reference's value is injected.")
    calls: list[int] | None = key(None, "list of integers", "every call",
                                  "Only these call numbers are recorded (and injected).")
    fields: dict[str, str] = key({}, "table of value paths", "{}",
                                 "Values taken from the call for the stage template, e.g. "
                                 "`{ ws = \"args.window_size\" }` for `stage = \"fit/{ws}/responses\"`.")
    lookup: dict[str, dict[str, Scalar]] = key({}, "table of tables", "{}",
                                               "Maps a field's value to a stage-name part, e.g. "
                                               "`{ ws = { 11 = \"s0\", 9 = \"s1\" } }` (a field with a lookup must "
                                               "take one of its values).")
    inject: bool = key(True, "boolean", "true",
                       "`false`: never replace the port's value here (`hunt --isolate` then stops at this stage if "
                       "it introduces a difference).")
    count: str | None = key(None, "\"module:Qual.name\"", "none",
                            "Instead of `value`: how many times that function ran during this call (an iteration "
                            "count, seen from outside), as int32.")
    inject_into: str | None = key(None, "value path (self.ATTR or args.NAME)", "none",
                                  "Where the reference's value goes, before the call, instead of the value path "
                                  "(restored after the call): a `count` is injected as the port's loop bound, e.g. "
                                  "`inject_into = \"self.max_iterations\"`.")
    torch_module: str | None = key(None, "dotted module name", "one of target / torch_module / tensor",
                                   "A `torch.nn.Module` inside `root`, captured by forward hooks (`input[...]` before "
                                   "the forward, `output[...]` after; both injectable).")
    root: str | None = key(None, "value path or \"module:attr\"", "\"self\"",
                           "Where `torch_module` is found: a path from the port object, or a module attribute.")
    tensor: str | None = key(None, "string", "one of target / torch_module / tensor",
                             "An ONNX graph tensor (`[onnx]` probes), or `\"*\"` for every intermediate one (recorded "
                             "as STAGE/<tensor name>). Only graph inputs can be injected.")


class OnnxTable(Strict):
    model: str = key(REQUIRED, "path", "required",
                     "The ONNX graph (placeholders allowed, e.g. `$probe_dir/model.onnx`); run by onnxruntime with "
                     "every captured tensor exposed as an output.")
    inputs: dict[str, Any] = key({}, "table", "{}",
                                 "The graph's inputs: a placeholder, or `{ from = \"$ref:STAGE\", transform = {...} }`.")


class ProbeFile(Strict):
    """A probe file (types and keys; `load_probe` checks what the values mean)."""

    MESSAGES = {"onnx.model": '[onnx] needs model = "path.onnx"',
                "capture.*": "capture {i}: a capture is a [[capture]] table",
                "capture.*.stage": 'needs stage = "reference/stage/name" (may use {{n:02d}})',
                "capture.*.calls.**": "capture {i}: calls must be a list of call numbers",
                "capture.*.fields.**": 'capture {i}: fields are value paths, e.g. fields = {{ ws = "args.window_size" }}',
                "capture.*.lookup.**": "capture {i}: lookup tables map values of a field to strings",
                "capture.*.value.**": "capture {i}: value is a value path, or a list of them joined by concat/stack",
                "capture.*.inject": "capture {i}: inject = true or false",
                "capture.*.count": 'capture {i}: count = "package.module:Qualified.name"',
                "capture.*.inject_into": 'capture {i}: inject_into = "self.ATTR" or "args.NAME"'}
    TOP_LEVEL = "[probe], [port], [[capture]], [onnx]"
    probe: ProbeTable = ProbeTable()
    port: PortTable | None = None
    capture: list[CaptureTable] = []
    onnx: OnnxTable | None = None


# the reference page's sections, in its order
SECTIONS: dict[str, type[Strict]] = {"[probe]": ProbeTable, "[port]": PortTable, "[[capture]]": CaptureTable,
                                     "[onnx]": OnnxTable}


def keys(section: str) -> set[str]:
    """The keys a table accepts: ``"[port]"`` -> {"setup", ...}."""
    return set(SECTIONS[section].model_fields)
