"""The C++ OpenFace recorder: built from ../shared/openface/cpp-2.0.2 with pyparity's kit, it must
reproduce every shared OpenFace dump bit for bit, and with recording off give OpenFace's own CSVs.

These tests compile C++ (about 2.5 minutes on 2 cores, once per cache): they are marked `cpp`
(`pytest -m "not cpp"` leaves them out). The build is cached under $PYPARITY_BUILD_CACHE (CI: its temp
folder). Without the Debian build packages they skip, except under PYPARITY_REQUIRE_CPP=1 (CI).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from pyparity.reference.openface.build import missing_packages
from pyparity.reference.openface.service import build_reference, record_reference
from pyparity.reference.openface.verify import compare_bitwise
from tests.paths import REPO

pytestmark = pytest.mark.cpp

FE_AU = REPO / "reference_dumps" / "openface-2.0.2-fe-au"


def _dump_level(dump: Path) -> int:
    return int(json.loads((dump / "meta.json").read_text())["producer"].get("dump_level", 1))


def _sample(samples: Path, name: str) -> Path:
    if name.startswith("gray_"):
        return samples / "image_sequence_gray" / name[len("gray_"):]
    if (samples / name).exists():
        return samples / name
    return samples / "image_sequence" / name


@pytest.fixture(scope="session")
def openface_build(shared_dir, tmp_path_factory):
    missing = missing_packages()
    if missing:
        if os.environ.get("PYPARITY_REQUIRE_CPP") == "1":
            pytest.fail("PYPARITY_REQUIRE_CPP=1 but build packages are missing: " + " ".join(missing))
        pytest.skip("needs the C++ build packages: " + " ".join(missing))
    return build_reference(shared_dir / "openface" / "cpp-2.0.2")


def _not_au(name: str) -> bool:
    return "/au/" not in name


def _au_subset(name: str) -> bool:
    return "/au/" in name or re.fullmatch(r"face\d+/output/landmarks_stacked", name) is not None


@pytest.fixture(scope="session")
def recorded_images(openface_build, shared_dir, tmp_path_factory):
    """Every image of the shared CCNF collection, recorded once at its dump's level, AUs included."""
    ref = shared_dir / "reference_dumps" / "openface-2.0.2" / "images"
    samples = shared_dir / "openface" / "samples"
    out = tmp_path_factory.mktemp("rec-ccnf")
    by_level: dict[int, list[Path]] = {}
    gray = []
    for d in sorted(ref.iterdir()):
        (gray if d.name.startswith("gray_") else by_level.setdefault(_dump_level(d), [])).append(d)
    for level, dumps in by_level.items():
        record_reference([_sample(samples, d.name) for d in dumps], out / f"l{level}", model_dir=samples.parent / "model",
                         level=level, aus=True, csv_dir=out / "csv", build_dir=openface_build.dir)
    recorded = {d.name: out / f"l{_dump_level(d)}" / d.name for dumps in by_level.values() for d in dumps}
    for d in gray:
        record_reference([_sample(samples, d.name)], out / d.name, model_dir=samples.parent / "model",
                         level=_dump_level(d), aus=True, build_dir=openface_build.dir)
        recorded[d.name] = out / d.name
    return recorded


def test_ccnf_images_bit_for_bit(recorded_images, shared_dir):
    ref = shared_dir / "reference_dumps" / "openface-2.0.2" / "images"
    bad = {}
    for d in sorted(ref.iterdir()):
        c = compare_bitwise(recorded_images[d.name], d, keep=_not_au)
        assert c.stages > 300
        if not c.identical:
            bad[d.name] = c.differences[:3]
    assert not bad, bad


def test_au_images_bit_for_bit(recorded_images, shared_dir):
    ref = shared_dir / "reference_dumps" / "openface-2.0.2-au" / "images"
    bad = {}
    for d in sorted(ref.iterdir()):
        c = compare_bitwise(recorded_images[d.name], d, keep=_au_subset)
        assert c.stages >= 19
        if not c.identical:
            bad[d.name] = c.differences[:3]
    assert not bad, bad


def _kept_in(dump: Path):
    """The stages a reduced dump kept (the committed FeatureExtraction AU dumps)."""
    from pyparity.trace.dumpio import read_trace

    names = set(read_trace(dump).names)
    return lambda n: n in names


def test_sequence_bit_for_bit(openface_build, shared_dir, tmp_path):
    """Tracking stages identical with the shared sequence dumps; the AU stages (recorded in the same run)
    identical with the committed FeatureExtraction AU dumps, end of the video included."""
    ref = shared_dir / "reference_dumps" / "openface-2.0.2" / "sequences" / "image_sequence"
    samples = shared_dir / "openface" / "samples"
    res = record_reference([samples / "image_sequence"], tmp_path, model_dir=samples.parent / "model",
                           aus=True, build_dir=openface_build.dir)
    frames = sorted(ref.iterdir())
    assert [p.name for p in res.dumps] == [f.name for f in frames] + ["video"]
    bad = {}
    for f in frames:
        c = compare_bitwise(tmp_path / "image_sequence" / f.name, f, keep=_not_au)
        if not c.identical:
            bad[f.name] = c.differences[:3]
        committed = FE_AU / "image_sequence" / f.name
        c = compare_bitwise(tmp_path / "image_sequence" / f.name, committed, keep=_kept_in(committed))
        assert c.stages >= 21
        if not c.identical:
            bad["au " + f.name] = c.differences[:3]
    c = compare_bitwise(tmp_path / "image_sequence" / "video", FE_AU / "image_sequence" / "video")
    if not c.identical or c.stages != 109:
        bad["video"] = c.differences[:3] or [f"{c.stages} stages"]
    assert not bad, bad


def test_webcam_path_bit_for_bit(openface_build, shared_dir, tmp_path):
    """CorrectOnlineAUs (FaceAnalyser's webcam path), recorded through our driver: identical with the
    committed dumps, and every AU stage of the fresh recording (HOG, medians, ...) matches the Python
    port run online on the same inputs."""
    import numpy as np

    from pyparity.imageio import read_image_bgr
    from pyparity.pipelines.openface.au import load_au_models
    from pyparity.pipelines.openface.au.video import VideoAuState, add_next_frame
    from pyparity.reference.openface.online import OnlineFrame, record_online_aus
    from pyparity.trace import Recorder
    from pyparity.trace.dumpio import read_trace

    committed = FE_AU / "online" / "image_sequence"
    images = shared_dir / "openface" / "samples" / "image_sequence"
    au_root = shared_dir / "openface" / "cpp-2.0.2" / "lib" / "local" / "FaceAnalyser"
    refs = [read_trace(d) for d in sorted(committed.iterdir())]
    frames = [OnlineFrame(images / r.meta["input"]["file"], r["face00/au/input/landmarks_stacked"],
                          bool(int(r["face00/au/input/success"])), i * (1.0 / 30)) for i, r in enumerate(refs)]
    dumps = record_online_aus(frames, tmp_path / "image_sequence", openface_build.dir, au_root)
    assert [d.name for d in dumps] == [d.name for d in sorted(committed.iterdir())]
    models = load_au_models(au_root / "AU_predictors", dynamic=True)
    state, bad = VideoAuState(), {}
    for d, f in zip(dumps, frames):
        c = compare_bitwise(d, committed / d.name, keep=_kept_in(committed / d.name))
        if not c.identical:
            bad[d.name] = c.differences[:3]
        rec = Recorder()
        with rec.scope("face00/au"):
            add_next_frame(state, read_image_bgr(f.image), f.landmarks_stacked, f.success, models, rec,
                           online=True, timestamp=f.timestamp)
        ours, ref = rec.finish(), read_trace(d)
        assert "face00/au/reg/online_corrected" in ref.names
        differ = [n for n in ref.names if not np.array_equal(ours[n], ref[n])]
        if differ:
            bad["python " + d.name] = differ[:3]
    assert not bad, bad


@pytest.mark.parametrize("collection", ["images", "images-multiview-full"])
def test_ceclm_bit_for_bit(openface_build, shared_dir, tmp_path, collection):
    ref = shared_dir / "reference_dumps" / "openface-2.0.2-cen-synthetic" / collection
    samples = shared_dir / "openface" / "samples"
    cen = shared_dir / "openface" / "synthetic_cen"
    multi = collection == "images-multiview-full"
    bad = {}
    by_level: dict[int, list[Path]] = {}
    for d in sorted(ref.iterdir()):
        by_level.setdefault(_dump_level(d), []).append(d)
    for level, dumps in by_level.items():
        record_reference([_sample(samples, d.name) for d in dumps], tmp_path / f"l{level}", model="main_ceclm_general",
                         model_dir=samples.parent / "model", level=level, cen_dir=cen, multi_view=multi,
                         early_term=cen / "no_early_termination" / "early_term_cen_of.txt" if multi else None,
                         build_dir=openface_build.dir)
        for d in dumps:
            c = compare_bitwise(tmp_path / f"l{level}" / d.name, d, keep=_not_au)
            assert c.stages > 300
            if not c.identical:
                bad[d.name] = c.differences[:3]
    assert not bad, bad


def test_recording_off_gives_openface_csv(openface_build, shared_dir, tmp_path):
    """The same binary with PYPARITY_DUMP_DIR unset writes exactly the CSV the reference run wrote."""
    samples = shared_dir / "openface" / "samples"
    csv_ref = shared_dir / "reference_dumps" / "openface-2.0.2" / "csv"
    names = ["sample1.jpg", "sample2.jpg", "001.jpg", "014.jpg"]
    res = record_reference([_sample(samples, n) for n in names], tmp_path / "d", model_dir=samples.parent / "model",
                           csv_dir=tmp_path / "csv", record_on=False, build_dir=openface_build.dir)
    assert res.dumps == [] and not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())
    for n in names:
        got = (tmp_path / "csv" / (Path(n).stem + ".csv")).read_bytes()
        assert got == (csv_ref / "images" / (Path(n).stem + ".csv")).read_bytes(), n
    res = record_reference([samples / "image_sequence"], tmp_path / "s", model_dir=samples.parent / "model",
                           csv_dir=tmp_path / "csv_seq", record_on=False, build_dir=openface_build.dir)
    got = (tmp_path / "csv_seq" / "image_sequence.csv").read_bytes()
    assert got == (csv_ref / "sequences" / "image_sequence.csv").read_bytes()


def test_python_image_pipeline_passes_on_new_inputs(openface_build, shared_dir, tmp_path):
    """Inputs no shared dump covers: a mirrored sample2 (three faces) and a resized sample1."""
    import cv2

    from pyparity.cli.app import main

    samples = shared_dir / "openface" / "samples"
    made = {
        "sample2_flipped.png": cv2.flip(cv2.imread(str(samples / "sample2.jpg")), 1),
        "sample1_resized.png": cv2.resize(cv2.imread(str(samples / "sample1.jpg")), None, fx=0.8, fy=0.8,
                                          interpolation=cv2.INTER_AREA),
    }
    for name, im in made.items():
        assert cv2.imwrite(str(tmp_path / name), im)
    record_reference([tmp_path / n for n in made], tmp_path / "ref", model_dir=samples.parent / "model", aus=True,
                     build_dir=openface_build.dir)
    au_dir = samples.parent / "cpp-2.0.2" / "lib" / "local" / "FaceAnalyser" / "AU_predictors"
    for name in made:
        code = main(["run", "openface-image", str(tmp_path / name), "--diff", str(tmp_path / "ref" / name),
                     "--model-dir", str(samples.parent / "model"), "--au-dir", str(au_dir),
                     "--json", str(tmp_path / f"{name}.json")])
        assert code == 0, name
        report = json.loads((tmp_path / f"{name}.json").read_text())
        compared = [r for r in report["stages"] if "/au/" in r["name"] and r["status"] == "match"]
        assert compared, f"{name}: no AU stage compared"


def _check_video_aus(ref: Path, csv_file: Path, n_frames: int) -> None:
    """FeatureExtraction's AU path was recorded per frame, and the end-of-video post-processing the
    recorder saw is what OpenFace wrote into its CSV (2 decimals for intensities, presences exact)."""
    import numpy as np

    from pyparity.trace.dumpio import read_trace

    for k in range(n_frames):
        t = read_trace(ref / f"frame{k:04d}")
        for stage in ("face00/au/hog/descriptor", "face00/au/geom/descriptor", "face00/au/reg/raw", "face00/au/class/output"):
            assert stage in t, (k, stage)
        if k % 2 == 0:  # UpdateRunningMedian runs on every other frame
            assert "face00/au/median/hog/median" in t and "face00/au/median/geom/median" in t
    video = read_trace(ref / "video")
    rows = [ln.split(",") for ln in csv_file.read_text().splitlines()]
    header = [h.strip() for h in rows[0]]
    data = np.array([[float(x) for x in r] for r in rows[1:]])
    assert len(data) == n_frames
    reg = [n for n in video.names if n.startswith("video/au/postprocess/reg/")]
    cls = [n for n in video.names if n.startswith("video/au/postprocess/class/")]
    assert len(reg) == 17 and len(cls) == 18
    for n in reg:
        assert np.abs(data[:, header.index(n.rsplit("/", 1)[1] + "_r")] - video[n]).max() <= 0.005 + 1e-12, n
    for n in cls:
        np.testing.assert_array_equal(data[:, header.index(n.rsplit("/", 1)[1] + "_c")], video[n])


def test_python_tracking_passes_on_new_video(openface_build, shared_dir, tmp_path):
    """A video no shared dump covers (the first frames of multi_face.avi, re-encoded): FeatureExtraction
    recorded with AUs and its decoded frames saved; the Python tracker runs on those same pixels."""
    import cv2
    import numpy as np

    from pyparity.cli.app import main
    from pyparity.trace.dumpio import read_trace

    samples = shared_dir / "openface" / "samples"
    video = tmp_path / "multi_face_24.avi"
    cap = cv2.VideoCapture(str(samples / "multi_face.avi"))
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (640, 480))
    for _ in range(24):
        ok, im = cap.read()
        assert ok
        writer.write(im)
    writer.release()
    res = record_reference([video], tmp_path / "ref", model_dir=samples.parent / "model", aus=True,
                           csv_dir=tmp_path / "csv", frames_dir=tmp_path / "frames", build_dir=openface_build.dir)
    ref = tmp_path / "ref" / video.name
    assert [p.name for p in res.dumps] == [f"frame{k:04d}" for k in range(24)] + ["video"]
    _check_video_aus(ref, tmp_path / "csv" / f"{video.stem}.csv", 24)
    frames = tmp_path / "frames" / video.name
    for k in (0, 23):  # the saved frames are the pixels the reference processed
        im = cv2.imread(str(frames / f"frame{k:04d}.png"))
        meta = read_trace(ref / f"frame{k:04d}").meta["input"]
        assert hashlib.sha256(np.ascontiguousarray(im).tobytes()).hexdigest() == meta["pixels_sha256"]
    au_dir = samples.parent / "cpp-2.0.2" / "lib" / "local" / "FaceAnalyser" / "AU_predictors"
    code = main(["run", "openface-sequence", str(frames), "--diff", str(ref), "--json", str(tmp_path / "summary.json"),
                 "--model-dir", str(samples.parent / "model"), "--au-dir", str(au_dir), "--out", str(tmp_path / "py")])
    assert code == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [r["status"] for r in summary["frames"]] == ["match"] * 24
    # the AUs: every frame's recorded AU stage compared bit for bit; the end of the video too, its time
    # stamps apart (a folder of saved frames is stamped 0 where the video was stamped frame/fps)
    assert summary["video"]["status"] == "match"
    _assert_au_stages_identical(ref, tmp_path / "py", 24)


def _assert_au_stages_identical(ref: Path, ours: Path, n_frames: int) -> None:
    import numpy as np

    from pyparity.trace.dumpio import read_trace

    bad = {}
    for k in range(n_frames):
        r, t = read_trace(ref / f"frame{k:04d}"), read_trace(ours / f"frame{k:04d}")
        au = [n for n in r.names if "/au/" in n]
        assert len(au) >= 12
        differ = [n for n in au if n not in t or not np.array_equal(r[n], t[n])]
        if differ:
            bad[k] = differ[:3]
    r, t = read_trace(ref / "video"), read_trace(ours / "video")
    differ = [n for n in r.names if not n.endswith("/timestamps") and not np.array_equal(r[n], t[n])]
    assert not bad and not differ, (bad, differ)


def test_python_aus_pass_on_multi_face_failures(openface_build, shared_dir, tmp_path):
    """40 frames of multi_face.avi (560-599, decoded here and saved as PNG: both sides read the same
    pixels), where FeatureExtraction's fit fails on two frames: tracking, AUs of every frame (failed
    ones: zeros, no median update) and the end of the video, all identical."""
    import cv2

    from pyparity.cli.app import main
    from pyparity.trace.dumpio import read_trace

    samples = shared_dir / "openface" / "samples"
    folder = tmp_path / "multi_face_560"
    folder.mkdir()
    cap = cv2.VideoCapture(str(samples / "multi_face.avi"))
    for k in range(600):
        ok, im = cap.read()
        assert ok
        if k >= 560:
            assert cv2.imwrite(str(folder / f"frame{k:04d}.png"), im)
    cap.release()
    record_reference([folder], tmp_path / "ref", model_dir=samples.parent / "model", aus=True,
                     build_dir=openface_build.dir)
    ref = tmp_path / "ref" / folder.name
    failed = [k for k in range(40) if not int(read_trace(ref / f"frame{k:04d}")["face00/au/input/success"])]
    assert failed == [17, 18]
    au_dir = samples.parent / "cpp-2.0.2" / "lib" / "local" / "FaceAnalyser" / "AU_predictors"
    code = main(["run", "openface-sequence", str(folder), "--diff", str(ref), "--json", str(tmp_path / "s.json"),
                 "--model-dir", str(samples.parent / "model"), "--au-dir", str(au_dir), "--out", str(tmp_path / "py")])
    summary = json.loads((tmp_path / "s.json").read_text())
    assert code == 0 and [r["status"] for r in summary["frames"]] == ["match"] * 40
    assert summary["video"]["status"] == "match"
    _assert_au_stages_identical(ref, tmp_path / "py", 40)


def test_cli_record_then_diff_is_identical(openface_build, shared_dir, tmp_path, capsys):
    """The issue's acceptance: record sample2.jpg, diff against the shared dump: exit 0, every stage identical."""
    from pyparity.cli.app import main

    samples = shared_dir / "openface" / "samples"
    ref = shared_dir / "reference_dumps" / "openface-2.0.2" / "images" / "sample2.jpg"
    out = tmp_path / "D"
    assert main(["reference", "openface", "record", str(samples / "sample2.jpg"), "--out", str(out),
                 "--model-dir", str(samples.parent / "model"), "--build-dir", str(openface_build.dir)]) == 0
    capsys.readouterr()
    assert main(["diff", str(out), str(ref), "--max-rows", "3"]) == 0
    summary = capsys.readouterr().out
    assert "only-in" not in summary and "diverged" not in summary
    assert compare_bitwise(out, ref).identical


def test_record_unreadable_image_is_one_line_and_no_output(openface_build, shared_dir, tmp_path, capsys):
    from pyparity.cli.app import main

    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not a jpeg")
    code = main(["reference", "openface", "record", str(bad), "--out", str(tmp_path / "D"),
                 "--model-dir", str(shared_dir / "openface" / "model"), "--build-dir", str(openface_build.dir)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "FaceLandmarkImg" in err
    assert not (tmp_path / "D").exists()
