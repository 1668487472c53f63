"""`pyparity hunt --isolate` on a small port written for the tests (tests/probe_ports/tiny_port.py): known
bugs are switched on, several at once, independent and chained; the hunt must name exactly the stages
where they are, and call every other difference inherited."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from pyparity.cli.app import main
from pyparity.probe import load_probe, record_probe

from tests.hunt.hunt_reports import read_hunt_json  # tests/hunt/hunt_reports.py: the JSON checked against its schema
from tests.paths import PORTS

STAGES = ("normalised", "gray", "pooled", "scale", "peaks", "boxes", "output")
BUG_STAGE = {"rgb": "normalised", "offset": "normalised", "gray_weights": "gray", "pool_hw": "pooled",
             "scale": "scale", "xyxy": "boxes", "calibration": "output"}


@pytest.fixture(autouse=True)
def _port_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(PORTS))


def tiny_probe(folder: Path, bugs: str = "", name: str = "tiny.toml") -> Path:
    caps = "".join(f'''
[[capture]]
target = "tiny_port:TinyPort.{s}"
value = "return"
stage = "tiny/{s}"
''' for s in STAGES)
    p = folder / name
    p.write_text(f'''
[probe]
name = "tiny"
requires = ["tiny_port"]

[port]
setup = "tiny_port:build"
setup_kwargs = {{ bugs = "{bugs}" }}
call = "detect"
args = ["$image_bgr"]
{caps}''')
    return p


@pytest.fixture
def case(tmp_path):
    """An image, and the reference: the tiny port without bugs, recorded through the same probe."""
    import tiny_port

    img = tmp_path / "img.png"
    cv2.imwrite(str(img), tiny_port.image())
    ref = tmp_path / "ref"
    record_probe(load_probe(tiny_probe(tmp_path, name="clean.toml")), img, out=ref)
    return img, ref


def hunt(tmp_path, case, bugs, *extra):
    img, ref = case
    out = tmp_path / "hunt.json"
    code = main(["hunt", str(tiny_probe(tmp_path, bugs)), str(img), "--reference", str(ref), "--json", str(out),
                 *extra])
    return code, read_hunt_json(out)


def introduced(doc) -> list[str]:
    return [i["stage"] for i in doc["hunt"]["introducing"]]


@pytest.mark.parametrize("bugs", ["rgb,pool_hw,xyxy", "offset,scale,calibration", "gray_weights,boxes_ok"
                                  .replace(",boxes_ok", ",xyxy"), "rgb,gray_weights,pool_hw,scale,xyxy,calibration"])
def test_isolate_names_exactly_the_injected_bugs(tmp_path, case, bugs):
    code, doc = hunt(tmp_path, case, bugs, "--isolate")
    want = sorted({f"tiny/{BUG_STAGE[b]}" for b in bugs.split(",")}, key=lambda s: STAGES.index(s[5:]))
    assert code == 1
    assert introduced(doc) == want
    h = doc["hunt"]
    # every other stage that differed in the first run was only inherited, and from an introducing stage
    first_failing = set(h["runs"][0]["failing"])
    inherited = {i["stage"] for i in h["inherited"]}
    assert first_failing - set(want) == inherited
    assert {i["cured_by_injecting"] for i in h["inherited"]} <= set(want)
    # the hunt goes on until the output matches (the output stage is a method: it can be replaced too)
    assert h["end"]["status"] == "output-matches" and not h["remaining"]


def test_a_chained_bug_is_inherited_not_introduced(tmp_path, case):
    # rgb changes every later stage; only normalised introduces it
    code, doc = hunt(tmp_path, case, "rgb", "--isolate")
    assert introduced(doc) == ["tiny/normalised"]
    assert {i["stage"] for i in doc["hunt"]["inherited"]} == {f"tiny/{s}" for s in STAGES[1:] if s != "scale"}
    assert doc["first_divergence"] == "tiny/normalised"


def test_diagnoses_name_each_injected_bug(tmp_path, case):
    code, doc = hunt(tmp_path, case, "rgb,pool_hw,scale,xyxy", "--isolate")
    causes = {i["stage"]: [h["id"] for h in i["comparison"]["diagnosis"]] for i in doc["hunt"]["introducing"]}
    assert "channel-order" in causes["tiny/normalised"]
    assert any(c.startswith("transposed") for c in causes["tiny/pooled"])
    assert "xyxy" in causes["tiny/boxes"]
    assert "values" in causes["tiny/scale"]


def test_isolate_all_tests_each_stage_on_its_own(tmp_path, case):
    code, doc = hunt(tmp_path, case, "rgb,pool_hw,xyxy", "--isolate-all")
    iso = doc["hunt"]["isolate_all"]
    assert [i["stage"] for i in iso["introducing"]] == ["tiny/normalised", "tiny/pooled", "tiny/boxes"]
    assert len(doc["hunt"]["runs"]) == 1  # without --isolate: only the first run, then the one isolate-all run


def test_no_bug_is_parity(tmp_path, case, capsys):
    code, doc = hunt(tmp_path, case, "", "--isolate")
    assert code == 0 and doc["hunt"]["end"]["status"] == "parity" and not introduced(doc)
    assert "PARITY" in capsys.readouterr().out


def test_without_isolate_only_the_first_divergence(tmp_path, case):
    code, doc = hunt(tmp_path, case, "rgb,pool_hw")
    assert code == 1 and introduced(doc) == ["tiny/normalised"] and len(doc["hunt"]["runs"]) == 1
    assert doc["hunt"]["end"]["status"] == "first-divergence"


def test_a_stage_that_cannot_take_the_reference_ends_the_hunt_with_what_remains(tmp_path, case):
    img, ref = case
    probe = tiny_probe(tmp_path, "pool_hw")
    text = probe.read_text().replace('stage = "tiny/pooled"', 'stage = "tiny/pooled"\ninject = false')
    probe.write_text(text)
    out = tmp_path / "h.json"
    code = main(["hunt", str(probe), str(img), "--reference", str(ref), "--isolate", "--json", str(out)])
    h = read_hunt_json(out)["hunt"]
    assert code == 1 and h["end"]["status"] == "not-injectable"
    assert h["introducing"][0]["why_not_injected"] == "inject = false in the probe"
    assert [s["name"] for s in h["remaining"]] == ["tiny/peaks", "tiny/boxes", "tiny/output"]


def test_max_runs_bounds_the_hunt(tmp_path, case):
    code, doc = hunt(tmp_path, case, "rgb,pool_hw,xyxy", "--isolate", "--max-runs", "2")
    assert doc["hunt"]["end"]["status"] == "run-limit" and len(doc["hunt"]["runs"]) == 2


def test_the_html_page_lists_the_chain_and_the_first_runs_stages(tmp_path, case):
    html = tmp_path / "h.html"
    code, doc = hunt(tmp_path, case, "rgb,xyxy", "--isolate", "--isolate-all", "--html", str(html))
    page = html.read_text(encoding="utf-8")
    intro = page.split("<h2>Introducing stages</h2>", 1)[1].split("</table>", 1)[0]
    assert intro.index("tiny/normalised") < intro.index("tiny/boxes")
    assert "reversed channel order (BGR vs RGB)" in intro and "align with (a convention fix)" in intro
    for section in ("Inherited", "Each stage on its own (--isolate-all)", "Runs", "Stages of the first run"):
        assert f"<h2>{section}</h2>" in page
    assert "<script" not in page and "http" not in page.split("</style>", 1)[1]


def test_the_hunt_schema_lists_exactly_the_fields_written(tmp_path, case):
    """The committed schema and the writer cannot drift apart (the sequence and corpus parts:
    tests/hunt/test_sequences.py); and it is not vacuous."""
    from tests.hunt.hunt_reports import HUNT, errors

    from pyparity.render.json_report import schema_document

    code, doc = hunt(tmp_path, case, "rgb,xyxy", "--isolate", "--isolate-all")
    defs = schema_document(HUNT)["$defs"]
    h = doc["hunt"]
    assert doc["schema"] == "pyparity-diff-report/1" and doc["kind"] == "image" and doc["exit_code"] == code
    assert set(h) == set(defs["hunt"]["properties"])
    assert all(set(i) == set(defs["introduction"]["properties"]) for i in h["introducing"] + h["isolate_all"]["introducing"])
    assert all(set(r) == set(defs["run"]["properties"]) for r in h["runs"])
    broken = dict(doc, hunt={k: v for k, v in h.items() if k != "introducing"})
    assert any("'introducing' is a required property" in e for e in errors(broken))
    assert errors(dict(doc, hunt=dict(h, end=dict(h["end"], status="done"))))


def test_a_summary_groups_a_repeated_cause_by_its_capture():
    """pyclnf's KDE grid introduces a difference at every iteration of every scale: one chain per capture,
    not one per iteration; stages without a capture still group by name (frame numbers dropped)."""
    from pyparity.hunt.summary import Item, Summary

    cap = "capture 10: f/{ws}/rigid/it{it:02d}/mean_shifts_stacked"
    a = Item("a.jpg", "a.jpg", "diverged", introduced=[("f/s0/rigid/it01/mean_shifts_stacked", "kde"),
                                                       ("f/s1/rigid/it00/mean_shifts_stacked", "scale"),
                                                       ("f/s0/sigma", "sigma")])
    a.groups = {"f/s0/rigid/it01/mean_shifts_stacked": cap, "f/s1/rigid/it00/mean_shifts_stacked": cap}
    b = Item("frame0001", "b.jpg", "diverged", introduced=[("frame0001/f/s0/sigma", "sigma"),
                                                          ("frame0001/f/s0/rigid/it01/mean_shifts_stacked", "kde")])
    b.groups = {"frame0001/f/s0/rigid/it01/mean_shifts_stacked": cap}
    chains = Summary(items=[a, b]).chains()
    assert [(c.stages, c.items, c.diagnoses) for c in chains] == [
        (["f/s0/rigid/it01/mean_shifts_stacked", "f/s1/rigid/it00/mean_shifts_stacked"], ["a.jpg", "frame0001"],
         ["kde", "scale"]),
        (["f/s0/sigma"], ["a.jpg", "frame0001"], ["sigma"])]
    assert chains[0].label == f"f/s0/rigid/it01/mean_shifts_stacked (+1 more of {cap})"
    assert chains[1].label == "f/s0/sigma" and chains[1].pattern == ""
