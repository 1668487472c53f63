"""`pyparity hunt` on sequences (an image folder, frame after frame), on corpora (a folder of images or a
corpus spec) and against pyparity's own pipelines as the reference, with the shipped pymtcnn probe
and the shared OpenFace samples; bad input is one line and exit 2."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from pyparity.cli.app import main
from pyparity.render.json_report import schema_document

from tests.hunt.hunt_reports import read_hunt_json  # tests/hunt/hunt_reports.py: the JSON checked against its schema

DUMPS = "reference_dumps/openface-2.0.2/images"


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path_factory, shared_dir):
    monkeypatch.setenv("PYPARITY_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "probe-port-cache"))
    monkeypatch.setenv("PYPARITY_SHARED", str(shared_dir))
    missing = [m for m in ("pymtcnn", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        if os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("PYPARITY_REQUIRE_PORTS") == "1":
            pytest.fail(f"in CI the probe ports must be installed: needs {', '.join(missing)}")
        pytest.skip(f"needs {', '.join(missing)} (bash .ci/install-probe-ports.sh .venv)")


@pytest.fixture
def three_frames(tmp_path, samples_dir):
    """012 (pymtcnn agrees with C++), 013 and 018 (an NMS tie broken the other way), as a sequence."""
    d = tmp_path / "frames"
    d.mkdir()
    for f in ("012.jpg", "013.jpg", "018.jpg"):
        (d / f).symlink_to(samples_dir / "image_sequence" / f)
    return d


def hunt(tmp_path, *args):
    out = tmp_path / "hunt.json"
    code = main(["hunt", "pymtcnn-1.2", *args, "--json", str(out)])
    return code, read_hunt_json(out) if out.exists() else None


def test_a_sequence_against_the_dumps_named_after_its_files(tmp_path, three_frames, shared_dir, openface_model_dir):
    code, doc = hunt(tmp_path, str(three_frames), "--reference", str(shared_dir / DUMPS), "--model-dir",
                     str(openface_model_dir))
    assert code == 1 and doc["kind"] == "sequence"
    items = doc["summary"]["items"]
    assert [(i["name"], i["input"], i["status"]) for i in items] == [
        ("frame0000", "012.jpg", "match"), ("frame0001", "013.jpg", "diverged"), ("frame0002", "018.jpg", "diverged")]
    assert all(i["first_divergence"] == "mtcnn/pnet/corrected_boxes" for i in items[1:])
    assert all(i["first_cause"].startswith("NMS tie-break") for i in items[1:])
    assert doc["summary"]["first_divergence_by_stage"] == [{"stage": "mtcnn/pnet/corrected_boxes", "items": 2}]
    assert doc["summary"]["worst"][0] == "frame0002"   # 018: the final box moves by ~10 px


def test_a_sequence_isolated_against_pyparitys_mtcnn(tmp_path, three_frames, openface_model_dir):
    code, doc = hunt(tmp_path, str(three_frames), "--reference", "pyparity:mtcnn", "--isolate", "--model-dir",
                     str(openface_model_dir))
    h = doc["hunt"]
    assert "pyparity 0.1.0's port of C++ OpenFace 2.0.2 FaceDetectorMTCNN" in doc["reference"]
    assert [i["stage"] for i in h["introducing"]] == ["frame0001/mtcnn/pnet/corrected_boxes",
                                                      "frame0002/mtcnn/pnet/corrected_boxes"]
    assert h["end"]["status"] == "output-matches" and len(h["runs"]) == 2   # one capture injected in every frame
    assert "frame0002/mtcnn/output/boxes" in {i["stage"] for i in h["inherited"]}


def test_all_30_frames_against_pyparitys_mtcnn(tmp_path, samples_dir, openface_model_dir, capsys):
    """The acceptance command: every frame of the shared sequence, summed up (about 20 s here)."""
    code, doc = hunt(tmp_path, str(samples_dir / "image_sequence"), "--reference", "pyparity:mtcnn", "--model-dir",
                     str(openface_model_dir))
    s = doc["summary"]
    assert len(s["items"]) == 30 and s["line"].startswith("30 frames, ")
    assert s["counts"]["match"] + s["counts"]["diverged"] == 30 and s["counts"]["diverged"] > 0
    assert {c["stage"] for c in s["chains_by_stage"]} == {"mtcnn/pnet/corrected_boxes"}
    assert all(c.startswith("NMS tie-break") for c in s["chains_by_stage"][0]["diagnoses"])
    out = capsys.readouterr().out
    assert "frame0029" in out and "first divergence at" in out


def test_a_corpus_folder_with_html(tmp_path, three_frames, shared_dir, openface_model_dir):
    html = tmp_path / "h.html"
    code, doc = hunt(tmp_path, "--corpus", str(three_frames), "--reference", str(shared_dir / DUMPS), "--isolate",
                     "--model-dir", str(openface_model_dir), "--html", str(html))
    assert code == 1 and doc["kind"] == "corpus"
    assert [i["status"] for i in doc["summary"]["items"]] == ["match", "diverged", "diverged"]
    chains = doc["summary"]["chains_by_stage"]
    assert chains[0]["stage"] == "mtcnn/pnet/corrected_boxes" and chains[0]["items"] == ["013.jpg", "018.jpg"]
    assert doc["inputs"]["018.jpg"]["end"]["status"] == "output-matches"
    assert doc["schema"] == "pyparity-hunt-report/1" and doc["exit_code"] == code
    defs = schema_document("pyparity-hunt-report/1")["$defs"]
    assert set(doc["summary"]) == set(defs["summary"]["properties"])
    assert all(set(i) == set(defs["item"]["properties"]) for i in doc["summary"]["items"])
    page = html.read_text()
    assert "Introducing stages, by stage" in page and "NMS tie-break" in page and "<script" not in page


def test_a_corpus_spec_uses_its_cases_references(tmp_path, samples_dir, shared_dir, openface_model_dir):
    spec = tmp_path / "c.toml"
    spec.write_text(f'''
[corpus]
name = "two"
pipeline = "mtcnn"
goldens = "{tmp_path / 'goldens'}"
[[case]]
name = "s1"
input = "{samples_dir / 'sample1.jpg'}"
reference = "{shared_dir / DUMPS / 'sample1.jpg'}"
[[case]]
name = "f18"
input = "{samples_dir / 'image_sequence' / '018.jpg'}"
reference = "{shared_dir / DUMPS / '018.jpg'}"
''')
    code, doc = hunt(tmp_path, "--corpus", str(spec), "--model-dir", str(openface_model_dir))
    assert [(i["name"], i["status"]) for i in doc["summary"]["items"]] == [("s1", "match"), ("f18", "diverged")]


def _untimed(doc):
    """A hunt report without wall times (none are expected in it; any that appear must not count)."""
    if isinstance(doc, dict):
        return {k: _untimed(v) for k, v in doc.items() if k not in ("seconds", "elapsed", "wall_s", "stage_seconds")}
    if isinstance(doc, list):
        return [_untimed(v) for v in doc]
    return doc


def test_a_corpus_hunt_is_the_same_on_every_executor(tmp_path, three_frames, shared_dir, openface_model_dir):
    """One corpus hunt (a match, two NMS tie-breaks isolated) in this process, in two local worker
    processes and on an in-process Dask LocalCluster: the same JSON report, in corpus order."""
    pytest.importorskip("distributed")
    from pyparity.app.reports import ReportOptions
    from pyparity.app.hunt import hunt_options
    from pyparity.executors.dask_cluster import DaskExecutor
    from pyparity.executors import InProcess, LocalProcesses
    from pyparity.hunt.session import run_hunt
    from pyparity.render.hunt_json import hunt_json

    opts = hunt_options(ReportOptions(), isolate=True, model_dir=openface_model_dir, shared_dir=shared_dir)
    docs, lines = {}, {}
    for name, ex in (("here", InProcess()), ("local", LocalProcesses(2)),
                     ("dask", DaskExecutor(workers=2, in_process=True))):
        lines[name] = []
        outcome = run_hunt("pymtcnn-1.2", None, str(shared_dir / DUMPS), opts, corpus=three_frames, executor=ex,
                           on_item=lines[name].append)
        docs[name] = json.loads(hunt_json(outcome))
    s = docs["here"]["summary"]
    assert [(i["name"], i["status"]) for i in s["items"]] == [("012.jpg", "match"), ("013.jpg", "diverged"),
                                                              ("018.jpg", "diverged")]
    assert s["chains_by_stage"][0]["items"] == ["013.jpg", "018.jpg"] and list(docs["here"]["inputs"]) == [
        "012.jpg", "013.jpg", "018.jpg"]
    assert _untimed(docs["local"]) == _untimed(docs["here"])
    assert _untimed(docs["dask"]) == _untimed(docs["here"])
    assert all(sorted(v) == sorted(lines["here"]) for v in lines.values())   # one line per input, as it finishes


@pytest.mark.parametrize("args,message", [
    (["IMG", "--reference", "pyparity:nope"], "unknown pipeline"),
    (["IMG", "--reference", "pyparity:openface-image", "--model", "ceclm"], "--model ceclm needs --cen-dir"),
    (["IMG", "--reference", "pyparity:clnf"], "needs --bbox"),
    (["IMG", "--reference", "DUMP", "--model", "ceclm"], "option of a pyparity: reference"),
    (["IMG", "--reference", "NOWHERE"], "no such reference dump"),
    (["NOWHERE", "--reference", "DUMP"], "no such image, folder or video"),
    (["IMG"], "--reference is needed"),
    ([], "give an INPUT"),
    (["--corpus", "FRAMES"], "--corpus DIR needs --reference"),
    (["IMG", "--corpus", "FRAMES", "--reference", "DUMP"], "not both"),
    (["FRAMES", "--reference", "DUMP", "--out", "OUT"], "--out keeps one trace"),
    (["IMG", "--reference", "DUMP", "--max-frames", "2"], "--max-frames is for a sequence"),
    (["IMG", "--reference", "DUMP", "--stage", "no/such/*", "--model-dir", "MODELS"], "matches no stage"),
    (["IMG", "--reference", "DUMP", "--executor", "dask"], "spread a --corpus's inputs"),
    (["IMG", "--reference", "DUMP", "--jobs", "2"], "spread a --corpus's inputs"),
    (["--corpus", "FRAMES", "--reference", "DUMP", "--scheduler", "tcp://h:8786"], "needs the dask executor"),
    (["IMG", "--reference", "DUMP", "--shared", "NOWHERE"], "the shared data folder does not exist"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, three_frames, samples_dir, shared_dir, openface_model_dir, capsys,
                                          args, message):
    subst = {"MODELS": str(openface_model_dir), "IMG": str(samples_dir / "image_sequence" / "018.jpg"), "DUMP": str(shared_dir / DUMPS / "018.jpg"),
             "NOWHERE": str(tmp_path / "nowhere"), "FRAMES": str(three_frames), "OUT": str(tmp_path / "o")}
    code = main(["hunt", "pymtcnn-1.2", *[subst.get(a, a) for a in args]])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_nothing_compared_is_exit_1(tmp_path, samples_dir, shared_dir, openface_model_dir, capsys):
    # a reference without any of the probe's stages (an AU dump has no mtcnn/...): a verdict about nothing fails
    ref = tmp_path / "ref"
    from pyparity.trace import Recorder

    import numpy as np

    with Recorder(ref) as rec:
        rec.save("face00/output/pose", np.zeros(6, np.float32))
    code = main(["hunt", "pymtcnn-1.2", str(samples_dir / "image_sequence" / "018.jpg"), "--reference", str(ref),
                 "--model-dir", str(openface_model_dir)])
    assert code == 1 and "NOTHING COMPARED" in capsys.readouterr().out


def test_pyparity_references_clnf_and_openface_sequence(tmp_path, samples_dir, openface_model_dir):
    """The other pyparity: references: a CLNF fit from a given box, and FeatureExtraction's tracking
    (one trace per frame, detection in the first frame only, as OpenFace's sequence dumps)."""
    from pyparity.hunt.frames import load_frames
    from pyparity.hunt.references import ReferenceOptions, parse_reference

    opts = ReferenceOptions(bbox=(149.7, 178.2, 190.2, 195.8), model_dir=openface_model_dir)
    ref = parse_reference("pyparity:clnf", opts)
    t = ref.for_image(samples_dir / "sample1.jpg")
    assert t["face00/clnf/input/bbox"].tolist() == [149.7, 178.2, 190.2, 195.8]
    assert "mtcnn/output/boxes" not in t and "box 149.7,178.2,190.2,195.8" in ref.label
    d = tmp_path / "two"
    d.mkdir()
    for f in ("001.jpg", "002.jpg"):
        (d / f).symlink_to(samples_dir / "image_sequence" / f)
    seq = parse_reference("pyparity:openface-sequence", ReferenceOptions(model_dir=openface_model_dir))
    traces = seq.for_frames(load_frames(d))
    assert len(traces) == 2
    assert "face00/mtcnn/output/boxes" in traces[0] and "face00/mtcnn/output/boxes" not in traces[1]
    assert "face00/output/landmarks_stacked" in traces[1]
    with pytest.raises(Exception, match="tracks a sequence"):
        seq.for_image(samples_dir / "sample1.jpg")
