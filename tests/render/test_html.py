"""The HTML report: well-formed, self-contained (no external URL), and showing what it claims:
overlays of both sides on the input image, convergence curves, heat maps of diverged 2-D stages."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.render.html import convergence_series, render_html, to_2d, write_html
from pyparity.trace import Trace, read_trace

VOID = {"meta", "img", "br", "hr", "input", "link", "image", "rect", "circle", "line", "polyline"}


class _Check(HTMLParser):
    """Nesting check plus every src/href collected."""

    def __init__(self):
        super().__init__()
        self.stack, self.urls, self.errors, self.tags = [], [], [], {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.urls += [v for k, v in attrs if k in ("src", "href") and v is not None]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.urls += [v for k, v in attrs if k in ("src", "href") and v is not None]

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _check(html: str) -> _Check:
    c = _Check()
    c.feed(html)
    c.close()
    assert not c.errors and not c.stack, (c.errors[:3], c.stack[-3:])
    assert not re.search(r"https?:", html), "external URL in the page"
    for u in c.urls:  # only embedded data or in-page anchors (relative links are for the gate index)
        assert u.startswith("data:") or u.startswith("#"), u[:60]
    return c


@pytest.fixture(scope="module")
def sample1(openface_dumps):
    return read_trace(openface_dumps / "images" / "sample1.jpg")


@pytest.fixture(scope="module")
def stalled(sample1):
    """sample1 with a stalled optimiser (shape_change stuck at 0.32 from scale 2), a perturbed response
    map and ten landmarks moved 4 px: the seeds' hand-found failure, injected."""
    arrs = []
    for n in sample1.names:
        a = sample1[n]
        if n == "face00/clnf/h00/fit/s1/responses":
            a = a.copy()
            a[5:9] += np.float32(0.05)
        elif n.startswith("face00/clnf/h00/fit/s2/") and n.endswith("shape_change"):
            a = np.array(0.32, dtype=a.dtype)
        elif n == "face00/output/landmarks_stacked":
            a = a.copy()
            a[:10] += np.float32(4)
        arrs.append((n, a))
    return Trace.from_arrays(arrs, meta=sample1.meta, source="stalled")


def test_page_for_sample1_has_overlays_convergence_and_heat_maps(tmp_path, sample1, stalled, samples_dir):
    rep = diff_traces(stalled, sample1)
    assert rep.first_divergence == "face00/clnf/h00/fit/s1/responses"
    path = write_html(rep, tmp_path / "r" / "sample1.html", reference=sample1, candidate=stalled,
                      image=samples_dir / "sample1.jpg")
    html = path.read_text(encoding="utf-8")
    c = _check(html)
    # the input image, embedded, decodes to the sample's size
    import cv2

    m = re.search(r'<image href="data:image/jpeg;base64,([^"]+)"', html)
    img = cv2.imdecode(np.frombuffer(base64.b64decode(m.group(1)), np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (400, 640, 3)
    # 68 landmarks per side, drawn where the traces put them; one box per side
    lms = re.findall(r'<circle class="lm" cx="([\d.]+)" cy="([\d.]+)"', html)
    assert len(lms) == 2 * 68
    xy = sample1["face00/output/landmarks_stacked"].reshape(-1)
    assert (f"{xy[0]:.2f}", f"{xy[68]:.2f}") in lms and (f"{xy[0] + 4:.2f}", f"{xy[68]:.2f}") in lms
    assert len(re.findall(r'<rect class="box"', html)) == 2
    # convergence: A and B shape_change curves; B flat at 0.32 over scale 2
    assert "face00/clnf/h00: shape_change per iteration" in html and c.tags["polyline"] >= 4
    assert "B shape_change: 0.32" in html
    # heat maps of the diverged response map: A, B and the error
    assert "<h3>face00/clnf/h00/fit/s1/responses" in html
    assert len(re.findall(r'<img src="data:image/png;base64,', html)) >= 3
    assert "FIRST DIVERGENCE" in html and 'id="stage-face00/clnf/h00/fit/s1/responses"' not in html  # single quotes used
    assert "id='stage-face00/clnf/h00/fit/s1/responses'" in html


def test_convergence_series_reads_the_reference_names(sample1):
    conv = convergence_series(sample1)
    main = conv["face00/clnf/h00"]
    assert main[0][0] == "s0/rigid/it01"
    assert len(main) == 24 and {k.split("/")[0] for k, _, _ in main} == {"s0", "s1", "s2"}
    assert main[0][2] == float(sample1["face00/clnf/h00/fit/s0/rigid/it01/shape_change"])


def test_to_2d_tiles_stacks_and_reduces_channels():
    r = np.arange(68 * 11 * 11, dtype=np.float32).reshape(68, 11, 11)
    m = to_2d(r)
    assert m.shape == (8 * 12 - 1, 9 * 12 - 1) and np.isnan(m).sum() > 0
    np.testing.assert_array_equal(m[:11, :11], r[0])
    crops = np.zeros((4, 24, 24, 3), np.float32)
    crops[1, 2, 3, 1] = -7
    assert to_2d(crops)[2, 24 + 1 + 3] == 7
    assert to_2d(np.zeros((136, 1))) is None


def test_page_without_image_or_fit_stages_still_valid(tmp_path):
    a = Trace.from_arrays([("mtcnn/output/boxes", np.array([[10, 20, 30, 40]], np.float32))])
    b = Trace.from_arrays([("mtcnn/output/boxes", np.array([[11, 20, 30, 40]], np.float32))])
    html = render_html(diff_traces(b, a), reference=a, candidate=b)
    _check(html)
    assert "no optimiser iterations" in html and html.count('<rect class="box"') == 2


def test_diff_cli_writes_html(tmp_path, openface_dumps):
    from pyparity.cli.app import main

    d = openface_dumps / "images"
    out = tmp_path / "d.html"
    assert main(["diff", str(d / "001.jpg"), str(d / "002.jpg"), "--stage", "mtcnn/output/*", "-q",
                 "--html", str(out)]) == 1
    _check(out.read_text(encoding="utf-8"))
