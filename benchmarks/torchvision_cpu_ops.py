"""Make torchvision importable for bench_img2pose --upstream where its compiled ops cannot load.

PyPI's torchvision wheels for Linux are CUDA builds: beside a CPU-only torch (the project's optional
torch is one) their ``_C.so`` fails to load (libc10_cuda.so missing) and ``import torchvision`` stops
at its fake-kernel registrations. Upstream img2pose needs only two of those ops, ``nms`` and
``roi_align`` (through MultiScaleRoIAlign; torchvision falls back to a torch.compile'd Python version
of it, ~10x slower, when its ops are "missing"). This module compiles CPU kernels for both (written
here, the same loops as torchvision's CPU kernels: greedy NMS over score order, RoIAlign with
precomputed bilinear weights per bin) with torch.utils.cpp_extension (g++ and ninja; about a minute,
cached), registers them under ``torchvision::``, imports torchvision and tells its modules the ops
are there. bench_img2pose prints when they were used.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path

_SOURCE = r"""
#include <torch/extension.h>
#include <algorithm>
#include <cmath>
#include <vector>

namespace {

at::Tensor nms_cpu(const at::Tensor& dets, const at::Tensor& scores, double thr) {
  if (dets.numel() == 0) return at::empty({0}, dets.options().dtype(at::kLong));
  auto d = dets.contiguous();
  auto x1t = d.select(1, 0).contiguous(), y1t = d.select(1, 1).contiguous();
  auto x2t = d.select(1, 2).contiguous(), y2t = d.select(1, 3).contiguous();
  auto areat = (x2t - x1t) * (y2t - y1t);
  auto order_t = std::get<1>(scores.sort(0, true));
  int64_t n = d.size(0);
  std::vector<uint8_t> sup(n, 0);
  auto keep_t = at::zeros({n}, dets.options().dtype(at::kLong));
  auto keep = keep_t.data_ptr<int64_t>();
  auto order = order_t.data_ptr<int64_t>();
  const float *x1 = x1t.data_ptr<float>(), *y1 = y1t.data_ptr<float>(), *x2 = x2t.data_ptr<float>(),
              *y2 = y2t.data_ptr<float>(), *area = areat.data_ptr<float>();
  int64_t nk = 0;
  for (int64_t a = 0; a < n; a++) {
    int64_t i = order[a];
    if (sup[i]) continue;
    keep[nk++] = i;
    for (int64_t b = a + 1; b < n; b++) {
      int64_t j = order[b];
      if (sup[j]) continue;
      float w = std::max(0.f, std::min(x2[i], x2[j]) - std::max(x1[i], x1[j]));
      float h = std::max(0.f, std::min(y2[i], y2[j]) - std::max(y1[i], y1[j]));
      float inter = w * h;
      if (inter / (area[i] + area[j] - inter) > thr) sup[j] = 1;
    }
  }
  return keep_t.narrow(0, 0, nk);
}

struct Tap { int p1, p2, p3, p4; float w1, w2, w3, w4; };

at::Tensor roi_align_cpu(const at::Tensor& input_, const at::Tensor& rois_, double scale_d, int64_t ph_n,
                         int64_t pw_n, int64_t sampling, bool aligned) {
  auto input = input_.contiguous();
  auto rois = rois_.contiguous();
  int64_t K = rois.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  auto out = at::zeros({K, C, ph_n, pw_n}, input.options());
  const float* in = input.data_ptr<float>();
  const float* r = rois.data_ptr<float>();
  float* o = out.data_ptr<float>();
  float scale = (float)scale_d;
  for (int64_t n = 0; n < K; n++) {
    const float* rr = r + n * 5;
    int b = (int)rr[0];
    float off = aligned ? 0.5f : 0.f;
    float sw = rr[1] * scale - off, sh = rr[2] * scale - off, ew = rr[3] * scale - off, eh = rr[4] * scale - off;
    float rw = ew - sw, rh = eh - sh;
    if (!aligned) { rw = std::max(rw, 1.f); rh = std::max(rh, 1.f); }
    float bh = rh / ph_n, bw = rw / pw_n;
    int gh = sampling > 0 ? sampling : (int)std::ceil(rh / ph_n);
    int gw = sampling > 0 ? sampling : (int)std::ceil(rw / pw_n);
    float count = std::max(gh * gw, 1);
    std::vector<Tap> taps(gh * gw * ph_n * pw_n);
    int k = 0;
    for (int ph = 0; ph < ph_n; ph++)
      for (int pw = 0; pw < pw_n; pw++)
        for (int iy = 0; iy < gh; iy++) {
          float y = sh + ph * bh + (iy + .5f) * bh / gh;
          for (int ix = 0; ix < gw; ix++, k++) {
            float x = sw + pw * bw + (ix + .5f) * bw / gw;
            if (y < -1.f || y > H || x < -1.f || x > W) { taps[k] = Tap{0, 0, 0, 0, 0, 0, 0, 0}; continue; }
            float yy = std::max(y, 0.f), xx = std::max(x, 0.f);
            int yl = (int)yy, xl = (int)xx, yh, xh;
            if (yl >= H - 1) { yh = yl = H - 1; yy = yl; } else yh = yl + 1;
            if (xl >= W - 1) { xh = xl = W - 1; xx = xl; } else xh = xl + 1;
            float ly = yy - yl, lx = xx - xl, hy = 1.f - ly, hx = 1.f - lx;
            taps[k] = Tap{(int)(yl * W + xl), (int)(yl * W + xh), (int)(yh * W + xl), (int)(yh * W + xh),
                          hy * hx, hy * lx, ly * hx, ly * lx};
          }
        }
    for (int64_t c = 0; c < C; c++) {
      const float* src = in + (b * C + c) * H * W;
      float* dst = o + (n * C + c) * ph_n * pw_n;
      int q = 0;
      for (int64_t i = 0; i < ph_n * pw_n; i++) {
        float v = 0.f;
        for (int s = 0; s < gh * gw; s++, q++) {
          const Tap& t = taps[q];
          v += t.w1 * src[t.p1] + t.w2 * src[t.p2] + t.w3 * src[t.p3] + t.w4 * src[t.p4];
        }
        dst[i] = v / count;
      }
    }
  }
  return out;
}

}  // namespace

TORCH_LIBRARY(torchvision, m) {
  m.def("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor");
  m.def("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor");
  m.def("roi_align(Tensor input, Tensor rois, float spatial_scale, SymInt pooled_height, "
        "SymInt pooled_width, int sampling_ratio, bool aligned) -> Tensor");
}

TORCH_LIBRARY_IMPL(torchvision, CPU, m) {
  m.impl("nms", &nms_cpu);
  m.impl("roi_align", &roi_align_cpu);
}
"""


def _own_ops_load() -> bool:
    """True when torchvision's own compiled ops load beside this torch."""
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("torchvision is not installed (pip install --no-deps torchvision==<torch's pairing>)")
    folder = Path(list(spec.submodule_search_locations)[0])
    libs = sorted(folder.glob("_C*.so"))
    if not libs:
        return False
    try:
        torch.ops.load_library(str(libs[0]))
        return True
    except OSError:
        return False


def ensure_torchvision() -> str:
    """Import torchvision with working CPU nms/roi_align; returns how ("own ops" or a note)."""
    if "torchvision" in sys.modules or _own_ops_load():
        importlib.import_module("torchvision")
        return "torchvision's own ops"
    import torch
    from torch.utils import cpp_extension

    tag = hashlib.sha256((_SOURCE + torch.__version__).encode()).hexdigest()[:16]
    build = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pyparity" / f"tv-cpu-ops-{tag}"
    build.mkdir(parents=True, exist_ok=True)
    src = build / "tv_cpu_ops.cpp"
    if not src.exists():
        src.write_text(_SOURCE)
    cpp_extension.load(name="tv_cpu_ops", sources=[str(src)], build_directory=str(build),
                       is_python_module=False, extra_cflags=["-O2"], verbose=False)
    import torchvision
    import torchvision.ops  # noqa: F401

    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("torchvision") and hasattr(mod, "_has_ops"):
            mod._has_ops = lambda: True
    return f"CPU nms/roi_align compiled by benchmarks/torchvision_cpu_ops.py (torchvision {torchvision.__version__}'s own ops do not load here)"
