"""The OpenFace recording kit without a build: insertion-only, none of OpenFace's lines, anchors, docs, CLI."""

from __future__ import annotations

import re

import pytest

from pyparity.cli.app import main
from pyparity.errors import InputError
from pyparity.reference.openface import build as build_mod
from pyparity.reference.openface import docs
from pyparity.reference.openface.kit import INCLUDE_LINE, KIT_DIR, MARK, apply_kit, load_insertions, patch_text
from tests.paths import REPO


def test_doc_stage_tables_are_current():
    text = (REPO / "docs" / "cpp-reference.md").read_text(encoding="utf-8")
    assert docs.regenerate(text) == text, "run: python -m pyparity.reference.openface.docs"
    assert docs.stage_count() > 60


def _strip_kit(text: str) -> str:
    """The patched text with the include line and every inserted block removed."""
    assert text.startswith(INCLUDE_LINE)
    lines = text[len(INCLUDE_LINE):].splitlines(keepends=True)
    out = []
    codes = {ins.code.strip("\n") for ins in load_insertions()}
    i = 0
    while i < len(lines):
        if lines[i] == MARK:
            # the block is one insertion's code, line for line
            n = max(len(c.splitlines()) for c in codes if "".join(lines[i + 1:i + 1 + len(c.splitlines())]).rstrip("\n") == c)
            i += 1 + n
            continue
        out.append(lines[i])
        i += 1
    return "".join(out)


@pytest.fixture(scope="module")
def patched_tree(shared_dir, tmp_path_factory):
    src = shared_dir / "openface" / "cpp-2.0.2"
    dest = tmp_path_factory.mktemp("kit") / "src"
    files = apply_kit(src, dest)
    return src, dest, files


def test_kit_only_inserts(patched_tree):
    src, dest, files = patched_tree
    assert len(files) >= 10
    for rel in files:
        original = (src / rel).read_text(encoding="utf-8", errors="surrogateescape")
        patched = (dest / rel).read_text(encoding="utf-8", errors="surrogateescape")
        assert patched != original
        assert _strip_kit(patched) == original, rel
    # untouched files are byte-identical copies
    assert (dest / "lib/local/LandmarkDetector/src/PDM.cpp").read_bytes() == (src / "lib/local/LandmarkDetector/src/PDM.cpp").read_bytes()


def test_kit_holds_no_openface_lines(shared_dir):
    """No line of the kit's code appears in OpenFace's sources; anchors are short fragments."""
    src = shared_dir / "openface" / "cpp-2.0.2"
    source_lines = set()
    for p in src.rglob("*"):
        if p.suffix in (".cpp", ".h", ".txt"):
            source_lines |= {ln.strip() for ln in p.read_text(encoding="utf-8", errors="replace").splitlines()}
    kit_lines = []
    for p in (KIT_DIR / "pyparity_recorder.hpp", KIT_DIR / "CMakeLists.txt"):
        kit_lines += p.read_text(encoding="utf-8").splitlines()
    for ins in load_insertions():
        kit_lines += ins.code.splitlines()
        assert all(len(f) <= 80 for f in ins.anchor), ins.anchor
    # library includes (#include <...>) are not OpenFace's code
    copied = [ln.strip() for ln in kit_lines
              if len(ln.strip()) >= 24 and ln.strip() in source_lines and not ln.strip().startswith("#include <")]
    assert not copied, copied[:5]


def test_missing_anchor_names_file_and_fragment(shared_dir, tmp_path):
    ins = [i for i in load_insertions() if i.file.endswith("FaceDetectorMTCNN.cpp")]
    text = (shared_dir / "openface/cpp-2.0.2" / ins[0].file).read_text(encoding="utf-8", errors="surrogateescape")
    changed = text.replace("prob_heatmap = 1.0 / (1.0 + prob_heatmap);", "prob_heatmap = 1.0f / (1.0f + prob_heatmap);")
    with pytest.raises(InputError, match=r"FaceDetectorMTCNN.cpp: anchor fragment 'prob_heatmap = 1.0 / \(1.0 \+ prob_heatmap\);' not found"):
        patch_text(changed, ins, ins[0].file)


def test_insertions_cover_every_program_and_library():
    files = {i.file for i in load_insertions()}
    for needed in ("exe/FaceLandmarkImg/FaceLandmarkImg.cpp", "exe/FeatureExtraction/FeatureExtraction.cpp",
                   "lib/local/FaceAnalyser/src/FaceAnalyser.cpp", "lib/local/LandmarkDetector/src/CEN_patch_expert.cpp"):
        assert needed in files


def test_build_names_missing_debian_packages(monkeypatch, shared_dir, tmp_path, capsys):
    monkeypatch.setattr(build_mod, "missing_packages", lambda: ["libdlib-dev", "libtbb-dev"])
    code = main(["reference", "openface", "build", "--source", str(shared_dir / "openface/cpp-2.0.2"),
                 "--build-dir", str(tmp_path / "b")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "apt-get install -y libdlib-dev libtbb-dev" in err
    assert not (tmp_path / "b").exists()


def test_build_rejects_a_folder_that_is_not_openface(tmp_path, capsys):
    code = main(["reference", "openface", "build", "--source", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not an OpenFace source tree" in err and len(err.splitlines()) == 1


def test_record_bad_inputs_exit_2_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PYPARITY_BUILD_CACHE", str(tmp_path / "empty-cache"))
    code = main(["reference", "openface", "record", str(tmp_path / "nope.jpg"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "nope.jpg: no such file or directory" in err
    (tmp_path / "notes.txt").write_text("x")
    code = main(["reference", "openface", "record", str(tmp_path / "notes.txt"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "not an image, image folder or video" in err
    (tmp_path / "a.jpg").write_bytes(b"not really")
    code = main(["reference", "openface", "record", str(tmp_path / "a.jpg"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "no instrumented OpenFace is built" in err
    assert not (tmp_path / "o").exists()


def test_info_lists_kit_and_dependencies(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PYPARITY_BUILD_CACHE", str(tmp_path))
    assert main(["reference", "openface", "info"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"kit: \d+ insertion points", out) and "build dependencies" in out and "no build yet" in out


def test_model_files_are_keyed_as_the_shared_dumps(shared_dir, tmp_path):
    """meta.json's models: every file the run reads, 'model/<path>' as in the shared dumps' meta."""
    import json

    from pyparity.reference.openface.record import model_files

    (tmp_path / "model").symlink_to(shared_dir / "openface" / "model", target_is_directory=True)
    found = model_files(tmp_path / "model" / "main_clnf_general.txt", tmp_path / "model")
    shared_meta = json.loads((shared_dir / "reference_dumps/openface-2.0.2/images/sample1.jpg/meta.json").read_text())
    assert set(found) <= set(shared_meta["models"])
    assert len(found) >= len(shared_meta["models"]) - 2
