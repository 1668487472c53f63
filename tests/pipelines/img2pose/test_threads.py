"""img2pose numpy backend's threads (pyparity/pipelines/img2pose/threads.py): every chunk runs once,
errors propagate, nesting cannot deadlock, and the network's bits do not depend on the thread count."""

from __future__ import annotations

import functools
import threading

import numpy as np
import pytest

from pyparity.pipelines.img2pose import threads


@pytest.mark.parametrize("n", [1, 2, 3])
def test_run_calls_every_chunk_exactly_once(n):
    seen, names = [], set()

    def fn(i):
        seen.append(i)
        names.add(threading.current_thread().name)

    with threads.using(n):
        threads.run(fn, 50)
    assert sorted(seen) == list(range(50))
    assert len(names) <= n


def test_outside_using_chunks_run_in_order_on_the_caller():
    seen = []
    threads.run(lambda i: seen.append((i, threading.current_thread().name)), 5)
    assert seen == [(i, threading.current_thread().name) for i in range(5)]


def test_a_failing_chunk_raises_after_the_others_finish():
    done = []

    def fn(i):
        if i == 3:
            raise ValueError("chunk 3")
        done.append(i)

    with threads.using(2), pytest.raises(ValueError, match="chunk 3"):
        threads.run(fn, 8)
    assert sorted(done) == [0, 1, 2, 4, 5, 6, 7]


def test_nested_run_does_not_deadlock():
    out = []

    def outer(i):
        threads.run(lambda j: out.append((i, j)), 3)

    with threads.using(2):
        threads.run(outer, 4)
    assert sorted(out) == [(i, j) for i in range(4) for j in range(3)]


def test_blocks_cover_the_range_in_order():
    assert threads.blocks(130, 64) == [slice(0, 64), slice(64, 128), slice(128, 130)]
    assert threads.blocks(0, 8) == []


@functools.lru_cache(maxsize=None)
def _weights():
    from pyparity.pipelines.img2pose import synthetic_weights

    return synthetic_weights(18)


def test_network_bits_do_not_depend_on_the_thread_count():
    """Every layer kind (7x7 stem, stride-2 direct, 1x1, Winograd, shared RPN conv, linear heads):
    chunk bounds come from the shapes only and each chunk runs on one BLAS thread."""
    from pyparity.pipelines.img2pose import DUMP_SETTINGS, Img2PoseConfig
    from pyparity.pipelines.img2pose.network import NumpyNetwork

    cfg = Img2PoseConfig(**DUMP_SETTINGS)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 96, 128)).astype(np.float32)
    pooled = rng.standard_normal((40, 256, 7, 7)).astype(np.float32)
    results = {}
    for n in (1, 2, 3):
        net = NumpyNetwork(_weights(), cfg, threads=n)
        feats = net.backbone(x)
        logits, deltas = net.rpn_head(feats)
        dof, cls = net.roi_networks(pooled)
        results[n] = feats + logits + deltas + [dof, cls]
    assert len(results[1]) == 5 + 5 + 5 + 2
    assert all(np.isfinite(a).all() and np.abs(a).max() > 0 for a in results[1])
    for n in (2, 3):
        assert all(np.array_equal(a, b) for a, b in zip(results[1], results[n])), n
