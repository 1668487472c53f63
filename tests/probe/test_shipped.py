"""The probes shipped for the two published Python ports of OpenFace, against the shared C++ dumps.

pymtcnn 1.2 and pyclnf 0.4.1 are test-only extras (`.ci/install-probe-ports.sh VENV`). Without them
these tests skip — except in CI (CI=true or PYPARITY_REQUIRE_PORTS=1), where they must run.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.probe import load_probe, record_probe
from pyparity.trace import read_trace

from tests.hunt.hunt_reports import read_hunt_json  # tests/hunt/hunt_reports.py: the JSON checked against its schema


def _require(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if not missing:
        return
    msg = f"needs {', '.join(missing)} (bash .ci/install-probe-ports.sh .venv)"
    if os.environ.get("CI", "").lower() in ("true", "1") or os.environ.get("PYPARITY_REQUIRE_PORTS") == "1":
        pytest.fail(f"in CI the probe ports must be installed: {msg}")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def _port_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("probe-port-cache")


@pytest.fixture(autouse=True)
def _env(monkeypatch, _port_cache, shared_dir):
    # the ports' model folders are laid out (symlinks, derived files) in a cache of this session
    monkeypatch.setenv("PYPARITY_CACHE_DIR", str(_port_cache))
    monkeypatch.setenv("PYPARITY_SHARED", str(shared_dir))


@pytest.fixture
def pymtcnn_ready():
    _require("pymtcnn", "onnxruntime")


@pytest.fixture
def pyclnf_ready():
    _require("pyclnf")


def _hunt(tmp_path, probe, image, dump, model_dir, *extra):
    out = tmp_path / "report.json"
    code = main(["hunt", probe, str(image), "--reference", str(dump), "--json", str(out),
                 "--model-dir", str(model_dir), *extra])
    return code, (read_hunt_json(out) if out.exists() else None)


def _stage(report, name):
    return next(s for s in report["stages"] if s["name"] == name)


# ---- pymtcnn 1.2 ----------------------------------------------------------------------------

def test_pymtcnn_018_diverges_in_pnet_before_the_output(tmp_path, pymtcnn_ready, openface_dumps, samples_dir,
                                                        openface_model_dir):
    dump = openface_dumps / "images" / "018.jpg"
    code, rep = _hunt(tmp_path, "pymtcnn-1.2", samples_dir / "image_sequence" / "018.jpg", dump, openface_model_dir)
    assert code == 1
    names = [s["name"] for s in rep["stages"]]
    first = rep["first_divergence"]
    assert names.index(first) < names.index("mtcnn/output/boxes")
    # Every PNet scale agrees (inputs, maps, candidates); the survivors of PNet's NMS do not:
    # C++ keeps as many as the reference says, pymtcnn one fewer.
    assert first == "mtcnn/pnet/corrected_boxes"
    assert all(s["status"] in ("match", "only-in-B") for s in rep["stages"][: names.index(first)])
    ref = read_trace(dump)
    shape_ref, shape_port = _stage(rep, first)["shape"]
    assert shape_ref == list(ref.info(first).shape) and shape_port[0] == shape_ref[0] - 1
    # ... and the box CLNF would be given is off by pixels.
    assert _stage(rep, "mtcnn/output/boxes")["max_abs"] > 1.0


def test_pymtcnn_agrees_with_cpp_on_001(tmp_path, pymtcnn_ready, openface_dumps, samples_dir, openface_model_dir):
    code, rep = _hunt(tmp_path, "pymtcnn-1.2", samples_dir / "image_sequence" / "001.jpg",
                      openface_dumps / "images" / "001.jpg", openface_model_dir)
    assert code == 0, rep["first_divergence"]
    out = _stage(rep, "mtcnn/output/boxes")
    assert out["status"] == "match" and out["max_abs"] <= 0.0005
    # level-2 dump: the crops fed to RNet/ONet are compared too, after the RGB/CHW alignment
    assert _stage(rep, "mtcnn/rnet/crops")["status"] == "match"


def test_pymtcnn_results_unchanged_by_recording(pymtcnn_ready, samples_dir, openface_model_dir):
    import cv2

    from pyparity.probe.shipped.pymtcnn_setup import build

    image = samples_dir / "image_sequence" / "018.jpg"
    plain_boxes, plain_lm = build(str(openface_model_dir)).detect(cv2.imread(str(image)))
    _, (boxes, lm) = record_probe(load_probe("pymtcnn-1.2"), image, model_dir=openface_model_dir)
    assert boxes.tobytes() == plain_boxes.tobytes() and lm.tobytes() == plain_lm.tobytes()


def test_pymtcnn_bad_model_dir_is_one_line(tmp_path, pymtcnn_ready, openface_dumps, samples_dir, capsys):
    out = tmp_path / "trace"
    code = main(["record", "pymtcnn-1.2", str(samples_dir / "image_sequence" / "001.jpg"), "--out", str(out),
                 "--model-dir", str(tmp_path / "no-models")])
    err = capsys.readouterr().err
    assert code == 2
    assert "mtcnn_detector" in err and "Traceback" not in err
    assert not out.exists()


# ---- pyclnf 0.4.1 ---------------------------------------------------------------------------

CEN = "openface-2.0.2-cen-synthetic"


def test_pyclnf_sample1_first_diverges_at_the_kde_sigma(tmp_path, pyclnf_ready, shared_dir, samples_dir,
                                                        openface_model_dir):
    dump = shared_dir / "reference_dumps" / CEN / "images" / "sample1.jpg"
    kept = tmp_path / "port.trace"
    code, rep = _hunt(tmp_path, "pyclnf-0.4.1", samples_dir / "sample1.jpg", dump, openface_model_dir, "--out", str(kept))
    assert code == 1
    s0 = "face00/clnf/h00/first_scale/fit/s0/"
    # From C++'s own box, pyclnf's initial parameters and its first-scale responses agree ...
    for name in ("face00/clnf/h00/init/params_global", "face00/clnf/h00/init/params_local", s0 + "responses",
                 s0 + "base_shape_stacked", s0 + "reg_factor"):
        assert _stage(rep, name)["status"] == "match", name
    # ... the first divergence is the mean-shift kernel's sigma: C++ scales it for CE-CLM.
    assert rep["first_divergence"] == s0 + "sigma"
    ref, trace = read_trace(dump), read_trace(kept)   # the port's trace, kept by the hunt (not recorded twice)
    assert float(trace[s0 + "sigma"]) != float(ref[s0 + "sigma"])
    # and the mean-shifts computed with it are off by tenths of a pixel
    assert _stage(rep, s0 + "rigid/it00/mean_shifts_stacked")["max_abs"] > 0.05
    # the final landmarks land 0.2-2 px from C++
    assert 0.05 < _stage(rep, "face00/output/landmarks_stacked")["max_abs"] < 5


def test_pyclnf_005_first_diverges_in_the_responses(tmp_path, pyclnf_ready, shared_dir, samples_dir,
                                                    openface_model_dir):
    dump = shared_dir / "reference_dumps" / CEN / "images" / "005.jpg"
    kept = tmp_path / "port.trace"
    code, rep = _hunt(tmp_path, "pyclnf-0.4.1", samples_dir / "image_sequence" / "005.jpg", dump,
                      openface_model_dir, "--out", str(kept))
    assert code == 1
    first = rep["first_divergence"]
    assert first == "face00/clnf/h00/first_scale/fit/s0/responses"
    ref, trace = read_trace(dump), read_trace(kept)
    diff = np.abs(trace[first] - ref[first])
    # only a few values at the right edge of a few landmarks' windows (an area-of-interest column
    # that warpAffine samples in another 1/32-pixel cell), the rest is float32 noise
    bad = np.argwhere(diff > 5e-5)
    assert 0 < len(bad) < 0.01 * diff.size
    assert set(bad[:, 2].tolist()) <= {diff.shape[2] - 2, diff.shape[2] - 1}


# ---- hunting past the first divergence (pyparity hunt --isolate) ------------------------------

def test_pymtcnn_018_isolate_names_the_nms_tie_break_then_the_output_matches(tmp_path, pymtcnn_ready, openface_dumps,
                                                                             samples_dir, openface_model_dir):
    code, rep = _hunt(tmp_path, "pymtcnn-1.2", samples_dir / "image_sequence" / "018.jpg",
                      openface_dumps / "images" / "018.jpg", openface_model_dir, "--isolate")
    h = rep["hunt"]
    assert code == 1
    first = h["introducing"][0]
    assert first["stage"] == "mtcnn/pnet/corrected_boxes"
    cause = first["comparison"]["diagnosis"][0]
    assert cause["id"] == "nms-tie-break" and "mtcnn/pnet/s04/nms_keep" in cause["title"]
    assert "exactly the score 1" in cause["detail"] and "(178, 138, 217, 218)" in cause["detail"]
    # with C++'s PNet survivors injected, everything after them matches: the NMS tie is the only cause
    assert [i["stage"] for i in h["introducing"]] == ["mtcnn/pnet/corrected_boxes"]
    assert h["end"]["status"] == "output-matches"
    assert {"mtcnn/rnet/input_boxes", "mtcnn/output/boxes"} <= {i["stage"] for i in h["inherited"]}
    assert "32 row(s) where the port had 31" in " ".join(h["runs"][1]["notes"])


def test_pyclnf_isolate_against_pyparitys_ceclm(tmp_path, pyclnf_ready, shared_dir, samples_dir, openface_model_dir):
    """The acceptance hunt, bounded for CI to 4 runs (the whole chain: scripts/hunt-shipped-chains.sh)."""
    out = tmp_path / "r.json"
    code = main(["hunt", "pyclnf-0.4.1", str(samples_dir / "sample1.jpg"), "--reference", "pyparity:openface-image",
                 "--model", "ceclm", "--cen-dir", str(shared_dir / "openface" / "synthetic_cen"), "--isolate",
                 "--max-runs", "4", "--model-dir", str(openface_model_dir), "--json", str(out)])
    doc = read_hunt_json(out)
    h = doc["hunt"]
    assert code == 1 and "pyparity:openface-image; model ceclm" in doc["reference"]
    s0 = "face00/clnf/h00/first_scale/fit/s0/"
    first = {}
    for i in h["introducing"]:
        first.setdefault(i["group"], i)
    causes = {i["stage"]: i["comparison"]["diagnosis"][0] for i in first.values()}
    assert list(causes)[:4] == [s0 + "sigma", s0 + "rigid/it01/mean_shifts_stacked", s0 + "rigid/iterations",
                                s0 + "nonrigid/it00/mean_shifts_stacked"]
    assert causes[s0 + "sigma"]["title"] == "another sigma: 2.25 in the reference, 2.5 in the port"
    assert causes[s0 + "rigid/it01/mean_shifts_stacked"]["id"] == "kde-grid"
    assert causes[s0 + "rigid/iterations"]["title"] == "another number of iterations: 5 in the reference, 10 in the port"
    assert causes[s0 + "nonrigid/it00/mean_shifts_stacked"]["id"] == "kde-grid"
    assert h["end"]["status"] == "run-limit"
