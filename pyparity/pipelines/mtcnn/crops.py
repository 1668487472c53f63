"""The RNet/ONet inputs: every rectified box cut out of the image, resized and normalised.

OpenFace (FaceDetectorMTCNN::DetectFaces) copies the (w+1)x(h+1) region starting at (x-1, y-1) of
each box into a zero image (the parts outside the picture stay zero), resizes it to 24x24 or 48x48
(cv::resize, INTER_LINEAR, see ``resize.py``) and normalises ``(v - 127.5) * 0.0078125``, all in
float32. One compiled loop does every box of a stage; it reads the image through the crop's
geometry instead of building the zero-padded copy, with the same products and sums.
"""

from __future__ import annotations

import numba
import numpy as np

from pyparity.pipelines.mtcnn.resize import axis_coefficients


@numba.njit(cache=True, nogil=True, fastmath=False)
def _crop_patches(img_float, boxes, size):
    height, width = img_float.shape[0], img_float.shape[1]
    n = boxes.shape[0]
    out = np.empty((n, size, size, 3), np.float32)
    horiz = np.empty((2, size, 3), np.float32)
    one = np.float32(1.0)
    for k in range(n):
        x, y, w, h = boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3]
        wt, ht = w + one, h + one
        # int conversions of float expressions truncate, as in the C++
        sx_in = max(int(x - one), 0)
        sy_in = max(int(y - one), 0)
        ex_in = min(int(x + wt - one), width)
        ey_in = min(int(y + ht - one), height)
        sx_out = max(int(-x + one), 0)
        sy_out = max(int(-y + one), 0)
        ex_out = int(min(wt - (x + w - np.float32(width)), wt))
        ey_out = int(min(ht - (y + h - np.float32(height)), ht))
        tw, th = max(int(wt), 1), max(int(ht), 1)
        # the (th, tw) zero image holds img[sy_in:sy_in+ch, sx_in:sx_in+cw] at (sy_out, sx_out);
        # the copy never runs past either image (ex_in <= width, ex_out <= tw): min() keeps it so
        cw = max(min(ex_in - sx_in, ex_out - sx_out, tw - sx_out, width - sx_in), 0)
        ch = max(min(ey_in - sy_in, ey_out - sy_out, th - sy_out, height - sy_in), 0)
        x0, x1, wx = axis_coefficients(tw, size)
        y0, y1, wy = axis_coefficients(th, size)
        for dy in range(size):
            # the vertical pass's two rows (equal when clamped), each resized horizontally
            for t in range(2):
                r = y0[dy] if t == 0 else y1[dy]
                inside_row = sy_out <= r < sy_out + ch
                for dx in range(size):
                    a0, a1 = wx[dx, 0], wx[dx, 1]
                    s0, s1 = x0[dx], x1[dx]
                    in0 = inside_row and sx_out <= s0 < sx_out + cw
                    in1 = inside_row and sx_out <= s1 < sx_out + cw
                    for c in range(3):
                        v0 = img_float[r - sy_out + sy_in, s0 - sx_out + sx_in, c] if in0 else np.float32(0.0)
                        v1 = img_float[r - sy_out + sy_in, s1 - sx_out + sx_in, c] if in1 else np.float32(0.0)
                        horiz[t, dx, c] = v0 * a0 + v1 * a1
            b0, b1 = wy[dy, 0], wy[dy, 1]
            for dx in range(size):
                for c in range(3):
                    v = horiz[0, dx, c] * b0 + horiz[1, dx, c] * b1
                    out[k, dy, dx, c] = (v - np.float32(127.5)) * np.float32(0.0078125)
    return out


def crop_patches(img_float: np.ndarray, boxes_xywh: np.ndarray, size: int) -> np.ndarray:
    """The network inputs for rectified boxes: (N, size, size, 3) float32 BGR.

    img_float: (H, W, 3) float32 BGR; boxes_xywh: (N, 4) float32 with integer values."""
    img = np.ascontiguousarray(img_float, np.float32)
    b = np.ascontiguousarray(np.asarray(boxes_xywh, np.float32).reshape(-1, 4))
    return _crop_patches(img, b, int(size))
