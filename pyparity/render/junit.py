"""JUnit XML rendering: one test case per stage group, so CI systems show a diff natively."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import OrderedDict

from pyparity.diff.compare import FAILING, IGNORED, ONLY_IN_A, ONLY_IN_B
from pyparity.atomic import write_text_atomic
from pyparity.diff.report import DiffReport
from pyparity.render.escape import printable


def stage_group(name: str, depth: int = 2) -> str:
    """``mtcnn/pnet/s03/prob`` -> ``mtcnn/pnet`` (the first ``depth`` components)."""
    return "/".join(name.split("/")[:depth])


def junit_suite(report: DiffReport, suite_name: str, depth: int = 2) -> ET.Element:
    """One test case per stage group (a failing one per group with a divergence), plus a failing
    "nothing compared" case when no stage was compared. Names and notes from the traces are escaped
    (`pyparity.render.escape`): the XML stays valid whatever a dump's index holds."""
    groups: "OrderedDict[str, list]" = OrderedDict()
    for s in report.stages:
        groups.setdefault(stage_group(s.name, depth), []).append(s)
    suite_name = printable(suite_name)
    suite = ET.Element("testsuite", name=suite_name)
    n_fail = n_skip = 0
    if report.nothing_compared:
        n_fail += 1
        case = ET.SubElement(suite, "testcase", classname=suite_name, name="nothing compared")
        msg = printable(f"nothing compared: {report.nothing_compared}")
        ET.SubElement(case, "failure", message=msg, type="nothing-compared").text = msg
    for g, stages in groups.items():
        case = ET.SubElement(suite, "testcase", classname=suite_name, name=printable(g))
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
            f = ET.SubElement(case, "failure", message=msg, type="divergence")
            f.text = "\n".join(body)
        elif all(s.status in (IGNORED, ONLY_IN_A, ONLY_IN_B) for s in stages):
            n_skip += 1
            ET.SubElement(case, "skipped", message="no aligned stage in this group")
        ET.SubElement(case, "system-out").text = "\n".join(printable(f"{s.name}: {s.status}") for s in stages)
    suite.set("tests", str(len(groups) + bool(report.nothing_compared)))
    suite.set("failures", str(n_fail))
    suite.set("errors", "0")
    suite.set("skipped", str(n_skip))
    return suite


def write_junit(reports: list[tuple[str, DiffReport]], path: str | os.PathLike, depth: int = 2) -> None:
    root = ET.Element("testsuites", name="pyparity")
    for name, rep in reports:
        root.append(junit_suite(rep, name, depth))
    ET.indent(root)
    write_text_atomic(path, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")
