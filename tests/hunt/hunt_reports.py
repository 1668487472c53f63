"""Reads what `pyparity hunt --json` wrote, checked against the committed schemas (the hunt tests share
it): one image gives a pyparity-diff-report/1 document whose `hunt` is the hunt report's ``$defs/hunt``;
a sequence or a corpus gives a pyparity-hunt-report/1 document."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator

from pyparity.render.json_report import schema_document

DIFF, HUNT = "pyparity-diff-report/1", "pyparity-hunt-report/1"


@lru_cache(maxsize=None)
def _validator(kind: str, part: str = "") -> Draft202012Validator:
    schema = schema_document(kind)
    Draft202012Validator.check_schema(schema)
    if part:  # one definition of the schema, e.g. the hunt object inside a diff report
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{part}"}
    return Draft202012Validator(schema)


def errors(doc: dict) -> list[str]:
    out = [f"{list(e.absolute_path)}: {e.message}" for e in _validator(doc.get("schema", "?")).iter_errors(doc)]
    if doc.get("schema") == DIFF:
        out += [f"hunt{list(e.absolute_path)}: {e.message}" for e in _validator(HUNT, "hunt").iter_errors(doc["hunt"])]
    return out


def read_hunt_json(path) -> dict:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    assert doc.get("schema") in (DIFF, HUNT), doc.get("schema")
    bad = errors(doc)
    assert not bad, bad[:5]
    return doc
