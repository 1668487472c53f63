"""`pyparity run openface-image`, `run clnf --bbox`, `run openface-sequence`: traces, diffs, exit codes
(0 parity, 1 divergence, 2 bad input with one line on stderr)."""

from __future__ import annotations

import json

import numpy as np
import pytest


from pyparity.cli.app import main
from pyparity.trace import read_trace
from tests.paths import REPO

FE_AU_DUMPS = REPO / "reference_dumps" / "openface-2.0.2-fe-au" / "image_sequence"


@pytest.fixture(scope="module")
def image_trace(tmp_path_factory, samples_dir, openface_model_dir, openface_au_dir):
    """One openface-image run of 001.jpg written to disk (level 1)."""
    out = tmp_path_factory.mktemp("of") / "t001"
    code = main(["run", "openface-image", str(samples_dir / "image_sequence" / "001.jpg"), "--model-dir",
                 str(openface_model_dir), "--au-dir", str(openface_au_dir), "--out", str(out), "--level", "1"])
    assert code == 0
    return out


def test_image_trace_has_the_reference_layout(image_trace, openface_dumps):
    t = read_trace(image_trace)
    ref = read_trace(openface_dumps / "images" / "001.jpg")
    for n in ("mtcnn/output/boxes", "face00/clnf/input/bbox", "face00/clnf/h00/fit/landmarks_stacked",
              "face00/clnf/h00/validation/certainty", "face00/output/landmarks_stacked", "face00/output/pose",
              "face00/output/landmarks_3d", "face00/output/gaze", "face00/output/camera"):
        assert t.info(n).dtype == ref.info(n).dtype and t[n].shape == ref[n].shape, n
    assert t["face00/au/reg/output"].shape == (17,)   # the AUs are on by default


def test_diff_exit_codes(image_trace, tmp_path, samples_dir, openface_model_dir, openface_au_dir, openface_dumps,
                        capsys):
    img = str(samples_dir / "image_sequence" / "001.jpg")
    common = ["--model-dir", str(openface_model_dir), "--au-dir", str(openface_au_dir), "--level", "1"]
    # the same run again is identical to the first: exit 0, JSON report written
    assert main(["run", "openface-image", img, *common, "--diff", str(image_trace),
                 "--json", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text())
    # another image's reference dump: exit 1, the first divergence named
    capsys.readouterr()
    assert main(["run", "openface-image", img, *common, "--diff", str(openface_dumps / "images" / "002.jpg")]) == 1
    assert "FIRST DIVERGENCE" in capsys.readouterr().out


def test_start_box_and_clnf_bbox_fit_the_same_face(tmp_path, samples_dir, openface_model_dir, openface_dumps):
    dump = openface_dumps / "images" / "001.jpg"
    img = str(samples_dir / "image_sequence" / "001.jpg")
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", "openface-image", img, "--model-dir", str(openface_model_dir), "--level", "1", "--out", str(a),
                 "--from-reference", str(dump), "--start", "box", "--no-aus"]) == 0
    box = ",".join(repr(float(v)) for v in read_trace(dump)["face00/clnf/input/bbox"])
    assert main(["run", "clnf", img, "--bbox", box, "--model-dir", str(openface_model_dir), "--level", "1",
                 "--out", str(b)]) == 0
    ta, tb = read_trace(a), read_trace(b)
    assert not any(n.startswith("mtcnn/") for n in ta.names + tb.names)
    assert np.array_equal(ta["face00/output/landmarks_stacked"], tb["face00/output/landmarks_stacked"])


@pytest.mark.parametrize("start", ["face00/clnf/h00/init", "face00/clnf/h00/fit/s1",
                                   "face00/clnf/h00/fit/s2/nonrigid/it01", "h00/parts", "face00/clnf/h00/refit"])
def test_start_inside_the_fit(start, tmp_path, samples_dir, openface_model_dir, openface_dumps):
    """--start at a recorded point of the fit: the run records from there on under the reference's
    names, then the validator and outputs; the diff against the same dump decides the exit code."""
    dump = str(openface_dumps / "images" / "sample1.jpg")
    out = tmp_path / "t"
    code = main(["run", "openface-image", str(samples_dir / "sample1.jpg"), "--model-dir", str(openface_model_dir),
                 "--no-aus", "--out", str(out), "--diff", dump, "--from-reference", dump, "--start", start])
    t = read_trace(out)
    rel = start.split("/clnf/")[-1]
    assert "face00/clnf/h00/init/params_global" not in t or rel == "h00/init"
    assert "face00/output/landmarks_stacked" in t and "face00/output/gaze" in t
    assert code == 0


def test_sequence_cli_summary(tmp_path, samples_dir, openface_model_dir, openface_au_dir, openface_dumps, capsys):
    out = tmp_path / "seq"
    code = main(["run", "openface-sequence", str(samples_dir / "image_sequence"), "--model-dir", str(openface_model_dir),
                 "--au-dir", str(openface_au_dir), "--out", str(out), "--max-frames", "2",
                 "--diff", str(FE_AU_DUMPS), "--json", str(tmp_path / "s.json")])
    text = capsys.readouterr().out
    rep = json.loads((tmp_path / "s.json").read_text())
    assert [r["frame"] for r in rep["frames"]] == ["frame0000", "frame0001"]
    assert code == 0 and [r["status"] for r in rep["frames"]] == ["match", "match"]
    assert "2 frames" in text and "worst face00/output/landmarks_stacked" in text
    # every AU stage of FeatureExtraction's dump of each frame compared (frame0001: no median update)
    for r in rep["frames"]:
        ref = read_trace(FE_AU_DUMPS / r["frame"])
        assert r["au_stages_compared"] == sum("/au/" in n for n in ref.names) > 0
        assert r["stages_compared"] == len(ref.names) and r["only_in_reference"] == 0
    assert f"match, landmarks max abs 0.000000 px, {len(read_trace(FE_AU_DUMPS / 'frame0000').names)} stages" in text
    assert "AU stages compared in 2/2 frames" in text
    assert (out / "frame0001" / "index.tsv").is_file()
    t = read_trace(out / "frame0001")
    assert "face00/init/window_sizes" in t and "face00/au/reg/output" in t
    # the AUs present per frame; the end of the video written, not compared after --max-frames
    assert rep["frames"][0]["aus_present"] and "frame0000 001.jpg: success 1, AUs AU" in text
    name, margin = min((r["smallest_presence_margin"] for r in rep["frames"]), key=lambda m: abs(m[1]))
    assert f"smallest presence margin {margin:+.3g} ({name}, frame000" in text
    assert "video/au/postprocess/reg/AU12" in read_trace(out / "video")
    assert "video: end-of-video AU post-processing not compared (--max-frames" in text
    # the presences the CSV's vote counts are re-predicted at the end: their smallest margin too
    name, frame, margin = rep["video"].pop("smallest_reinit_margin")
    assert f"smallest re-predicted presence margin {margin:+.3g} ({name}, {frame})" in text
    assert frame in ("frame0000", "frame0001") and rep["video"] == {"frame": "video"}


@pytest.mark.parametrize("args, message", [
    (["run", "openface-image", "{tmp}/missing.jpg"], "missing.jpg"),
    (["run", "openface-image", "{tmp}/bad.jpg"], "bad.jpg"),
    (["run", "openface-image", "{img}", "--start", "box"], "--from-reference and --start go together"),
    (["run", "openface-image", "{img}", "--model-dir", "{tmp}"], "not installed in model folder"),
    (["run", "openface-image", "{img}", "--model", "nope"], "'nope' is not one of 'ccnf', 'ceclm'"),
    (["run", "openface-image", "{img}", "--from-reference", "{dump}", "--start", "h00/fit/s9"], "s9"),
    (["run", "openface-image", "{img}", "--from-reference", "{dump}", "--start", "nowhere"], "cannot start"),
    (["run", "openface-sequence", "{seq}", "--isolate"], "--isolate: needs a reference to compare with"),
    (["run", "clnf", "{img}", "--bbox", "1,2,3"], "four"),
    (["run", "clnf", "{img}", "--bbox", "10,10,0,40"], "zero or negative size"),
    (["run", "clnf", "{img}", "--bbox", "5000,5000,40,40"], "outside"),
    (["run", "openface-sequence", "{tmp}/none.avi"], "none.avi"),
    (["run", "openface-sequence", "{img}", "--max-frames", "0"], "--max-frames"),
])
def test_bad_input_exits_2(args, message, tmp_path, samples_dir, openface_model_dir, openface_dumps, capsys):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff not really")
    img = str(samples_dir / "image_sequence" / "001.jpg")
    dump = str(openface_dumps / "images" / "001.jpg")
    argv = [a.format(tmp=tmp_path, img=img, dump=dump, seq=samples_dir / "image_sequence") for a in args]
    if "--model-dir" not in argv:
        argv += ["--model-dir", str(openface_model_dir)]
    if argv[1] in ("openface-image", "openface-sequence"):
        argv += ["--no-aus"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) <= 2


def test_gate_corpus_passes(openface_model_dir, shared_dir, capsys):
    """`pyparity gate corpus/openface-clnf.toml`: the `clnf` gate pipeline (FaceLandmarkImg's flow) on a
    few shared images, each against its golden and the C++ dump under the openface policy."""
    from pyparity.gate.corpus import load_corpus

    spec = REPO / "corpus" / "openface-clnf.toml"
    corpus = load_corpus(spec)
    assert all(c.pipeline == "clnf" and c.reference is not None and c.golden.startswith("clnf/") for c in corpus.cases)
    assert main(["gate", str(spec), "--model-dir", str(openface_model_dir), "--no-progress", "--jobs", "2"]) == 0
    assert f"GATE PASSED: {len(corpus.cases)} case(s)" in capsys.readouterr().out


def _sequence_with_video(monkeypatch, n_frames: int, video_value: float, frame_aus: bool = False):
    """openface-sequence without models: each frame records a landmark stage (and an AU stage with
    `frame_aus`), then the end-of-video item records one post-processed AU series (`video_value`)."""
    import pyparity.app.specs.openface as ro
    from pyparity.pipelines.openface import sequence

    def run_sequence(frames, models, recorder_for, level, max_frames, reference_for=None):
        for i in range(n_frames):
            rec = recorder_for(i, f"{i:03d}.jpg")
            rec.save("face00/output/landmarks_stacked", np.full((4, 1), i, np.float32))
            if frame_aus:
                rec.save("face00/au/reg/output", np.full(17, 0.5 * i))
            yield f"{i:03d}.jpg", None, rec.finish()
        rec = recorder_for(n_frames, sequence.VIDEO_DUMP)
        rec.save("video/au/postprocess/reg/AU01", np.full(n_frames, video_value))
        yield sequence.VIDEO_DUMP, None, rec.finish()

    monkeypatch.setattr(ro, "load_models", lambda model_dir, **options: None)
    monkeypatch.setattr(sequence, "frames_of", lambda source: iter(()))
    monkeypatch.setattr(sequence, "run_sequence", run_sequence)


def test_sequence_end_of_video_is_written_and_decides_the_exit_code(tmp_path, monkeypatch, capsys):
    """The `video` trace goes beside the frames (a re-run may replace the folder), is diffed with the
    reference's `video`, and a divergence there fails the run even when every frame matches."""
    ref, out = tmp_path / "ref", tmp_path / "out"
    _sequence_with_video(monkeypatch, 2, 1.0)
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(ref)]) == 0
    assert sorted(p.name for p in ref.iterdir()) == ["frame0000", "frame0001", "video"]
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(ref)]) == 0      # replaced
    capsys.readouterr()
    assert main(["run", "openface-sequence", str(tmp_path), "--diff", str(ref), "--json", str(tmp_path / "a.json")]) == 0
    assert "video: match" in capsys.readouterr().out
    assert json.loads((tmp_path / "a.json").read_text())["video"]["status"] == "match"
    _sequence_with_video(monkeypatch, 2, 1.5)
    code = main(["run", "openface-sequence", str(tmp_path), "--diff", str(ref), "--out", str(out),
                 "--json", str(tmp_path / "b.json")])
    text = capsys.readouterr().out
    doc = json.loads((tmp_path / "b.json").read_text())
    assert code == 1 and [r["status"] for r in doc["frames"]] == ["match", "match"]
    assert doc["video"]["status"] == "diverged" and doc["video"]["first_divergence"] == "video/au/postprocess/reg/AU01"
    assert "video: diverged, first divergence video/au/postprocess/reg/AU01" in text and "; video diverged" in text
    assert (out / "video" / "index.tsv").is_file()
    assert main(["run", "openface-sequence", str(tmp_path), "--diff", str(ref), "--max-frames", "2"]) == 0
    assert "not compared (--max-frames" in capsys.readouterr().out


def test_sequence_says_which_au_stages_it_compared(tmp_path, monkeypatch, capsys):
    """Reference stages a run never recorded do not fail a diff: the sequence summary counts the AU
    stages compared per frame and the reference's stages left uncompared, so a run without AUs against
    AU dumps cannot pass as AU parity unnoticed."""
    ref = tmp_path / "ref"
    _sequence_with_video(monkeypatch, 2, 1.0, frame_aus=True)
    assert main(["run", "openface-sequence", str(tmp_path), "--out", str(ref)]) == 0
    capsys.readouterr()
    assert main(["run", "openface-sequence", str(tmp_path), "--diff", str(ref), "--json", str(tmp_path / "a.json")]) == 0
    text = capsys.readouterr().out
    rows = json.loads((tmp_path / "a.json").read_text())["frames"]
    assert [(r["stages_compared"], r["au_stages_compared"], r["only_in_reference"]) for r in rows] == [(2, 1, 0)] * 2
    assert "px, 2 stages compared (1 AU)" in text and "video: match, 1 stage compared (1 AU)" in text
    assert "AU stages compared in 2/2 frames" in text
    _sequence_with_video(monkeypatch, 2, 1.0, frame_aus=False)
    assert main(["run", "openface-sequence", str(tmp_path), "--diff", str(ref), "--json", str(tmp_path / "b.json")]) == 0
    text = capsys.readouterr().out
    rows = json.loads((tmp_path / "b.json").read_text())["frames"]
    assert [(r["stages_compared"], r["au_stages_compared"], r["only_in_reference"]) for r in rows] == [(1, 0, 1)] * 2
    assert "px, 1 stage compared (0 AU), 1 only in the reference" in text
    assert "AU stages compared in 0/2 frames" in text
