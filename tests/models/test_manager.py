"""The model manager: manifest pins vs the reference dumps, fetch/verify/locate, and its failure modes.

Model files come from the ../shared mirror (never from the repository); each test gets its own cache
folder through PYPARITY_CACHE_DIR. The full 35 MB copy is done once per session; failure-mode tests
fetch a few small files.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from pyparity.errors import ModelError
from pyparity.models import install, manager
from pyparity.models.manifest import (HEADER, build_manifest, default_manifest_path, load_manifest,
                                      manifest_to_toml, sha256_file)

SMALL = "mtcnn_detector/*"          # 4 files, 2.2 MB


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Every test starts with its own empty cache and no model-dir override."""
    monkeypatch.setenv("PYPARITY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PYPARITY_MODEL_DIR", raising=False)
    monkeypatch.delenv("PYPARITY_AU_DIR", raising=False)
    monkeypatch.delenv("PYPARITY_MANIFEST", raising=False)
    manager._clear_process_caches()
    yield
    manager._clear_process_caches()


@pytest.fixture(scope="session")
def full_cache(shared_dir, tmp_path_factory):
    """A cache holding every manifest file, fetched once from the shared mirror."""
    cache = tmp_path_factory.mktemp("full_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYPARITY_CACHE_DIR", str(cache))
        mp.delenv("PYPARITY_MODEL_DIR", raising=False)
        manager._clear_process_caches()
        res = install.fetch(from_dir=shared_dir / "openface" / "model", accept_license=True, all_groups=True)
        manager._clear_process_caches()
    assert len(res.fetched) == len(load_manifest().files)
    return cache


def _use(monkeypatch, cache: Path) -> None:
    monkeypatch.setenv("PYPARITY_CACHE_DIR", str(cache))
    manager._clear_process_caches()


def _cache_files(cache: Path) -> list[str]:
    if not cache.exists():
        return []
    return sorted(p.relative_to(cache).as_posix() for p in cache.rglob("*")
                  if p.is_file() and p.parent.name != "licences" and p.name != "verified.json")


# ---------------------------------------------------------------------------------------------------
# The manifest

def _dump_key(name: str, sha: str, m) -> str:
    """Map a dump's meta.json model name onto the manifest key holding those bytes."""
    if name.startswith("pose_references/"):
        return "img2pose/" + name
    if name.startswith("AU_predictors/"):
        return "openface_au/" + name[len("AU_predictors/"):]
    rel = name[len("model/"):]
    if rel.startswith("patch_experts/cen_patches_"):
        return "synthetic_cen/" + Path(rel).name
    key = "openface/" + rel
    if m.by_key()[key].sha256 != sha and rel == "early_term_cen_of.txt":
        return "synthetic_cen/no_early_termination/early_term_cen_of.txt"
    return key


def test_manifest_pins_every_model_the_dumps_used(shared_dir):
    m = load_manifest()
    keys = m.by_key()
    seen = 0
    for meta in sorted((shared_dir / "reference_dumps").glob("*/**/meta.json")):
        models = json.loads(meta.read_text()).get("models") or {}
        for name, sha in models.items():
            if not isinstance(sha, str):
                continue          # POF dumps: synthetic-weights descriptions, not files
            key = _dump_key(name, sha, m)
            assert key in keys, f"{meta}: {name} not in the manifest"
            assert keys[key].sha256 == sha, f"{meta}: {name}"
            seen += 1
    assert seen > 100
    for must in ("openface/mtcnn_detector/PNet.dat", "openface/mtcnn_detector/MTCNN_detector.txt",
                 "openface_au/AU_all_static.txt", "openface_au/svr_combined/AU_12_static_intensity_comb.dat",
                 "openface/main_ceclm_general.txt", "openface/detection_validation/validator_general_68.txt",
                 "openface/model_inner/patch_experts/ccnf_patches_1.00_inner.txt"):
        assert must in keys


def test_manifest_urls_and_licences():
    m = load_manifest()
    for f in m.group_files("openface"):
        assert f.path == "lib/local/LandmarkDetector/model/" + f.name
        assert f.urls == ("https://raw.githubusercontent.com/TadasBaltrusaitis/OpenFace/OpenFace_2.2.0/" + f.path,)
    for f in m.group_files("openface_au"):
        assert f.path == "lib/local/FaceAnalyser/AU_predictors/" + f.name
        assert f.urls == ("https://raw.githubusercontent.com/TadasBaltrusaitis/OpenFace/OpenFace_2.2.0/" + f.path,)
    assert m.groups["openface_au"].default and m.groups["openface_au"].licence == "openface"
    assert all(not f.urls for f in m.group_files("synthetic_cen"))
    assert all(f.urls[0].startswith("https://raw.githubusercontent.com/vitoralbiero/img2pose/fd5473e")
               for f in m.group_files("img2pose"))
    assert m.groups["img2pose"].licence == "img2pose" and "BY-NC" in m.licences["img2pose"].title
    assert {u.name for u in m.unpinned} >= {"img2pose_v1.pth", "patch_experts/cen_patches_0.25_of.dat"}


def test_manifest_is_reproducible_from_the_mirror(shared_dir):
    built = build_manifest(shared_dir / "openface" / "model", shared_dir / "openface" / "synthetic_cen",
                           shared_dir / "img2pose",
                           shared_dir / "openface" / "cpp-2.0.2" / "lib" / "local" / "FaceAnalyser" / "AU_predictors")
    assert manifest_to_toml(built, HEADER) == default_manifest_path().read_text(encoding="utf-8")


def test_bad_manifest_is_one_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "m.toml"
    bad.write_text("format = 'pyparity-model-manifest'\nversion = 1\n[[file]]\ngroup = 'x'\n")
    with pytest.raises(ModelError, match=r"m\.toml.*missing field 'name'"):
        load_manifest(bad)
    bad.write_text("not toml [")
    with pytest.raises(ModelError, match="cannot read the model manifest"):
        load_manifest(bad)
    monkeypatch.setenv("PYPARITY_MANIFEST", str(tmp_path / "absent.toml"))
    manager._clear_process_caches()
    with pytest.raises(ModelError, match="absent.toml: model manifest not found"):
        manager.openface_model_dir()


# ---------------------------------------------------------------------------------------------------
# Fetch and locate

def test_full_fetch_verifies_and_locates(full_cache, monkeypatch, shared_dir):
    _use(monkeypatch, full_cache)
    statuses = manager.verify(all_groups=True)
    assert [s for s in statuses if s.status != "ok"] == []
    d = manager.openface_model_dir()
    assert d == full_cache / "openface-2.2.0" / "model"
    assert (d / "mtcnn_detector" / "PNet.dat").read_bytes() == \
        (shared_dir / "openface" / "model" / "mtcnn_detector" / "PNet.dat").read_bytes()
    for name in ("mtcnn_detector/PNet.dat", "model/mtcnn_detector/PNet.dat",
                 "lib/local/LandmarkDetector/model/mtcnn_detector/PNet.dat", "openface/mtcnn_detector/PNet.dat"):
        assert manager.model_path(name) == d / "mtcnn_detector" / "PNet.dat"
    ref5 = manager.model_path("img2pose/pose_references/reference_3d_5_points_trans.npy")
    assert sha256_file(ref5) == "a9fce645484c7e326ab7ca19c77e8b99f69f5d6506ef751da4335487a76e1ccb"
    assert (manager.synthetic_cen_dir() / "cen_patches_0.25_of.dat").is_file()
    # FaceAnalyser's models came from beside the model folder (../cpp-2.0.2/.../AU_predictors)
    au = manager.openface_au_dir()
    assert au == full_cache / "openface-2.2.0" / "AU_predictors" and (au / "main_static_svms.txt").is_file()
    for name in ("AU_predictors/AU_all_static.txt", "lib/local/FaceAnalyser/AU_predictors/AU_all_static.txt",
                 "openface_au/AU_all_static.txt"):
        assert manager.model_path(name) == au / "AU_all_static.txt"
    assert (manager.img2pose_dir() / "pose_references" / "reference_3d_68_points_trans.npy").is_file()
    with pytest.raises(ModelError, match="not a model file pyparity knows"):
        manager.model_path("mtcnn_detector/nope.dat")
    # a second fetch finds everything in place
    res = install.fetch(all_groups=True)
    assert res.fetched == () and len(res.already) == len(load_manifest().files)


def test_locating_is_cheap_once_hashed(full_cache, monkeypatch):
    """openface_model_dir() trusts the stat signature of files already hashed: no re-hashing."""
    _use(monkeypatch, full_cache)
    manager.openface_model_dir()
    manager._clear_process_caches()          # a new process: stamps come from verified.json

    def no_hashing(*a, **k):
        raise AssertionError("hashed again")

    monkeypatch.setattr("pyparity.models.manifest.sha256_file", no_hashing)
    assert (manager.openface_model_dir() / "tris_68.txt").is_file()


def test_missing_models_tell_the_user_to_fetch():
    with pytest.raises(ModelError, match=r"not installed in .*: run `pyparity models fetch`") as ei:
        manager.openface_model_dir()
    assert "\n" not in str(ei.value)
    with pytest.raises(ModelError, match=r"pyparity models fetch --only 'synthetic_cen/\*'"):
        manager.synthetic_cen_dir()


def test_model_dir_override_is_verified(shared_dir, tmp_path, monkeypatch):
    mirror = shared_dir / "openface" / "model"
    monkeypatch.setenv("PYPARITY_MODEL_DIR", str(mirror))
    assert manager.openface_model_dir() == mirror
    # an override folder with one corrupt file (same size, one byte changed) is refused
    alt = tmp_path / "alt"
    for f in load_manifest().group_files("openface"):
        (alt / f.name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(mirror / f.name, alt / f.name)
    target = alt / "haarAlign.txt"
    data = bytearray((mirror / "haarAlign.txt").read_bytes())
    data[0] ^= 1
    target.unlink()
    target.write_bytes(bytes(data))
    monkeypatch.setenv("PYPARITY_MODEL_DIR", str(alt))
    with pytest.raises(ModelError, match=r"PYPARITY_MODEL_DIR=.*haarAlign\.txt: sha256 mismatch.*pyparity models fetch"):
        manager.openface_model_dir()


def test_au_dir_override_is_verified(openface_au_dir, tmp_path, monkeypatch):
    """$PYPARITY_AU_DIR: OpenFace's AU_predictors folder used in place, still checked file by file."""
    monkeypatch.setenv("PYPARITY_AU_DIR", str(openface_au_dir))
    assert manager.openface_au_dir() == openface_au_dir
    monkeypatch.setenv("PYPARITY_AU_DIR", str(tmp_path))
    with pytest.raises(ModelError, match=r"openface_au model files are not installed in PYPARITY_AU_DIR="):
        manager.openface_au_dir()


def test_au_models_fetch_from_the_au_folder_itself(openface_au_dir):
    """--from may name the AU_predictors folder itself (the group's `{name}` layout)."""
    res = install.fetch(from_dir=openface_au_dir, accept_license=True, names=["openface_au/AU_all_static.txt"])
    assert [(f.key, src) for f, src in res.fetched] == [("openface_au/AU_all_static.txt",
                                                         str(openface_au_dir / "AU_all_static.txt"))]


def test_cache_root_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("PYPARITY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert manager.cache_root() == tmp_path / "xdg" / "pyparity"
    monkeypatch.setenv("PYPARITY_CACHE_DIR", str(tmp_path / "own"))
    assert manager.cache_root() == tmp_path / "own"


def test_corrupt_cached_file_fails_verify_and_is_repaired(openface_model_dir, tmp_path):
    install.fetch(from_dir=openface_model_dir, accept_license=True, names=[SMALL])
    assert all(s.ok for s in manager.verify([SMALL]))
    p = manager.cache_root() / "openface-2.2.0" / "model" / "mtcnn_detector" / "RNet.dat"
    data = bytearray(p.read_bytes())
    data[1000] ^= 0xFF                       # same size: only the sha256 can tell
    p.write_bytes(bytes(data))
    bad = [s for s in manager.verify([SMALL]) if not s.ok]
    assert [(s.file.name, s.status) for s in bad] == [("mtcnn_detector/RNet.dat", "sha256 mismatch")]
    assert "RNet.dat" in bad[0].message
    res = install.fetch(from_dir=openface_model_dir, names=[SMALL])     # licence already accepted
    assert [f.name for f, _ in res.fetched] == ["mtcnn_detector/RNet.dat"]
    assert all(s.ok for s in manager.verify([SMALL]))


def test_wrong_checksum_in_mirror_installs_nothing(openface_model_dir, tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "mtcnn_detector").mkdir(parents=True)
    for n in ("MTCNN_detector.txt", "PNet.dat", "RNet.dat"):
        os.symlink(openface_model_dir / "mtcnn_detector" / n, mirror / "mtcnn_detector" / n)
    data = bytearray((openface_model_dir / "mtcnn_detector" / "ONet.dat").read_bytes())
    data[-1] ^= 1
    (mirror / "mtcnn_detector" / "ONet.dat").write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"mtcnn_detector/ONet\.dat: .*fails its sha256 check") as ei:
        install.fetch(from_dir=mirror, accept_license=True, names=[SMALL])
    assert "\n" not in str(ei.value)
    assert _cache_files(manager.cache_root()) == []       # not even the three good files
    assert not list(manager.cache_root().glob(".staging-*"))


def test_licence_must_be_accepted(openface_model_dir):
    with pytest.raises(ModelError, match=r"licence .* not accepted.*OpenFace-license\.txt.*--accept-license"):
        install.fetch(from_dir=openface_model_dir, names=["haarAlign.txt"])
    with pytest.raises(ModelError, match="not accepted"):
        install.fetch(from_dir=openface_model_dir, names=["haarAlign.txt"], prompt=lambda lic: False)
    assert _cache_files(manager.cache_root()) == []
    asked = []
    install.fetch(from_dir=openface_model_dir, names=["haarAlign.txt"], prompt=lambda lic: asked.append(lic.id) or True)
    assert asked == ["openface"] and install.licence_accepted("openface")
    assert not install.licence_accepted("img2pose")
    install.fetch(from_dir=openface_model_dir, names=["tris_68.txt"])      # recorded: not asked again
    with pytest.raises(ModelError, match=r"CC BY-NC 4\.0"):
        install.fetch(from_dir=openface_model_dir, names=["img2pose/*"])


def test_unreachable_url_fails_fast_and_clearly(monkeypatch):
    m = load_manifest()
    moved = dataclasses.replace(m, files=tuple(
        dataclasses.replace(f, urls=("http://127.0.0.1:9/" + f.path,)) for f in m.files))
    monkeypatch.setattr(manager, "manifest", lambda path=None: moved)
    with pytest.raises(ModelError, match=r"haarAlign\.txt: cannot download \(http://127\.0\.0\.1:9/.*no network\?") as ei:
        install.fetch(accept_license=True, names=["haarAlign.txt"], timeout=2.0)
    assert "\n" not in str(ei.value)
    assert _cache_files(manager.cache_root()) == []


def test_mirror_only_files_need_a_mirror():
    with pytest.raises(ModelError, match=r"cen_patches_0\.25_of\.dat: not found in the mirror .* no official download URL"):
        install.fetch(accept_license=True, names=["synthetic_cen/cen_patches_0.25_of.dat"])


def test_failure_mid_copy_leaves_no_partial_file(openface_model_dir, monkeypatch):
    install.fetch(from_dir=openface_model_dir, accept_license=True, names=["mtcnn_detector/PNet.dat"])
    before = _cache_files(manager.cache_root())
    real = install._copy_stream

    def dies_halfway(src, dst, f, progress, what):
        if f.name.endswith("RNet.dat"):
            dst.write(src.read(1000))
            raise KeyboardInterrupt          # Ctrl-C in the middle of a file
        return real(src, dst, f, progress, what)

    monkeypatch.setattr(install, "_copy_stream", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        install.fetch(from_dir=openface_model_dir, names=[SMALL], force=True)
    assert _cache_files(manager.cache_root()) == before == ["openface-2.2.0/model/mtcnn_detector/PNet.dat"]
    assert not list(manager.cache_root().glob(".staging-*"))
    assert all(s.ok for s in manager.verify(["mtcnn_detector/PNet.dat"]))


def test_progress_reports_every_byte(openface_model_dir):
    seen: dict[str, int] = {}
    install.fetch(from_dir=openface_model_dir, accept_license=True, names=[SMALL],
                  progress=lambda f, done, size: seen.__setitem__(f.name, done))
    assert seen == {f.name: f.size for f in manager.select([SMALL])}


def test_selection_errors():
    with pytest.raises(ModelError, match="no model file matches 'nothing/\\*'"):
        manager.select(["nothing/*"])
    with pytest.raises(ModelError, match="no pinned checksum"):
        manager.select(["patch_experts/cen_patches_0.25_of.dat"])
    assert {f.group for f in manager.select()} == {"openface", "openface_au"}
    assert {f.group for f in manager.select(all_groups=True)} == {"openface", "openface_au", "synthetic_cen", "img2pose"}
