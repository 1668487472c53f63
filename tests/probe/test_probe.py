"""Probes: record a port from the outside under the reference's stage names, then diff it."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.diff import diff_traces
from pyparity.probe import load_probe, record_probe
from pyparity.trace import read_trace
from tests.paths import PORTS


@pytest.fixture(autouse=True)
def _port_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(PORTS))


@pytest.fixture(scope="module")
def dump(openface_dumps):
    return openface_dumps / "images" / "sample1.jpg"


def _probe(tmp_path, bug="", extra="", calls="detect"):
    n_scales = 3
    args = "[" + ", ".join(f'"$ref:mtcnn/pnet/s{i:02d}/out"' for i in range(n_scales)) + "]"
    text = f'''
[probe]
name = "toy"
requires = ["toy_port"]

[port]
setup = "toy_port:build"
setup_kwargs = {{ bug = "{bug}" }}
call = "{calls}"
args = [{args}]

[[capture]]
target = "toy_port:ToyDetector._prob"
value = "args.out"
stage = "mtcnn/pnet/s{{n:02d}}/out"

[[capture]]
target = "toy_port:ToyDetector._prob"
value = "self.last_prob"
stage = "mtcnn/pnet/s{{n:02d}}/prob"
{extra}
'''
    p = tmp_path / "toy.toml"
    p.write_text(text)
    return p


def test_recorded_stages_match_the_reference(tmp_path, dump):
    ref = read_trace(dump)
    probe = load_probe(_probe(tmp_path))
    trace, result = record_probe(probe, dump / "meta.json", out=tmp_path / "t", reference=ref)
    assert trace.names == [f"mtcnn/pnet/s{i:02d}/{k}" for i in range(3) for k in ("out", "prob")]
    report = diff_traces(trace, ref.select(trace.names))
    assert report.ok, report.summary()


def test_hunt_names_the_injected_bug(tmp_path, dump, capsys):
    out = tmp_path / "r.json"
    code = main(["hunt", str(_probe(tmp_path, bug="hw_swap")), str(dump / "meta.json"), "--reference", str(dump),
                 "--json", str(out)])
    assert code == 1
    from tests.hunt.hunt_reports import read_hunt_json

    rep = read_hunt_json(out)
    assert rep["first_divergence"] == "mtcnn/pnet/s00/prob"
    first = next(s for s in rep["stages"] if s["name"] == rep["first_divergence"])
    assert any(h["id"].startswith("transposed") for h in first["diagnosis"])
    assert "align with" in capsys.readouterr().out


def test_recording_does_not_change_the_port(tmp_path, dump):
    import toy_port

    ref = read_trace(dump)
    maps = [ref[f"mtcnn/pnet/s{i:02d}/out"] for i in range(3)]
    plain = toy_port.build().detect([m.copy() for m in maps])
    original = toy_port.ToyDetector._prob
    _, recorded = record_probe(load_probe(_probe(tmp_path)), dump / "meta.json", reference=ref)
    assert toy_port.ToyDetector._prob is original  # restored
    for a, b in zip(plain, recorded):
        assert a.tobytes() == b.tobytes()


def test_transform_and_call_selection(tmp_path, dump):
    extra = '''
[[capture]]
target = "$call"
value = "return[1]"
stage = "mtcnn/pnet/s01/prob_t"
transform = { transpose = [1, 0] }
'''
    ref = read_trace(dump)
    trace, _ = record_probe(load_probe(_probe(tmp_path, extra=extra)), dump / "meta.json", reference=ref)
    assert np.array_equal(trace["mtcnn/pnet/s01/prob_t"], ref["mtcnn/pnet/s01/prob"].T) or \
        np.allclose(trace["mtcnn/pnet/s01/prob_t"], ref["mtcnn/pnet/s01/prob"].T, rtol=1e-6)


@pytest.mark.parametrize("mutation,message", [
    (('target = "toy_port:ToyDetector._prob"', 'target = "toy_port:ToyDetector._nope"', 1), "has no attribute '_nope'"),
    (('requires = ["toy_port"]', 'requires = ["not_a_port_pkg"]', 1), "not installed"),
    (('value = "self.last_prob"', 'value = "self.missing"', 1), "missing"),
    (('call = "detect"', 'call = "raises"', 1), "the port raised RuntimeError: port exploded"),
    (('stage = "mtcnn/pnet/s{n:02d}/out"', 'stage = "mtcnn/{x}"', 1), "stage template"),
])
def test_bad_probes_give_one_line_and_no_partial_trace(tmp_path, dump, capsys, mutation, message):
    p = _probe(tmp_path)
    old, new, count = mutation
    p.write_text(p.read_text().replace(old, new, count))
    out = tmp_path / "trace"
    code = main(["record", str(p), str(dump / "meta.json"), "--out", str(out), "--reference", str(dump)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "toy.toml" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and [x.name for x in tmp_path.iterdir()] == ["toy.toml"]


def test_torch_module_capture(tmp_path, dump):
    pytest.importorskip("torch")
    (tmp_path / "torch_port.py").write_text('''
import torch
class Diff(torch.nn.Module):
    def forward(self, x):
        return x[1] - x[0]
class ProbNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.diff = Diff()
        self.act = torch.nn.Sigmoid()
    def forward(self, x):
        return self.act(self.diff(x))
class Port:
    def __init__(self):
        self.net = ProbNet()
    def run(self, out):
        with torch.no_grad():
            return self.net(torch.from_numpy(out)).numpy()
''')
    p = tmp_path / "t.toml"
    p.write_text('''
[port]
setup = "torch_port:Port"
call = "run"
args = ["$ref:mtcnn/pnet/s00/out"]
[[capture]]
torch_module = "act"
root = "self.net"
value = "output"
stage = "mtcnn/pnet/s00/prob"
[[capture]]
torch_module = "diff"
root = "self.net"
value = "input[0]"
stage = "mtcnn/pnet/s00/out"
''')
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        ref = read_trace(dump)
        trace, _ = record_probe(load_probe(p), dump / "meta.json", reference=ref)
    finally:
        sys.path.remove(str(tmp_path))
    assert trace.names == ["mtcnn/pnet/s00/out", "mtcnn/pnet/s00/prob"]
    report = diff_traces(trace, ref.select(trace.names))
    assert report.ok, report.summary()


def test_onnx_intermediate_tensor_capture(tmp_path, dump):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("Sub", ["logit_face", "logit_bg"], ["d"]), helper.make_node("Sigmoid", ["d"], ["p"]),
         helper.make_node("Identity", ["p"], ["y"])],
        "toy", [helper.make_tensor_value_info("logit_bg", TensorProto.FLOAT, None),
                helper.make_tensor_value_info("logit_face", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(tmp_path / "toy.onnx"))
    p = tmp_path / "o.toml"
    p.write_text('''
[onnx]
model = "$probe_dir/toy.onnx"
inputs = { logit_bg = { from = "$ref:mtcnn/pnet/s00/out", transform = { rows = [0], squeeze = true } }, logit_face = { from = "$ref:mtcnn/pnet/s00/out", transform = { rows = [1], squeeze = true } } }
[[capture]]
tensor = "p"
stage = "mtcnn/pnet/s00/prob"
''')
    from pyparity.diff.policy import parse_policy

    ref = read_trace(dump)
    trace, _ = record_probe(load_probe(p), dump / "meta.json", reference=ref)
    # onnxruntime's Sigmoid is a vectorised approximation: ~1e-7 absolute from C++'s 1/(1+exp(x))
    loose = parse_policy({"default": {"atol": 2e-7, "rtol": 1e-5}}, "onnx")
    report = diff_traces(trace, ref.select(trace.names), policy=loose)
    assert trace.names == ["mtcnn/pnet/s00/prob"] and report.ok, report.summary()
    assert not diff_traces(trace, ref.select(trace.names)).ok  # the strict default sees the approximation
