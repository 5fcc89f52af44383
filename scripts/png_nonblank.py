#!/usr/bin/env python3
"""Exit 0 when a PNG (8-bit RGB/RGBA, non-interlaced, as `datam gui
--screenshot` writes) is not blank: its pixels are not all one colour and
their luminance has real variance. Standard library only."""
import struct
import sys
import zlib


def pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {ctype})")
            bpp = 4 if ctype == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, prev, rows = zlib.decompress(idat), w * bpp, bytearray(w * bpp), []
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, bpp, rows


w, h, bpp, rows = pixels(sys.argv[1])
lum = [(r[i] * 3 + r[i + 1] * 6 + r[i + 2]) / 10 for r in rows[::4] for i in range(0, len(r), bpp * 4)]
mean = sum(lum) / len(lum)
var = sum((x - mean) ** 2 for x in lum) / len(lum)
distinct = len({bytes(r[i:i + 3]) for r in rows[::8] for i in range(0, len(r), bpp * 8)})
print(f"{sys.argv[1]}: {w}x{h}, luminance variance {var:.1f}, {distinct} distinct colours sampled")
sys.exit(0 if var > 20 and distinct > 8 else 1)
