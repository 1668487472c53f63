"""Tolerance policies: which tolerance applies to which stage, chosen by glob, read from TOML.

A policy file::

    [default]                 # when no rule matches
    rtol = 1e-5
    ulps = 4
    [[rule]]                  # rules are tried in file order; the first match wins
    stages = ["**/landmarks*"]
    atol = 0.005              # |b - a| <= atol + rtol * |a|
    [[rule]]
    stages = ["**/*_keep"]
    exact = true              # bit-identical: NaN payloads and the sign of zero count
    [[rule]]
    stages = ["mtcnn/pnet/merged/*"]
    order = "set"             # rows may come in another order
    [[rule]]
    stages = ["**/crops"]
    ignore = true

Keys of a tolerance: ``atol``, ``rtol``, ``ulps`` (an element passes if it is within atol/rtol OR
within ``ulps`` units in the last place), ``rtol_max`` (adds ``rtol_max × max|a|`` over the stage to
atol: "error ≤ 1e-4 × the stage's largest value", for feature maps whose small values carry no
meaning), ``exact``, ``order`` ("sequence" | "set"), ``ignore``,
``check_dtype`` (default true), ``nan_equal`` (NaN == NaN at the same place; default true),
``expected`` (a reason: the stage is *expected* to diverge — e.g. where a named fix changes upstream's
behaviour; its divergence is reported separately and fails nothing).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from pyparity.errors import PolicyError
from pyparity.textfile import read_text
from pyparity.trace.trace import glob_match

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# float64 keys of two finite doubles are at most 2**64 apart; a larger count means "any finite value"
MAX_ULPS = 2 ** 62
_KEYS = {"atol", "rtol", "rtol_max", "ulps", "exact", "order", "ignore", "check_dtype", "nan_equal", "expected"}


@dataclass(frozen=True)
class Tolerance:
    atol: float = 0.0
    rtol: float = 0.0
    rtol_max: float = 0.0
    ulps: int | None = None
    exact: bool = False
    order: str = "sequence"
    ignore: bool = False
    check_dtype: bool = True
    nan_equal: bool = True
    expected: str = ""

    def describe(self) -> str:
        if self.ignore:
            return "ignored"
        if self.exact:
            parts = ["exact (bitwise)"]
        else:
            parts = []
            if self.atol:
                parts.append(f"abs≤{self.atol:g}")
            if self.rtol:
                parts.append(f"rel≤{self.rtol:g}")
            if self.rtol_max:
                parts.append(f"abs≤{self.rtol_max:g}×max|a|")
            if self.ulps is not None:
                parts.append(f"{self.ulps} ulp")
            if not parts:
                parts.append("equal")
        text = " or ".join(parts)
        return text + (", any order" if self.order == "set" else "")


@dataclass(frozen=True)
class Rule:
    patterns: tuple[str, ...]
    tolerance: Tolerance


@dataclass
class Policy:
    rules: list[Rule] = field(default_factory=list)
    default: Tolerance = field(default_factory=lambda: Tolerance(rtol=1e-5, ulps=4))
    source: str = "<built-in>"
    # (globs, reason): stages expected to diverge *under their own rule's tolerance* (see with_expected)
    expected_overlays: tuple[tuple[tuple[str, ...], str], ...] = ()

    def tolerance_for(self, stage: str) -> Tolerance:
        tol = next((r.tolerance for r in self.rules if any(glob_match(stage, p) for p in r.patterns)), self.default)
        if tol.exact or tol.ignore or tol.expected:
            return tol
        for patterns, reason in self.expected_overlays:
            if any(glob_match(stage, p) for p in patterns):
                return replace(tol, expected=reason)
        return tol

    def with_expected(self, patterns, reason: str, label: str = "expected divergences") -> "Policy":
        """This policy with the stages matching ``patterns`` expected to diverge (``reason``), each still
        compared under the tolerance its rule gives it; exact and ignored stages are left as they are
        (a decision that changes still fails)."""
        return Policy(self.rules, self.default, f"{self.source} + {label}",
                      self.expected_overlays + ((tuple(patterns), reason),))

    def rule_for(self, stage: str) -> str:
        for rule in self.rules:
            for p in rule.patterns:
                if glob_match(stage, p):
                    return p
        return "default"

    def merged_over(self, base: "Policy") -> "Policy":
        """This policy's rules first, then ``base``'s; this policy's default."""
        return Policy(self.rules + base.rules, self.default, f"{self.source} + {base.source}",
                      self.expected_overlays + base.expected_overlays)


def _tolerance(table: dict, where: str, base: Tolerance | None = None) -> Tolerance:
    unknown = set(table) - _KEYS - {"stages"}
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_KEYS))})")
    kw = {}
    for k in ("atol", "rtol", "rtol_max"):
        if k in table:
            v = table[k]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                raise PolicyError(f"{where}: {k} must be a finite non-negative number, got {v!r}")
            kw[k] = float(v)
    if "ulps" in table:
        v = table["ulps"]
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_ULPS:
            raise PolicyError(f"{where}: ulps must be an integer from 0 to {MAX_ULPS}, got {v!r}")
        kw["ulps"] = v
    for k in ("exact", "ignore", "check_dtype", "nan_equal"):
        if k in table:
            if not isinstance(table[k], bool):
                raise PolicyError(f"{where}: {k} must be true or false, got {table[k]!r}")
            kw[k] = table[k]
    if "expected" in table:
        if not isinstance(table["expected"], str) or not table["expected"].strip():
            raise PolicyError(f"{where}: expected must be the reason the stage diverges (a non-empty string)")
        kw["expected"] = table["expected"]
    if "order" in table:
        if table["order"] not in ("sequence", "set"):
            raise PolicyError(f"{where}: order must be \"sequence\" or \"set\", got {table['order']!r}")
        kw["order"] = table["order"]
    if base is not None and not ({"atol", "rtol", "rtol_max", "ulps", "exact"} & set(kw)):
        return replace(base, **kw)
    return Tolerance(**kw)


def parse_policy(data: dict, source: str) -> Policy:
    unknown = set(data) - {"default", "rule", "description"}
    if unknown:
        raise PolicyError(f"{source}: unknown section(s) {', '.join(sorted(unknown))} (expected [default], [[rule]])")
    if not isinstance(data.get("description", ""), str):
        raise PolicyError(f"{source}: description must be a string")
    default = Policy().default
    if "default" in data:
        if not isinstance(data["default"], dict):
            raise PolicyError(f"{source}: [default] must be a table")
        if "stages" in data["default"]:
            raise PolicyError(f"{source} [default]: stages belongs in a [[rule]] (the default applies to every other stage)")
        default = _tolerance(data["default"], f"{source} [default]")
    rules = []
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise PolicyError(f"{source}: rules must be written as [[rule]] tables")
    for i, r in enumerate(raw_rules, start=1):
        where = f"{source} rule {i}"
        if not isinstance(r, dict):
            raise PolicyError(f"{where}: must be a table")
        stages = r.get("stages")
        if isinstance(stages, str):
            stages = [stages]
        if not stages or not isinstance(stages, list) or not all(isinstance(s, str) and s for s in stages):
            raise PolicyError(f"{where}: needs stages = [\"glob\", ...]")
        rules.append(Rule(tuple(stages), _tolerance(r, where, base=default)))
    return Policy(rules, default, source)


def load_policy(path: str | Path | None) -> Policy:
    """Read a policy TOML file; ``None`` gives the built-in default policy."""
    if path is None:
        return default_policy()
    p = Path(path)
    text = read_text(p, "policy file", PolicyError, not_utf8="; a policy file is TOML in UTF-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{p}: not valid TOML ({exc})") from None
    except RecursionError:
        raise PolicyError(f"{p}: not valid TOML (nested too deeply)") from None
    return parse_policy(data, str(p))


BUILTIN_POLICY_DIR = Path(__file__).resolve().parents[1] / "policies"


def default_policy() -> Policy:
    return load_policy(BUILTIN_POLICY_DIR / "default.toml")


def builtin_policy(name: str) -> Policy:
    """A committed component policy (``pyparity/policies/<name>.toml``) over the default one."""
    p = BUILTIN_POLICY_DIR / f"{name}.toml"
    if not p.is_file():
        raise PolicyError(f"no built-in policy named {name!r} (have: "
                          f"{', '.join(sorted(x.stem for x in BUILTIN_POLICY_DIR.glob('*.toml')))})")
    return load_policy(p)
