#!/usr/bin/python3
"""Draws jkx-layout windows (docs/IMAGE-JKX.md) with Pillow, as the authors' renderer does.

Run with Debian's /usr/bin/python3 (python3-pil). Reads one JSON document on stdin:
  {"windows": [{"open": [...], "high": [...], "low": [...], "close": [...],
                "volume": [...] or null, "history": [...] or null,
                "height": H, "volume_strip": true/false, "ma": k}, ...]}
(NaN, Infinity and -Infinity are accepted as JSON literals) and writes one JSON document:
  {"pillow": "<version>", "results": [{"status": "ok", "image": "<base64 of H x 3L bytes>"}
                                     or {"status": "flat" | "invalid_price" | ...}, ...]}

The arithmetic is Python floats (IEEE float64) in the spec's order; round() is round half to
even. The pixels are Pillow's (draw_image): Image.new('L', (W, H), 0), draw.line for the high-low
lines, the volume bars and each moving-average segment, draw.point for the ticks, in Pillow's
coordinates (y from the top). The MA segments are the check of the spec's Bresenham: Pillow's own line8 draws
them here.
"""
import base64
import json
import math
import sys

from PIL import Image, ImageDraw, __version__ as PIL_VERSION


def usable_price(p):
    return math.isfinite(p) and p > 0


def usable_volume(v):
    return math.isfinite(v) and v >= 0


def draw_window(w):
    o, h, l, c = w["open"], w["high"], w["low"], w["close"]
    big_l = len(c)
    height = w["height"]
    strip = w["volume_strip"]
    k = w["ma"]
    history = w.get("history")
    vol = w.get("volume")
    line = k > 0 and history is not None

    if line and not all(usable_price(p) for p in history):
        return {"status": "invalid_price"}
    for i in range(big_l):
        if not all(usable_price(p) for p in (o[i], h[i], l[i], c[i])):
            return {"status": "invalid_price"}
        if strip and not usable_volume(vol[i]):
            return {"status": "invalid_volume"}

    c0 = c[0]
    so = [p / c0 for p in o]
    sh = [p / c0 for p in h]
    sl = [p / c0 for p in l]
    sc = [p / c0 for p in c]
    ma = None
    if line:
        closes = [p / c0 for p in history] + sc  # closes[j] is bar j - (k - 1)
        ma = []
        for t in range(big_l):
            total = closes[t]
            for j in range(t + 1, t + k):
                total += closes[j]
            ma.append(total / k)

    values = so + sh + sl + sc + (ma or [])
    lo, hi = min(values), max(values)
    if not math.isfinite(hi):
        return {"status": "overflow"}
    if hi == lo:
        return {"status": "flat"}
    hv = height // 5 if strip else 0
    hp = height - hv - 1 if strip else height
    ppu = (hp - 1.0) / (hi - lo)

    def y(p):  # price row, bottom-up, then Pillow's row from the top
        return hp - 1 - round((p - lo) * ppu)

    volume_pixels = None
    if strip:
        vmax = max(vol)
        if vmax != 0:
            ppv = hv / vmax
            volume_pixels = []
            for i in range(big_l):
                raw = vol[i] * ppv
                if math.isnan(raw):  # 0 * inf: vmax subnormal
                    volume_pixels.append(0)
                elif math.isinf(raw):
                    volume_pixels.append(hv)
                else:
                    volume_pixels.append(min(round(raw), hv))
    im = draw_image(height, [y(p) for p in sl], [y(p) for p in sh], [y(p) for p in so],
                    [y(p) for p in sc], [y(m) for m in ma] if ma else None, volume_pixels)
    return {"status": "ok", "image": base64.b64encode(im.tobytes()).decode("ascii")}


def draw_image(height, low, high, open_, close, ma=None, volume=None):
    """The Pillow part alone: one window's image from its rows in Pillow's coordinates (y from
    the top): per bar the rows of its low, high, open and close, the MA rows (None: no line) and
    the volume bar's pixel count n (None: no strip, or every volume 0). Returns the 'L' image.
    bench/jkx_pillow.py draws with it too, from rows it computes with NumPy."""
    big_l = len(low)
    im = Image.new("L", (3 * big_l, height), 0)
    draw = ImageDraw.Draw(im)
    for i in range(big_l):
        x = 3 * i + 1
        draw.line([(x, low[i]), (x, high[i])], fill=255)
        draw.point([(x - 1, open_[i]), (x, open_[i])], fill=255)
        draw.point([(x + 1, close[i])], fill=255)
    if ma is not None:
        for i in range(big_l - 1):
            draw.line([(3 * i + 1, ma[i]), (3 * i + 4, ma[i + 1])], fill=255)
    if volume is not None:
        for i, n in enumerate(volume):
            # From the bottom row u = 0 up to u = n - 1; for n = 0 the segment ends at
            # u = -1, below the image, and Pillow draws its first point only.
            x = 3 * i + 1
            draw.line([(x, height - 1), (x, height - 1 - (n - 1))], fill=255)
    return im


def main():
    request = json.load(sys.stdin)
    results = [draw_window(w) for w in request["windows"]]
    json.dump({"pillow": PIL_VERSION, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
