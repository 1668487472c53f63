"""The stage index: every stage of every reference dump is declared once, next to the code that records
it; a run's stages are recorded where they are declared; `pyparity stages` names module and reference."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.cli.app import main
from pyparity.app.stages import StageIndex, load, where
from pyparity.trace.stage_index import globs_overlap
from pyparity.trace.trace import glob_match
from tests.paths import REPO


@pytest.fixture(scope="module")
def index() -> StageIndex:
    return StageIndex(load())


def _dump_names(root: Path) -> set[str]:
    names = set()
    for idx in root.rglob("index.tsv"):
        for line in idx.read_text(encoding="utf-8").splitlines()[1:]:
            names.add(line.split("\t")[1])
    return names


@pytest.mark.parametrize("root", ["shared", "committed"])
def test_every_dump_stage_is_declared_once(root, index, shared_dir):
    folder = shared_dir / "reference_dumps" if root == "shared" else REPO / "reference_dumps"
    names = _dump_names(folder)
    assert len(names) > (1000 if root == "shared" else 100)
    undeclared = sorted(n for n in names if not index.lookup(n))
    assert not undeclared, f"{len(undeclared)} stage(s) no module declares, e.g. {undeclared[:5]}"
    ambiguous = sorted(n for n in names if len(index.lookup(n)) > 1)
    assert not ambiguous, f"declared twice: {ambiguous[:3]} -> {[s.globs for s in index.lookup(ambiguous[0])]}"


def test_every_declaration_names_a_function_of_its_module(index):
    for s in index.stages:
        w = where(s)
        assert w.line is not None, f"{s.module}: no function {s.function} (declared for {s.pattern})"
        assert w.path == s.module.replace(".", "/") + ".py" or w.path.endswith("/__init__.py")
        assert s.reference, f"{s.module}: {s.pattern} names no reference counterpart"


class _Witness:
    """A recorder that notes, for every stage, the functions on the call stack when it was saved."""

    enabled = True

    def __init__(self, inner):
        self.inner, self.stacks = inner, {}

    @property
    def prefix(self) -> str:
        return self.inner.prefix

    def save(self, name, value) -> None:
        frames, f = set(), sys._getframe(1)
        while f is not None:
            frames.add((f.f_globals.get("__name__"), f.f_code.co_name))
            f = f.f_back
        self.stacks[self.inner.prefix + name] = frames
        self.inner.save(name, value)

    def scope(self, prefix):
        return self.inner.scope(prefix)

    def update_meta(self, **kw):
        self.inner.update_meta(**kw)


def _assert_recorded_where_declared(witness: _Witness, index: StageIndex) -> None:
    assert witness.stacks
    for name, frames in witness.stacks.items():
        found = index.lookup(name)
        assert len(found) == 1, f"{name}: {len(found)} declarations"
        s = found[0]
        assert (s.module, s.function.split(".")[-1]) in frames, \
            f"{name} is declared as recorded by {s.module}.{s.function}, which is not on the stack"


def test_openface_run_records_each_stage_where_it_is_declared(index, samples_dir, openface_model_dir,
                                                               openface_au_dir):
    from pyparity.imageio import read_image_bgr
    from pyparity.pipelines.openface import load_openface_models, run_image
    from pyparity.trace import Recorder

    models = load_openface_models(openface_model_dir, aus=True, au_dir=openface_au_dir)
    witness = _Witness(Recorder())
    run_image(read_image_bgr(samples_dir / "sample2.jpg"), models, rec=witness, level=2)
    assert any("/rigid/it" in n for n in witness.stacks) and any("/au/" in n for n in witness.stacks)
    _assert_recorded_where_declared(witness, index)


def test_pof_and_img2pose_runs_record_each_stage_where_declared(index, shared_dir):
    from pyparity.pipelines.img2pose import Img2Pose, Img2PoseConfig
    from pyparity.pipelines.img2pose.detect import load_reference_points
    from pyparity.pipelines.img2pose.synth import synthetic_weights
    from pyparity.pipelines.pof.checkpoint import synthetic_model
    from pyparity.pipelines.pof.reconstruct import reconstruct_3d
    from pyparity.trace import Recorder, read_trace

    dump = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "semgcn-temporal" / "walk")
    witness = _Witness(Recorder())
    reconstruct_3d(synthetic_model("semgcn-temporal"), dump["clip/pose_2d"], dump["clip/visibility"], 1.78, witness)
    _assert_recorded_where_declared(witness, index)

    d = shared_dir / "reference_dumps" / "img2pose-upstream" / "images" / "sample1.jpg"
    ref = read_trace(d)
    cfg = Img2PoseConfig.from_file(d)
    model = Img2Pose(synthetic_weights(cfg.depth, d), cfg, *load_reference_points(shared_dir / "img2pose"))
    witness = _Witness(Recorder())
    model.predict(ref["input/image"], rec=witness, probe_boxes=ref["probe/roi_align/boxes"])
    _assert_recorded_where_declared(witness, index)


@pytest.mark.parametrize("glob, module", [
    ("mtcnn/pnet/*", "pyparity.pipelines.mtcnn.pnet"),
    ("face00/clnf/h00/fit/s0/rigid/it00/*", "pyparity.pipelines.clnf.fitting.nu_rlms"),
])
def test_stages_command_names_module_and_reference(glob, module, capsys):
    import json

    assert main(["stages", glob, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found and all(f["module"] == module and f["code"].startswith(module.replace(".", "/") + ".py:")
                         and ".cpp: " in f["reference"] for f in found)
    assert main(["stages", glob]) == 0
    assert "reference" in capsys.readouterr().out
    assert main(["stages", "no/such/stage"]) == 1


def test_first_divergence_links_to_its_code(openface_dumps, capsys):
    a, b = openface_dumps / "images" / "001.jpg", openface_dumps / "images" / "002.jpg"
    assert main(["diff", str(a), str(b), "--max-rows", "3"]) == 1
    out = capsys.readouterr().out
    assert "computed in pyparity/pipelines/mtcnn/pnet.py:" in out and "FaceDetectorMTCNN.cpp" in out


_COMPONENT = st.sampled_from(["a", "b", "ab", "s00", "s1", "it02", "x_y"])
_GLOB_COMPONENT = st.sampled_from(["a", "b", "*", "s*", "*b", "it*", "?", "**"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_COMPONENT, min_size=1, max_size=5), st.lists(_GLOB_COMPONENT, min_size=1, max_size=4),
       st.lists(_GLOB_COMPONENT, min_size=1, max_size=4))
def test_globs_that_share_a_name_overlap(name, g1, g2):
    """A name matching both globs proves they overlap: the overlap test never misses one."""
    n, a, b = "/".join(name), "/".join(g1), "/".join(g2)
    if glob_match(n, a) and glob_match(n, b):
        assert globs_overlap(a, b)


@pytest.mark.parametrize("a, b, overlap", [
    ("mtcnn/pnet/*", "mtcnn/pnet/s*/prob", False), ("mtcnn/pnet/**", "mtcnn/pnet/s*/prob", True),
    ("face00/clnf/h00/fit/s0/rigid/it00/*", "face*/clnf/h*/fit/s*/*rigid/it*/jacobian", True),
    ("face00/clnf/h00/fit/s0/rigid/it00/*", "face*/clnf/h*/fit/s*/params_global", False),
    ("a/**/c", "a/c", True), ("frame000[1-9]/x", "frame0000/x", False), ("frame000[1-9]/x", "frame0003/x", True),
])
def test_glob_overlap_cases(a, b, overlap):
    assert globs_overlap(a, b) is overlap and globs_overlap(b, a) is overlap
