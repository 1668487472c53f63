"""The mapping file's schema (format: `pyparity.diff.align`), read only when a mapping file is given."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import model_validator

from pyparity.errors import PolicyError
from pyparity.tomlfile import OneOrMany, Strict, read_toml, validate


class _RenameRegex(Strict):
    pattern: str
    replace: str

    @model_validator(mode="after")
    def _compiles(self) -> "_RenameRegex":
        try:
            rx = re.compile(self.pattern)
        except re.error as exc:
            raise ValueError(f"bad pattern ({exc})") from None
        except RecursionError:
            raise ValueError("pattern nested too deeply") from None
        try:
            rx.sub(self.replace, "")  # parses the replacement: a group the pattern lacks is an error now
        except (re.error, IndexError) as exc:
            raise ValueError(f"bad replace {self.replace!r} ({exc})") from None
        return self


class MappingFile(Strict):
    """The mapping file's schema (module docstring)."""

    MESSAGES = {"rename.**": "[rename] must map stage names to stage names",
                "rename_regex.*.**": 'rename_regex {i} needs pattern = "..." and replace = "..."',
                "rename_regex": "rename_regex must be a list of [[rename_regex]] tables",
                "ignore.**": "ignore must be a list of globs",
                "strip_prefix_a": "strip_prefix_a must be a string", "strip_prefix_b": "strip_prefix_b must be a string"}
    rename: dict[str, str] = {}
    rename_regex: list[_RenameRegex] = []
    ignore: OneOrMany = []
    strip_prefix_a: str = ""
    strip_prefix_b: str = ""


def read_mapping_file(path: Path) -> MappingFile:
    return validate(MappingFile, read_toml(path, "mapping file", PolicyError), str(path), PolicyError)
