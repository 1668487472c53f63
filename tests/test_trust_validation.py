"""Trust (issue 14), classes 5 and 7: values out of range, text that is not UTF-8, malformed configs
and maps are one line and exit 2; control characters in stage names are escaped in every report."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.trace import Recorder

NOT_UTF8 = b"\xff\xfe\x00bad \xc3\x28"


def _trace(path: Path, **stages) -> Path:
    with Recorder(path) as rec:
        for name, value in stages.items():
            rec.save(name, value)
    return path


@pytest.fixture
def files(tmp_path):
    """Small inputs the commands below run on (none needs model files: each fails before them)."""
    import cv2

    a = _trace(tmp_path / "a", **{"mtcnn/output/boxes": np.ones((2, 4), np.float32)})
    img = tmp_path / "img.png"
    cv2.imwrite(str(img), np.full((24, 24, 3), 100, np.uint8))
    kp = tmp_path / "k.npz"
    np.savez(kp, pose_2d=np.full((2, 17, 2), 0.5, np.float32))
    csv = tmp_path / "k.csv"
    csv.write_text("frame,joint,x,y\n" + "".join(f"0,{j},0.5,0.5\n" for j in range(17)))
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(NOT_UTF8)
    return {"a": a, "img": img, "kp": kp, "csv": csv, "bad": bad, "tmp": tmp_path}


def _pof_npz_config(tmp: Path, config: str) -> Path:
    from pyparity.pipelines.pof.checkpoint import synthetic_model

    m = synthetic_model("gcn")
    p = tmp / "w.npz"
    np.savez(p, __config__=np.array(config), **m.params)
    return p


BAD = {
    # numeric options out of range
    "--level 5": (lambda f: ["run", "openface-image", str(f["img"]), "--level", "5"], "--level"),
    "--level 0 (sequence)": (lambda f: ["run", "openface-sequence", str(f["tmp"]), "--level", "0"], "--level"),
    "--max-frames 0": (lambda f: ["run", "openface-sequence", str(f["tmp"]), "--max-frames", "0"], "--max-frames"),
    "--min-face-size 0": (lambda f: ["run", "mtcnn", str(f["img"]), "--min-face-size", "0"], "--min-face-size"),
    "--threads 0": (lambda f: ["run", "img2pose", str(f["img"]), "--synthetic", "--threads", "0"], "--threads"),
    "--depth 7": (lambda f: ["run", "img2pose", str(f["img"]), "--synthetic", "--depth", "7"], "--depth 7"),
    "--fps 0": (lambda f: ["run", "pof", str(f["kp"]), "--model", "gcn", "--synthetic", "--fps", "0"], "--fps"),
    "--fps nan": (lambda f: ["run", "pof", str(f["kp"]), "--model", "gcn", "--synthetic", "--fps", "nan"], "--fps"),
    "--height inf": (lambda f: ["run", "pof", str(f["kp"]), "--model", "gcn", "--synthetic", "--height", "inf"],
                     "--height"),
    "--frame -1": (lambda f: ["ingest", "openface-csv", str(f["csv"]), "--out", str(f["tmp"] / "o"), "--frame", "-1"],
                   "--frame"),
    "--max-rows 0": (lambda f: ["diff", str(f["a"]), str(f["a"]), "--max-rows", "0"], "--max-rows"),
    "--jobs 0": (lambda f: ["gate", str(f["bad"]), "--jobs", "0"], "--jobs"),
    # text files that are not UTF-8
    "map not UTF-8": (lambda f: ["diff", str(f["a"]), str(f["a"]), "--map", str(f["bad"])], "not UTF-8"),
    "probe not UTF-8": (lambda f: ["record", str(f["bad"]), str(f["img"]), "--out", str(f["tmp"] / "o")], "not UTF-8"),
    "corpus not UTF-8": (lambda f: ["gate", str(f["bad"])], "not UTF-8"),
    "OpenFace CSV not UTF-8": (lambda f: ["ingest", "openface-csv", str(f["bad"]), "--out", str(f["tmp"] / "o")],
                               "not UTF-8"),
    "POF CSV not UTF-8": (lambda f: ["run", "pof", str(_copy(f["bad"], f["tmp"] / "x.csv")), "--model", "gcn",
                                     "--synthetic"], "not UTF-8"),
    "img2pose config not UTF-8": (lambda f: ["run", "img2pose", str(f["img"]), "--synthetic", "--config",
                                             str(f["bad"])], "img2pose config"),
    # malformed maps and configs
    "map: bad group": (lambda f: ["diff", str(f["a"]), str(f["a"]), "--map",
                                  str(_write(f["tmp"] / "m.toml", '[[rename_regex]]\npattern = "^p/(.*)$"\n'
                                                                 'replace = "x/\\\\5"\n'))], "invalid group reference 5"),
    "map: unknown named group": (lambda f: ["diff", str(f["a"]), str(f["a"]), "--map",
                                            str(_write(f["tmp"] / "m.toml", '[[rename_regex]]\npattern = "^p/(.*)$"\n'
                                                                           'replace = "x/\\\\g<nope>"\n'))], "bad replace"),
    "POF config a JSON list": (lambda f: ["run", "pof", str(f["kp"]), "--model", "gcn", "--weights",
                                          str(_pof_npz_config(f["tmp"], "[1, 2]"))], "must be a JSON object"),
    "POF config d_model text": (lambda f: ["run", "pof", str(f["kp"]), "--model", "gcn", "--weights",
                                           str(_pof_npz_config(f["tmp"], '{"model_type": "gcn", "d_model": "x"}'))],
                                "d_model must be an integer"),
    "img2pose config a JSON list": (lambda f: ["run", "img2pose", str(f["img"]), "--synthetic", "--config",
                                               str(_write(f["tmp"] / "c.json", "[1, 2]"))], "must be a JSON object"),
    "img2pose config bad value": (lambda f: ["run", "img2pose", str(f["img"]), "--synthetic", "--config",
                                             str(_write(f["tmp"] / "c.json", '{"min_size": "big"}'))], "min_size"),
    "img2pose --from-reference without its stages": (
        lambda f: ["run", "img2pose", str(f["img"]), "--synthetic", "--from-reference", str(f["a"]), "--start", "roi"],
        "needs the reference's transform/image_sizes"),
    "--model-dir without the models": (lambda f: ["run", "mtcnn", str(f["img"]), "--model-dir", str(f["tmp"])],
                                       "not installed in model folder"),
    "--au-dir without the AU models": (lambda f: ["run", "openface-image", str(f["img"]), "--au-dir", str(f["tmp"])],
                                       "AU_predictors folder"),
    "corpus --model-dir without the models": (
        lambda f: ["gate", str(_write(f["tmp"] / "c.toml", '[corpus]\npipeline = "mtcnn"\n[[case]]\n'
                                       f'input = "{f["img"]}"\n')), "--model-dir", str(f["tmp"])],
        "not installed in model folder"),
}


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


@pytest.mark.parametrize("case", list(BAD))
def test_bad_value_is_one_line_exit_2(files, capsys, case):
    make, message = BAD[case]
    assert main(make(files)) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_model_dir_checksums_are_verified_like_the_environment_variable(openface_model_dir, tmp_path, capsys,
                                                                         monkeypatch):
    """A --model-dir with one corrupted weight is refused exactly as PYPARITY_MODEL_DIR is."""
    import os
    import shutil

    import cv2

    md = tmp_path / "model"
    shutil.copytree(openface_model_dir, md, copy_function=os.symlink)  # a link farm, then one bad copy
    onet = md / "mtcnn_detector" / "ONet.dat"
    data = bytearray(onet.read_bytes())
    data[4096] ^= 0x10
    onet.unlink()
    onet.write_bytes(bytes(data))
    img = tmp_path / "img.png"
    cv2.imwrite(str(img), np.full((64, 64, 3), 90, np.uint8))
    monkeypatch.setenv("PYPARITY_CACHE_DIR", str(tmp_path / "cache"))
    from pyparity.models import manager

    manager._clear_process_caches()
    assert main(["run", "mtcnn", str(img), "--model-dir", str(md)]) == 2
    by_flag = capsys.readouterr().err
    monkeypatch.setenv("PYPARITY_MODEL_DIR", str(md))
    assert main(["run", "mtcnn", str(img)]) == 2
    by_env = capsys.readouterr().err
    for err in (by_flag, by_env):
        assert "mtcnn_detector/ONet.dat: sha256 mismatch" in err and len(err.strip().splitlines()) == 1
    manager._clear_process_caches()


# -- control characters in stage names ------------------------------------------------------------

NASTY = ["mtcnn/\x1b[31mred\x1b[0m", "mtcnn/bell\x07", "mtcnn/bs\x08x", "mtcnn/bidi\u202eevil", "mtcnn/c1\x9b2J",
         "mtcnn/[bold]markup[/bold]", "mtcnn/del\x7f"]


@pytest.fixture
def nasty(tmp_path):
    """Two traces whose stages have control characters in their names, one diverging."""
    from pyparity.trace import Trace, write_trace

    a = [(n, np.full(3, i, np.float32)) for i, n in enumerate(NASTY)]
    b = [(n, v + (1 if i == 0 else 0)) for i, (n, v) in enumerate(a)]
    # the writer refuses only what index.tsv and zip names cannot hold (tab, line breaks, NUL)
    write_trace(Trace.from_arrays(a), tmp_path / "A")
    write_trace(Trace.from_arrays(b), tmp_path / "B")
    return tmp_path / "A", tmp_path / "B"


def test_control_characters_are_escaped_in_every_report(nasty, tmp_path, capfd):
    a, b = nasty
    code = main(["diff", str(a), str(b), "--junit", str(tmp_path / "r.xml"), "--json", str(tmp_path / "r.json"),
                 "--html", str(tmp_path / "r.html")])
    assert code == 1
    out, err = capfd.readouterr()
    raw = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]")
    assert not raw.search(out) and not raw.search(err)
    assert "\\x1b[31mred\\x1b[0m" in out and "\\u202eevil" in out and "[bold]markup[/bold]" in out
    ET.parse(tmp_path / "r.xml")  # valid XML
    xml = (tmp_path / "r.xml").read_text(encoding="utf-8")
    assert not raw.search(xml) and "\\x08x" in xml
    rep = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))  # valid JSON, names kept exactly
    assert [s["name"] for s in rep["stages"]] == NASTY
    assert not raw.search((tmp_path / "r.json").read_text(encoding="utf-8"))
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert not raw.search(html) and "\\x1b[31mred" in html
    assert main(["show", str(a)]) == 0
    assert not raw.search(capfd.readouterr().out)


def test_error_messages_escape_control_characters(tmp_path, capfd):
    assert main(["diff", str(tmp_path / "no\x1b[2Jsuch"), str(tmp_path)]) == 2
    err = capfd.readouterr().err
    assert "\x1b" not in err and "no\\x1b[2Jsuch" in err and len(err.strip().splitlines()) == 1


def test_writer_refuses_names_the_index_cannot_hold(tmp_path):
    from pyparity.errors import TraceError

    for name in ("a\tb", "a\nb", "a\x00b", ""):
        with Recorder(tmp_path / "t") as rec, pytest.raises(TraceError, match="tab, line break or NUL"):
            rec.save(name, np.ones(1))
