"""JUnit XML rendering: one test case per stage group that was compared, so CI systems show a diff natively.

A group (``mtcnn/pnet``: the first two name components) is a test case when at least one of its stages
was compared; groups whose stages are all on one side or ignored are not test cases (they would show
as skipped tests in every report) but are counted once in the suite's ``system-out``. Times are the
comparison's own (``DiffReport.stage_seconds`` summed per group); the suite's is the whole diff's.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import OrderedDict

from pyparity.atomic import write_text_atomic
from pyparity.diff.compare import FAILING, IGNORED, ONLY_IN_A, ONLY_IN_B
from pyparity.diff.report import DiffReport
from pyparity.render.escape import printable

_NOT_COMPARED = (IGNORED, ONLY_IN_A, ONLY_IN_B)


def stage_group(name: str, depth: int = 2) -> str:
    """``mtcnn/pnet/s03/prob`` -> ``mtcnn/pnet`` (the first ``depth`` components)."""
    return "/".join(name.split("/")[:depth])


def _seconds(x: float) -> str:
    return f"{max(x, 0.0):.6f}"


def junit_suite(report: DiffReport, suite_name: str, depth: int = 2, seconds: float | None = None) -> ET.Element:
    """One test case per compared stage group (a failing one per group with a divergence), plus a failing
    "nothing compared" case when no stage was compared. ``seconds``: the suite's time (default: the
    diff's). Names and notes from the traces are escaped (`pyparity.render.escape`): the XML stays
    valid whatever a dump's index holds."""
    import pyparity

    groups: "OrderedDict[str, list[int]]" = OrderedDict()
    for i, s in enumerate(report.stages):
        groups.setdefault(stage_group(s.name, depth), []).append(i)
    timed = len(report.stage_seconds) == len(report.stages)
    suite_name = printable(suite_name)
    suite = ET.Element("testsuite", name=suite_name)
    props = ET.SubElement(suite, "properties")
    for k, v in (("pyparity", pyparity.__version__), ("a", report.origin("a")["label"]),
                 ("b", report.origin("b")["label"]), ("policy", report.policy_source)):
        ET.SubElement(props, "property", name=k, value=printable(v))
    n_tests = n_fail = 0
    if report.nothing_compared:
        n_tests += 1
        n_fail += 1
        case = ET.SubElement(suite, "testcase", classname=suite_name, name="nothing compared", time=_seconds(0))
        msg = printable(f"nothing compared: {report.nothing_compared}")
        ET.SubElement(case, "failure", message=msg, type="nothing-compared").text = msg
    not_compared: list[str] = []
    for g, idx in groups.items():
        stages = [report.stages[i] for i in idx]
        if all(s.status in _NOT_COMPARED for s in stages):
            not_compared.append(g)
            continue
        n_tests += 1
        t = sum(report.stage_seconds[i] for i in idx) if timed else 0.0
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=printable(g), time=_seconds(t))
        failing = [s for s in stages if s.status in FAILING]
        if failing:
            n_fail += 1
            first = failing[0]
            msg = printable(f"{len(failing)} stage(s) diverged; first: {first.name} ({first.status})")
            body = [msg] + [
                printable(f"{s.name}: {s.status} max_abs={s.max_abs} n_over={s.n_over}/{s.n_total} {s.note}".rstrip())
                + "".join(f"\n  likely cause: {printable(h.title)}" for h in s.diagnosis)
                for s in failing
            ]
            ET.SubElement(case, "failure", message=msg, type="divergence").text = "\n".join(body)
    c = report.counts()
    one_sided = ", ".join(f"{c[k]} stage(s) {k}" for k in (ONLY_IN_A, ONLY_IN_B, IGNORED) if c.get(k))
    if one_sided:
        ET.SubElement(suite, "system-out").text = printable(
            f"not compared: {one_sided}" + (f"; groups with no compared stage: {', '.join(not_compared)}"
                                            if not_compared else ""))
    suite.set("tests", str(n_tests))
    suite.set("failures", str(n_fail))
    suite.set("errors", "0")
    suite.set("skipped", "0")
    suite.set("time", _seconds(report.seconds if seconds is None else seconds))
    return suite


def junit_document(suites: list[ET.Element], name: str = "pyparity") -> ET.Element:
    """``<testsuites>`` around ``suites``, with their totals."""
    root = ET.Element("testsuites", name=name)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    time = 0.0
    for s in suites:
        root.append(s)
        for k in totals:
            totals[k] += int(s.get(k, "0"))
        time += float(s.get("time", "0"))
    for k, v in totals.items():
        root.set(k, str(v))
    root.set("time", _seconds(time))
    return root


def junit_text(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(reports: list[tuple[str, DiffReport]], path: str | os.PathLike, depth: int = 2) -> None:
    write_text_atomic(path, junit_text(junit_document([junit_suite(rep, name, depth) for name, rep in reports])))
