"""img2pose weights: synthetic recipe vs the dumps' weights_sha256, state-dict layout, checkpoint loading."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from pyparity.errors import ModelError
from pyparity.pipelines.img2pose import synth
from pyparity.pipelines.img2pose import weights as W

DUMPS = ("sample1.jpg", "sample2.jpg", "sample3.jpg", "001.jpg")


@pytest.fixture(scope="module")
def sd18():
    return synth.synthetic_state_dict(18)


def test_layout_matches_dump_entry_count_and_prefix(shared_dir):
    meta = json.loads((shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg/meta.json").read_text())
    lay = W.layout(18)
    assert len(lay) == meta["weights"]["num_entries"] == 141
    assert all(n.startswith("module.") for n, _, _ in lay)
    assert lay[0][0] == "module.backbone.body.conv1.weight"
    ints = [n for n, _, dt in lay if dt != "float32"]
    assert ints == ["module.roi_heads.box_predictor.dof_pred.1.num_batches_tracked"]


@pytest.mark.parametrize("name", DUMPS)
def test_synthetic_weights_hash_matches_every_dump(name, shared_dir, sd18):
    meta = json.loads((shared_dir / "reference_dumps/img2pose-upstream/images" / name / "meta.json").read_text())
    assert meta["weights"]["overrides"] == {}
    assert synth.weights_sha256(sd18) == meta["weights"]["weights_sha256"]


def test_hash_mismatch_is_a_model_error(shared_dir):
    meta = json.loads((shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg/meta.json").read_text())
    meta["weights"]["weights_sha256"] = "0" * 64
    with pytest.raises(ModelError, match="weights_sha256"):
        synth.synthetic_weights(18, meta)


def test_unprefixed_names_give_other_weights(sd18):
    """The seed is crc32 of the *prefixed* name: hashing without 'module.' changes every entry."""
    from pyparity.models.synthetic_weights import synth_state_dict

    plain = synth_state_dict(W.layout(18, prefix=""))
    assert not np.array_equal(plain["backbone.body.conv1.weight"], sd18["module.backbone.body.conv1.weight"])


def test_npz_round_trip(tmp_path, sd18):
    p = synth.synth_img2pose(18, tmp_path / "w.npz")
    sd, depth = W.load_weights(p)
    assert depth == 18
    assert synth.weights_sha256({W.PREFIX + k: v for k, v in sd.items()}) == synth.weights_sha256(sd18)
    assert sd["roi_heads.box_predictor.dof_pred.1.num_batches_tracked"].shape == ()


def test_depth_50_layout_is_consistent():
    lay = W.layout(50)
    assert len(lay) == 306  # 53 convs + 53 frozen BNs (x4) + FPN 16 + RPN 6 + RoI 19
    sd = {n: np.zeros(s, dtype=dt) for n, s, dt in lay}
    assert W.infer_depth(sd) == 50
    assert W.validate(sd, 50)["backbone.fpn.inner_blocks.3.0.weight"].shape == (256, 2048, 1, 1)


def _broken(sd, zeros=np.zeros):
    b = dict(sd)
    b.pop("module.rpn.head.conv.bias")
    b["module.extra.thing"] = zeros(1)
    b["module.rpn.head.cls_logits.bias"] = zeros(4)
    return b


def test_validate_lists_missing_unexpected_misshaped(sd18):
    with pytest.raises(ModelError) as e:
        W.validate(_broken(sd18), 18, "ckpt.pth")
    msg = str(e.value)
    assert "\n" not in msg
    assert "1 missing: rpn.head.conv.bias" in msg
    assert "1 unexpected: extra.thing" in msg
    assert "rpn.head.cls_logits.bias (4,) != (3,)" in msg


def test_torch_checkpoint_fpn_model_layout_and_old_fpn_names(tmp_path, sd18):
    torch = pytest.importorskip("torch")
    # released checkpoints: {"fpn_model": sd}, 'module.' prefix, torchvision<=0.12 FPN names
    old = {k.replace(".inner_blocks.0.0.", ".inner_blocks.0.").replace(".layer_blocks.2.0.", ".layer_blocks.2."):
           torch.from_numpy(np.array(v)) for k, v in sd18.items()}
    assert "module.backbone.fpn.inner_blocks.0.weight" in old
    torch.save({"fpn_model": old}, tmp_path / "ck.pth")
    sd, depth = W.load_weights(tmp_path / "ck.pth")
    assert depth == 18
    assert np.array_equal(sd["backbone.fpn.inner_blocks.0.0.weight"], sd18["module.backbone.fpn.inner_blocks.0.0.weight"])
    # plain state dict without the prefix
    torch.save({k[len("module."):]: v for k, v in old.items()}, tmp_path / "plain.pt")
    assert len(W.load_weights(tmp_path / "plain.pt")[0]) == 141
    torch.save(_broken({k: torch.from_numpy(np.array(v)) for k, v in sd18.items()}, torch.zeros), tmp_path / "bad.pth")
    with pytest.raises(ModelError, match="1 missing: rpn.head.conv.bias; 1 unexpected: extra.thing"):
        W.load_weights(tmp_path / "bad.pth")
    torch.save({"fpn_model": {"x": np.zeros(2)}}, tmp_path / "pickled.pth")  # needs unsafe unpickling
    with pytest.raises(ModelError, match="cannot read as a torch checkpoint") as e:
        W.load_weights(tmp_path / "pickled.pth")
    assert "\n" not in str(e.value)


def test_pth_without_torch_is_a_clear_error(tmp_path, monkeypatch):
    p = tmp_path / "x.pth"
    p.write_bytes(b"not really")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ModelError, match="needs torch"):
        W.read_state_dict(p)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        W.read_state_dict(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(ModelError, match="cannot read"):
        W.read_state_dict(tmp_path / "bad.npz")
