"""crc32-normal-v1 recipe: checked against the weights_sha256 every pof-upstream dump records."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from pyparity.models import synthetic_weights as sw
from pyparity.pipelines.pof.models import param_specs, structural_buffers

POF = ("semgcn-temporal", "semgcn", "gcn", "transformer")


def _meta(shared_dir, variant):
    p = shared_dir / "reference_dumps" / "pof-upstream" / variant / "walk" / "meta.json"
    return json.loads(p.read_text())["models"][variant]["weights"]


@pytest.mark.parametrize("variant", POF)
def test_pof_weights_hash_matches_dump(shared_dir, variant):
    w = _meta(shared_dir, variant)
    assert w["recipe"] == sw.RECIPE
    sd = sw.synth_state_dict(param_specs(variant), w["overrides"], keep=structural_buffers(variant))
    assert sw.state_dict_sha256(sd) == w["weights_sha256"]
    assert sorted(w["structural_buffers_left_as_created"]) == sorted(structural_buffers(variant))


def test_rules_follow_the_doc():
    z = np.random.default_rng(zlib.crc32(b"a.weight")).standard_normal((4, 3, 2))
    np.testing.assert_array_equal(sw.synth_tensor("a.weight", (4, 3, 2)), ((z * 1.0) / np.sqrt(6)).astype(np.float32))
    z = np.random.default_rng(zlib.crc32(b"n.weight")).standard_normal(5)
    np.testing.assert_array_equal(sw.synth_tensor("n.weight", (5,)), (1 + 0.1 * z).astype(np.float32))
    z = np.random.default_rng(zlib.crc32(b"bn.running_var")).standard_normal(3)
    np.testing.assert_array_equal(sw.synth_tensor("bn.running_var", (3,)), (1 + 0.25 * np.abs(z)).astype(np.float32))
    assert sw.synth_tensor("bn.num_batches_tracked", (), np.int64) == 0
    assert sw.synth_tensor("pos", ()).shape == ()
    g = sw.synth_tensor("x.conv.weight", (2, 2), gain=2.0)
    assert np.allclose(g, 2 * sw.synth_tensor("x.conv.weight", (2, 2)), rtol=1e-6)
    assert sw.gain_for("x.conv.weight", {"x.*": 3.0, "*": 1.5}) == 3.0


def test_hash_skips_integer_entries_and_sorts():
    a = {"b": np.ones(2, np.float32), "a": np.zeros(1, np.float32), "n": np.zeros(1, np.int64)}
    b = {"a": np.zeros(1, np.float32), "b": np.ones(2, np.float32)}
    assert sw.state_dict_sha256(a) == sw.state_dict_sha256(b)
    with pytest.raises(Exception, match="weights_sha256"):
        sw.check_sha256(b, "0" * 64)
