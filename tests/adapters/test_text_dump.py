"""`pyparity ingest text`: ad-hoc text dumps into a trace, with their printed precision."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.cli.app import main
from pyparity.adapters.text_dump import parse_blocks, printed_decimals, read_text_dump
from pyparity.diff import diff_traces
from pyparity.errors import InputError
from pyparity.trace import Trace, read_trace

MAP = """
[[stage]]
name = "mtcnn/output/boxes"
file = "cpp_mtcnn_final_bbox.txt"
dtype = "float32"
shape = [1, 4]

[[stage]]
name = "clnf/it00/mean_shifts"
file = "cpp_iter0_diagnostics.txt"
label = "mean shifts"
transpose = true

[[stage]]
name = "clnf/it00/shape_change"
file = "cpp_iter0_diagnostics.txt"
label = "shape_change"
shape = []

[[stage]]
name = "clnf/it01/params"
file = "cpp_iter0_diagnostics.txt"
block = 2
columns = [0, 2]
"""


@pytest.fixture
def dump_dir(tmp_path):
    (tmp_path / "cpp_mtcnn_final_bbox.txt").write_text("x y w h\n149.7, 178.2, 190.2, 195.8\n")
    (tmp_path / "cpp_iter0_diagnostics.txt").write_text(
        "=== mean shifts ===\n0.5 -1.25\n2 3.5e-2\n\nshape_change: 0.0123\n# params\n[1, 2, 3]\n[4, 5, 6]\n"
    )
    (tmp_path / "map.toml").write_text(MAP)
    return tmp_path


def test_reads_blocks_by_label_index_and_column(dump_dir):
    t = read_text_dump(dump_dir, dump_dir / "map.toml")
    assert t.names == ["mtcnn/output/boxes", "clnf/it00/mean_shifts", "clnf/it00/shape_change", "clnf/it01/params"]
    assert t["mtcnn/output/boxes"].dtype == np.float32 and t["mtcnn/output/boxes"].shape == (1, 4)
    np.testing.assert_array_equal(t["clnf/it00/mean_shifts"], [[0.5, 2.0], [-1.25, 0.035]])
    assert t["clnf/it00/shape_change"].shape == () and float(t["clnf/it00/shape_change"]) == 0.0123
    np.testing.assert_array_equal(t["clnf/it01/params"], [[1, 3], [4, 6]])
    # transposed with its values: the printed digits follow the elements
    assert t.meta["printed_decimals"]["clnf/it00/mean_shifts"] == [1, 0, 2, 3]


def test_diff_uses_printed_precision(dump_dir):
    t = read_text_dump(dump_dir, dump_dir / "map.toml")
    exact = Trace.from_arrays([("mtcnn/output/boxes", np.array([[149.74, 178.16, 190.2, 195.8]], np.float32))])
    assert diff_traces(t, exact, stages=["mtcnn/output/boxes"]).ok  # within half of the printed 0.1
    off = Trace.from_arrays([("mtcnn/output/boxes", np.array([[149.8, 178.2, 190.2, 195.8]], np.float32))])
    assert not diff_traces(t, off, stages=["mtcnn/output/boxes"]).ok


def test_cli_writes_trace_and_rejects_bad_input(dump_dir, tmp_path, capsys):
    out = tmp_path / "trace"
    assert main(["ingest", "text", str(dump_dir), "--map", str(dump_dir / "map.toml"), "--out", str(out)]) == 0
    assert len(read_trace(out)) == 4
    (dump_dir / "bad.toml").write_text('[[stage]]\nname = "a"\nfile = "cpp_mtcnn_final_bbox.txt"\nshape = [3]\n')
    code = main(["ingest", "text", str(dump_dir), "--map", str(dump_dir / "bad.toml"), "--out", str(tmp_path / "t2")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cannot take shape" in err
    assert not (tmp_path / "t2").exists()


@pytest.mark.parametrize("text,msg", [
    ("1 2\n3\n", "different lengths"),
    ("", "no numeric rows"),
])
def test_malformed_files(tmp_path, text, msg):
    (tmp_path / "f.txt").write_text(text)
    (tmp_path / "m.toml").write_text('[[stage]]\nname = "s"\nfile = "f.txt"\n')
    with pytest.raises(InputError, match=msg):
        read_text_dump(tmp_path, tmp_path / "m.toml")


def test_printed_decimals():
    assert [printed_decimals(t) for t in ("1.25", "3", "-1.5e-3", "2e5", "nan")] == [2, 0, 4, -5, 0]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6, allow_nan=False, width=32), min_size=3, max_size=3), min_size=1, max_size=6),
       st.sampled_from([", ", " ", "\t", "; "]))
def test_roundtrip_any_separator(tmp_path_factory, rows, sep):
    d = tmp_path_factory.mktemp("rt")
    (d / "f.txt").write_text("header line\n" + "\n".join(sep.join(repr(v) for v in r) for r in rows) + "\n")
    assert len(parse_blocks(d / "f.txt")) == 1
    (d / "m.toml").write_text(f'[[stage]]\nname = "s"\nfile = "f.txt"\nshape = [{len(rows)}, 3]\n')
    np.testing.assert_array_equal(read_text_dump(d, d / "m.toml")["s"], np.array(rows, dtype=np.float64))
