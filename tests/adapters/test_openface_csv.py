"""The OpenFace CSV adapter: C++'s own CSV output agrees with C++'s own dumps within printed precision."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.cli.app import main
from pyparity.adapters.openface_csv import read_openface_csv
from pyparity.diff import diff_traces
from pyparity.errors import InputError
from pyparity.trace import Trace, read_trace


def _image_pairs(openface_dumps):
    for csv in sorted((openface_dumps / "csv" / "images").glob("*.csv")):
        dumps = [d for d in (openface_dumps / "images").iterdir() if d.name.rsplit(".", 1)[0] == csv.stem]
        assert len(dumps) == 1, csv
        yield csv, dumps[0]


def test_every_image_csv_matches_its_dump(openface_dumps):
    n = 0
    for csv, dump in _image_pairs(openface_dumps):
        t = read_openface_csv(csv)
        ref = read_trace(dump)
        report = diff_traces(t, ref, stages=["face*/output/**"])
        assert report.ok, f"{csv.name}: {report.summary()}"
        aligned = [s for s in report.stages if s.status == "match"]
        assert any(s.name.endswith("landmarks_stacked") for s in aligned)
        n += 1
    assert n == 26


def test_au_columns_match_the_au_dumps_at_printed_precision(openface_dumps, au_dumps):
    """AUxx_r (2 decimals) and AUxx_c (1 decimal) of every face of the 26 CSVs against C++'s AU dumps:
    the names in the dumps' order, the values within half a printed digit."""
    n = 0
    for csv, dump in _image_pairs(openface_dumps):
        t = read_openface_csv(csv)
        ref = read_trace(au_dumps / "images" / dump.name)
        for key in ("au_reg_names", "au_class_names"):
            assert t.meta["parameters"][key] == ref.meta["parameters"][key]
        report = diff_traces(t, ref, stages=["face*/au/**"])
        assert report.ok, f"{csv.name}: {report.summary()}"
        matched = [s for s in report.stages if s.status == "match"]
        assert {s.name.split("/", 1)[1] for s in matched} == {"au/reg/output", "au/class/output"}
        assert all(s.tolerance.startswith("printed to") for s in matched)
        n += len(matched) // 2
    assert n == 28
    # a presence printed as 1.0 where C++ decided 0 is a divergence, not rounding
    name = "face00/au/class/output"
    flipped = Trace.from_arrays([(k, 1.0 - t[k] if k == name else t[k]) for k in t.names], meta=t.meta)
    assert diff_traces(flipped, ref, stages=["face*/au/**"]).first_divergence == name


def test_sequence_csv_matches_every_frame(openface_dumps):
    csv = openface_dumps / "csv" / "sequences" / "image_sequence.csv"
    frames = sorted((openface_dumps / "sequences" / "image_sequence").iterdir())
    whole = read_openface_csv(csv)
    assert sum(1 for n in whole.names if n.endswith("/output/landmarks_stacked")) == len(frames) == 30
    for i, frame in enumerate(frames):
        t = read_openface_csv(csv, frame=i)
        report = diff_traces(t, read_trace(frame), stages=["face00/output/**"])
        assert report.ok, f"{frame.name}: {report.summary()}"


def test_precision_is_taken_from_the_printed_digits(openface_dumps):
    csv, dump = next(_image_pairs(openface_dumps))
    t = read_openface_csv(csv)
    ref = read_trace(dump)
    name = "face00/output/landmarks_stacked"
    assert set(t.meta["printed_decimals"][name]) == {1}
    # 0.06 px off is beyond what one printed decimal can hide: diverged
    moved = Trace.from_arrays([(n, t[n] + np.float32(0.06) if n == name else t[n]) for n in t.names], meta=t.meta)
    report = diff_traces(moved, ref, stages=["face*/output/**"])
    assert report.first_divergence == name


@pytest.mark.parametrize("edit,message", [
    (lambda text: text.replace(", x_0,", ",", 1), "missing column"),
    (lambda text: text.rstrip("\n").rsplit(",", 3)[0] + "\n", "truncated row"),
    (lambda text: text.replace(", 0.983,", ", abc,", 1), "not a number"),
])
def test_bad_csv(openface_dumps, tmp_path, capsys, edit, message):
    csv = openface_dumps / "csv" / "images" / "001.csv"
    bad = tmp_path / "bad.csv"
    bad.write_text(edit(csv.read_text()))
    assert main(["ingest", "openface-csv", str(bad), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err
    assert message in err and "bad.csv" in err
    assert not (tmp_path / "t").exists()
    with pytest.raises(InputError):
        read_openface_csv(bad)
