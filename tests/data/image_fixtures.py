"""Image files that PIL refuses, for the tests of every reader."""

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def decompression_bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A PNG whose header claims width x height RGB pixels and holds none: at 30000 x 30000 PIL
    refuses it with its own error type (DecompressionBombError), not an OSError; above 89
    megapixels it warns first."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")
