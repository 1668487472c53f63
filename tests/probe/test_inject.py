"""Injection (probe/inverse.py, probe/inject.py, capture.py): transforms run backwards, the port's own types
kept, values written where the capture says — arguments, return values, attributes, torch modules'
inputs and outputs, ONNX graph inputs — and robust capture (empty results, calls never reached, one
clear error, the probe's folder importable)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.cli.app import main
from pyparity.probe import load_probe, record_probe
from pyparity.probe.inject import InjectionError, Injector, assign_array, replace_at, restore_type
from pyparity.probe.inverse import InverseError, forward, inverse
from pyparity.probe.run import run_probe_once
from pyparity.probe.transforms import INVERSE, STEPS, TransformError, apply_steps, normalise_steps
from pyparity.probe.valuepath import parse_value_path
from pyparity.trace import Trace

rng = np.random.default_rng(5)


def steps(spec):
    return normalise_steps(spec, "t")


# ---- every step runs backwards ---------------------------------------------------------------

ROUND_TRIPS = [
    ({"transpose": [2, 0, 1]}, rng.normal(size=(2, 3, 4))),
    ({"reshape": [-1]}, rng.normal(size=(3, 4))),
    ({"layout": "interleaved_to_stacked"}, rng.normal(size=10)),
    ({"layout": "stacked_to_interleaved", "axis": 1}, rng.normal(size=(2, 8))),
    ({"layout": "xy_to_stacked"}, rng.normal(size=(5, 2))),
    ({"layout": "stacked_to_xy"}, rng.normal(size=(10, 1))),
    ({"boxes": "xyxy_to_xywh"}, rng.uniform(0, 9, (4, 4))),
    ({"boxes": "xywh_to_xyxy"}, rng.uniform(0, 9, (4, 4))),
    ({"flip_axis": 0}, rng.normal(size=(3, 5))),
    ({"dtype": "float32"}, rng.normal(size=5)),
    ({"rows": [1, 3]}, rng.normal(size=(5, 2))),
    ({"rows": "1:3"}, rng.normal(size=(5, 2))),
    ({"rows": ":"}, rng.normal(size=(5, 2))),
    ({"offset": [1.0, -2.0]}, rng.normal(size=(4, 2))),
    ({"scale": 0.25}, rng.normal(size=(4, 2))),
    ({"sort_rows": True}, rng.normal(size=(6, 3))),
    ({"sort_rows": [2, 0]}, rng.normal(size=(6, 3))),
    ({"squeeze": True}, rng.normal(size=(1, 4, 1))),
    ({"squeeze": 0}, rng.normal(size=(1, 4))),
    ({"expand_dims": 1}, rng.normal(size=(4, 3))),
    ([{"transpose": [1, 0]}, {"rows": "0:4"}, {"transpose": [1, 0]}, {"boxes": "xyxy_to_xywh"}, {"dtype": "float32"}],
     rng.uniform(0, 99, (7, 9))),
]


@pytest.mark.parametrize("spec,x", ROUND_TRIPS, ids=[str(s) for s, _ in ROUND_TRIPS])
def test_inverse_gives_back_the_ports_value(spec, x):
    y, tape = forward(x, steps(spec))
    back = inverse(y, steps(spec), tape)
    assert back.shape == x.shape and back.dtype == x.dtype
    assert np.allclose(back, x, rtol=1e-6, atol=1e-6)
    # and what it gives back maps onto the reference's value again (a right-inverse)
    assert np.allclose(apply_steps(back, steps(spec)), y, rtol=1e-6, atol=1e-6)


def test_every_step_says_how_it_is_undone():
    assert set(INVERSE) == set(STEPS) - {"axis"}


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), m=st.integers(1, 12), seed=st.integers(0, 999))
def test_another_number_of_rows_comes_back_in_the_ports_layout(n, m, seed):
    r = np.random.default_rng(seed)
    port = r.uniform(0, 99, (n, 9))
    spec = steps([{"sort_rows": True}, {"transpose": [1, 0]}, {"rows": "0:4"}, {"transpose": [1, 0]},
                  {"boxes": "xyxy_to_xywh"}, {"dtype": "float32"}])
    _, tape = forward(port, spec)
    if n == m:
        ref = r.uniform(0, 99, (m, 4)).astype(np.float32)
        back = inverse(ref, spec, tape)
        assert back.shape == (n, 9) and np.allclose(apply_steps(back, spec), np.sort(ref, axis=0) * 0 + apply_steps(back, spec))
    else:
        with pytest.raises(InverseError, match="row"):
            inverse(r.uniform(0, 99, (m, 4)).astype(np.float32), spec, tape)


def test_concat_and_stack_split_back_into_the_ports_parts():
    a, b = rng.normal(size=(3, 2)), rng.normal(size=(3, 4))
    spec = steps({"concat": 1})
    y, tape = forward((a, b), spec)
    assert y.shape == (3, 6)
    pa, pb = inverse(y * 2, spec, tape)
    assert np.allclose(pa, 2 * a) and np.allclose(pb, 2 * b)
    # another number of rows: the parts keep their columns
    pa, pb = inverse(np.ones((5, 6)), spec, tape)
    assert pa.shape == (5, 2) and pb.shape == (5, 4)
    spec = steps({"stack": 0})
    y, tape = forward([a, a + 1], spec)
    assert y.shape == (2, 3, 2) and len(inverse(y, spec, tape)) == 2


def test_a_join_must_come_first():
    with pytest.raises(TransformError, match="must be the first step"):
        normalise_steps([{"dtype": "float32"}, {"concat": 0}], "t")


def test_scale_zero_cannot_be_injected(tmp_path):
    p = tmp_path / "z.toml"
    p.write_text('[port]\ncall = "m:f"\n[[capture]]\ntarget = "m:f"\nstage = "s"\ntransform = { scale = 0 }\n')
    assert load_probe(p).captures[0].injectable == "scale = 0 cannot be undone"


# ---- the port's types ------------------------------------------------------------------------

def test_restore_type_keeps_dtypes_containers_and_scalars():
    assert restore_type(np.array([1.5]), 2.0) == 1.5 and isinstance(restore_type(np.array(3), 7), int)
    assert restore_type(np.array(2.25, np.float32), np.float64(1)).dtype == np.float64
    out = restore_type(np.ones((2, 3), np.float32), [np.zeros(3, np.float64)] * 4)
    assert isinstance(out, list) and len(out) == 2 and out[0].dtype == np.float64
    assert isinstance(restore_type([np.ones(2), np.ones(3)], (np.zeros(2), np.zeros(3))), tuple)
    d = restore_type(np.arange(6.0).reshape(2, 3), {7: np.zeros(3, np.float32), 3: np.zeros(3, np.float32)})
    assert sorted(d) == [3, 7] and d[7].tolist() == [3.0, 4.0, 5.0] and d[3].dtype == np.float32
    empty = restore_type(np.zeros((0, 4), np.float32), np.zeros((3, 4)))
    assert empty.shape == (0, 4) and empty.dtype == np.float64


def test_restore_type_torch_dtype_and_device():
    torch = _torch()
    t = torch.zeros(2, 3, dtype=torch.float64)
    out = restore_type(np.ones((2, 3), np.float32), t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64 and out.device == t.device


def test_replace_at_rebuilds_containers_and_leaves_the_callers_alone():
    ret = (np.arange(6.0).reshape(2, 3), [1, 2])
    new = replace_at(ret, parse_value_path("return[0][:, 1]"), np.array([9.0, 9.0]))
    assert isinstance(new, tuple) and new[0][:, 1].tolist() == [9.0, 9.0] and ret[0][0, 1] == 1.0
    d = {"boxes": np.zeros((2, 4))}
    new = replace_at(d, parse_value_path("return['boxes']"), np.ones((3, 4)))
    assert new["boxes"].shape == (3, 4) and d["boxes"].shape == (2, 4)


def test_rows_of_another_count_take_the_ports_nearest_rows():
    port = np.array([[0, 0, 10, 10, 0.9, 1, 1, 1, 1], [50, 50, 70, 70, 0.8, 2, 2, 2, 2]], np.float64)
    ref = np.array([[49, 51, 70, 71], [0.5, 0, 10, 10], [200, 200, 220, 220]], np.float64)
    notes = []
    out = assign_array(port, (slice(None), slice(0, 4)), ref, notes, "s")
    assert out.shape == (3, 9) and np.array_equal(out[:, :4], ref)
    assert out[0, 4] == 0.8 and out[1, 4] == 0.9   # each row's other values from its nearest port row
    assert "3 row(s) where the port had 2" in notes[0]
    with pytest.raises(InjectionError):
        assign_array(port, 4, np.ones(3))


# ---- injection through a probe ---------------------------------------------------------------

PORT = '''
import numpy as np
class Port:
    def __init__(self):
        self.gain = 2.0
    def scaled(self, x, factor=3.0):
        return x * factor
    def pair(self, x):
        return (x + 1.0, x - 1.0)
    def run(self, x):
        a, b = self.pair(self.scaled(np.asarray(x, np.float64)))
        return a * b * self.gain
'''


@pytest.fixture
def port_dir(tmp_path, monkeypatch):
    (tmp_path / "inj_port.py").write_text(PORT)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("inj_port", None)
    return tmp_path


def _probe(folder: Path, captures: str, args: str = '["$ref:x"]') -> Path:
    p = folder / "p.toml"
    p.write_text(f'[port]\nsetup = "inj_port:Port"\ncall = "run"\nargs = {args}\n{captures}')
    return p


def _run(probe, ref, stages=(), captures=()):
    inj = Injector(ref, stages=stages, captures=captures)
    run = run_probe_once(load_probe(probe), probe, reference=ref, injector=inj)
    return run, inj


def test_inject_an_argument_before_the_call(port_dir):
    ref = Trace.from_arrays({"x": np.array([1.0, 2.0]), "s/factor": np.float64(10.0)})
    p = _probe(port_dir, '[[capture]]\ntarget = "inj_port:Port.scaled"\nvalue = "args.factor"\nstage = "s/factor"\n')
    run, inj = _run(p, ref, stages=["s/factor"])
    assert inj.injected == ["s/factor"] and float(run.trace["s/factor"]) == 3.0  # recorded: the port's own
    assert np.allclose(run.result, (np.array([10.0, 20.0]) + 1) * (np.array([10.0, 20.0]) - 1) * 2)


def test_inject_one_element_of_a_returned_tuple(port_dir):
    ref = Trace.from_arrays({"x": np.array([1.0, 2.0]), "s/a": np.array([5.0, 5.0], np.float32)})
    p = _probe(port_dir, '[[capture]]\ntarget = "inj_port:Port.pair"\nvalue = "return[0]"\nstage = "s/a"\n'
                         'transform = { dtype = "float32" }\n')
    run, _ = _run(p, ref, stages=["s/a"])
    assert np.allclose(run.result, 5.0 * (np.array([3.0, 6.0]) - 1) * 2) and run.result.dtype == np.float64


def test_inject_an_attribute_after_the_call(port_dir):
    ref = Trace.from_arrays({"x": np.array([1.0]), "s/gain": np.float64(0.5)})
    p = _probe(port_dir, '[[capture]]\ntarget = "inj_port:Port.scaled"\nvalue = "self.gain"\nstage = "s/gain"\n'
                         'when = "after"\n')
    run, _ = _run(p, ref, captures=[1])
    assert np.allclose(run.result, (4.0 * 2.0) * 0.5)


def test_a_stage_the_reference_lacks_is_not_injected(port_dir):
    ref = Trace.from_arrays({"x": np.array([1.0])})
    p = _probe(port_dir, '[[capture]]\ntarget = "inj_port:Port.pair"\nvalue = "return[0]"\nstage = "s/a"\n')
    run, inj = _run(p, ref, captures=[1])
    assert inj.injected == [] and np.allclose(run.result, 4 * 2 * 2)


def test_a_value_that_does_not_fit_is_reported_not_forced(port_dir):
    ref = Trace.from_arrays({"x": np.array([1.0, 2.0]), "s/a": np.ones((3, 3))})
    p = _probe(port_dir, '[[capture]]\ntarget = "inj_port:Port.pair"\nvalue = "return[0][0]"\nstage = "s/a"\n')
    run, inj = _run(p, ref, stages=["s/a"])
    assert inj.injected == [] and "s/a" in inj.failed


def test_torch_module_input_and_output_injection(port_dir):
    torch = _torch()
    (port_dir / "torch_inj.py").write_text('''
import torch
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Identity()
        self.b = torch.nn.ReLU()
    def forward(self, x):
        return self.b(self.a(x) - 1.0)
class Port:
    def __init__(self):
        self.net = Net().to(torch.float64)
    def run(self, x):
        with torch.no_grad():
            return self.net(torch.as_tensor(x, dtype=torch.float64))
''')
    p = port_dir / "t.toml"
    p.write_text('[port]\nsetup = "torch_inj:Port"\ncall = "run"\nargs = ["$ref:x"]\n'
                 '[[capture]]\ntorch_module = "b"\nroot = "self.net"\nvalue = "input[0]"\nstage = "n/b_in"\n'
                 '[[capture]]\ntorch_module = "a"\nroot = "self.net"\nvalue = "output"\nstage = "n/a_out"\n')
    ref = Trace.from_arrays({"x": np.array([3.0, 0.5]), "n/b_in": np.array([-4.0, 7.0], np.float32),
                             "n/a_out": np.array([10.0, 20.0], np.float32)})
    run, inj = _run(p, ref, stages=["n/b_in"])
    assert isinstance(run.result, torch.Tensor) and run.result.dtype == torch.float64
    assert run.result.tolist() == [0.0, 7.0]
    run, inj = _run(p, ref, stages=["n/a_out"])
    assert run.result.tolist() == [9.0, 19.0]


def test_onnx_graph_input_injection(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Neg", ["x"], ["y"])], "neg",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "neg.onnx"))
    p = tmp_path / "o.toml"
    p.write_text('[onnx]\nmodel = "$probe_dir/neg.onnx"\ninputs = { x = { from = "$ref:in" } }\n'
                 '[[capture]]\ntensor = "x"\nstage = "g/x"\n[[capture]]\ntensor = "y"\nstage = "g/y"\n')
    ref = Trace.from_arrays({"in": np.array([1.0, 2.0], np.float32), "g/x": np.array([5.0, 6.0], np.float32)})
    run, inj = _run(p, ref, stages=["g/x", "g/y"])
    assert inj.injected == ["g/x"] and run.trace["g/y"].tolist() == [-5.0, -6.0]
    assert run.trace["g/x"].tolist() == [1.0, 2.0]   # recorded as the port was fed


# ---- robust capture --------------------------------------------------------------------------

EMPTY_PORT = '''
import numpy as np
class Finder:
    def find(self, n):
        return np.array([]) if n == 0 else np.arange(5.0 * n).reshape(n, 5)
def find(n):
    return Finder().find(n)
def never():
    return 1
'''


def test_an_empty_result_is_an_empty_array_of_the_stages_dtype(port_dir, tmp_path):
    (port_dir / "empty_port.py").write_text(EMPTY_PORT)
    p = tmp_path / "e.toml"
    p.write_text('[port]\ncall = "empty_port:find"\nargs = [0]\n[[capture]]\ntarget = "empty_port:Finder.find"\n'
                 'value = "return[:, 4]"\nstage = "f/scores"\ntransform = { dtype = "float32" }\n')
    ref = Trace.from_arrays({"f/scores": np.zeros(0, np.float32)})
    trace, _ = record_probe(load_probe(p), p, reference=ref)
    assert trace["f/scores"].shape == (0,) and trace["f/scores"].dtype == np.float32
    p.write_text(p.read_text().replace('value = "return[:, 4]"', 'value = "return[:, 0:2]"')
                 .replace('{ dtype = "float32" }', '[{ transpose = [1, 0] }, { dtype = "float32" }]'))
    ref = Trace.from_arrays({"f/scores": np.zeros((0, 2), np.float32)})
    trace, _ = record_probe(load_probe(p), p, reference=ref)
    assert trace["f/scores"].shape == (0, 2)


def test_a_capture_that_never_fired_is_not_reached_in_the_report(port_dir, tmp_path, capsys):
    (port_dir / "empty_port.py").write_text(EMPTY_PORT)
    p = tmp_path / "n.toml"
    p.write_text('[port]\ncall = "empty_port:find"\nargs = [2]\n[[capture]]\ntarget = "empty_port:Finder.find"\n'
                 'stage = "f/rows"\n[[capture]]\ntarget = "empty_port:never"\nstage = "f/never"\n')
    ref = tmp_path / "ref"
    from pyparity.trace import Recorder

    with Recorder(ref) as rec:
        rec.save("f/rows", np.arange(10.0).reshape(2, 5))
        rec.save("f/never", np.float64(1.0))
    out = tmp_path / "r.json"
    code = main(["hunt", str(p), str(p), "--reference", str(ref), "--json", str(out)])
    from tests.hunt.hunt_reports import read_hunt_json

    doc = read_hunt_json(out)
    st = next(s for s in doc["stages"] if s["name"] == "f/never")
    assert code == 0 and st["status"] == "only-in-A"
    assert st["note"].startswith("not reached (reference only):") and "(capture 2) never fired" in st["note"]
    assert doc["hunt"]["not_reached"] == ["f/never"]


def test_a_capture_error_names_line_capture_and_call_once(port_dir, tmp_path, capsys):
    (port_dir / "empty_port.py").write_text(EMPTY_PORT)
    p = tmp_path / "bad.toml"
    p.write_text('[port]\ncall = "empty_port:find"\nargs = [2]\n[[capture]]\ntarget = "empty_port:Finder.find"\n'
                 'stage = "f/x"\ntransform = { transpose = [2, 0, 1] }\n')
    code = main(["record", str(p), str(p), "--out", str(tmp_path / "t")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "bad.toml:5 (capture 1), call 0 (f/x): step transpose" in err
    assert err.count("bad.toml") == 1


def test_the_probes_folder_is_importable_for_its_own_setup_module(tmp_path, monkeypatch):
    folder = tmp_path / "myprobe"
    folder.mkdir()
    (folder / "my_setup_mod.py").write_text("class P:\n    def run(self):\n        return 41.0 + 1\n"
                                            "def build():\n    return P()\n")
    (folder / "p.toml").write_text('[port]\nsetup = "my_setup_mod:build"\ncall = "run"\n'
                                   '[[capture]]\ntarget = "$call"\nstage = "o"\n')
    monkeypatch.chdir(tmp_path)
    sys.modules.pop("my_setup_mod", None)
    trace, result = record_probe(load_probe(folder / "p.toml"), folder / "p.toml")
    assert result == 42.0 and float(trace["o"]) == 42.0
    assert str(folder) not in sys.path


def _torch():
    try:
        import torch
    except ImportError:
        if os.environ.get("PYPARITY_REQUIRE_TORCH") == "1":
            pytest.fail("PYPARITY_REQUIRE_TORCH=1 but torch does not import")
        pytest.skip("needs torch (optional)")
    return torch


def test_declared_stages_expand_lookups_whose_values_hold_slashes():
    from pyparity.hunt.probe_subject import declared_stages
    from pyparity.trace.trace import glob_match

    globs = [g for i, g in declared_stages(load_probe("pyclnf-0.4.1"))]
    assert "face00/clnf/h00/fit/s3/rigid/it*/mean_shifts_stacked" in globs
    assert any(glob_match("face00/clnf/h00/first_scale/fit/s0/sigma", g) for g in globs)
    assert not any(glob_match("face00/clnf/h00/fit/s9/sigma", g) for g in globs)
