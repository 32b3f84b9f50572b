"""Draw Rally's app icons (a ball on a court-green tile) as PNG files, with no image library.

Run once when the icon changes; the PNGs are committed under src/rally/web/static/.
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path

GREEN = (22, 101, 52)
BALL = (212, 232, 60)
SEAM = (255, 255, 255)


def _pixel(x: float, y: float) -> tuple[int, int, int, int]:
    # x, y in [0, 1]; a tile with rounded corners, a ball, two seams.
    r = 0.18
    cx, cy = min(max(x, r), 1 - r), min(max(y, r), 1 - r)
    if math.hypot(x - cx, y - cy) > r:
        return (0, 0, 0, 0)
    d = math.hypot(x - 0.5, y - 0.5)
    if d > 0.33:
        return (*GREEN, 255)
    for sx in (-1, 1):
        # seams: arcs of circles centred outside the ball
        if abs(math.hypot(x - (0.5 + sx * 0.42), y - 0.5) - 0.3) < 0.018:
            return (*SEAM, 255)
    return (*BALL, 255)


def png(size: int) -> bytes:
    """Return a size x size RGBA PNG of the icon (2x2 supersampled)."""
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            samples = [
                _pixel((i + a) / size, (j + b) / size) for a in (0.25, 0.75) for b in (0.25, 0.75)
            ]
            row += bytes(sum(s[k] for s in samples) // 4 for k in range(4))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "src/rally/web/static")
    for size in (32, 180, 192, 512):
        (out / f"icon-{size}.png").write_bytes(png(size))


if __name__ == "__main__":
    main()
