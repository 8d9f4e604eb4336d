"""The text a reportlab PDF shows, for assertions: no PDF library needed.

Reads every content stream (ASCII85 and Flate filters undone) and decodes the string of
each ``Tj`` operator as UTF-16BE, which is how reportlab writes text in a Unicode CID font.
"""

from __future__ import annotations

import base64
import re
import zlib

_STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)\s*endstream", re.S)
_SHOWN_TEXT = re.compile(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", re.S)
_OCTAL = re.compile(rb"[0-7]{1,3}")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(literal: bytes) -> bytes:
    out = bytearray()
    index = 0
    while index < len(literal):
        byte = literal[index : index + 1]
        if byte != b"\\":
            out += byte
            index += 1
            continue
        octal = _OCTAL.match(literal, index + 1, index + 4)
        if octal:
            out.append(int(octal.group(), 8) & 0xFF)
            index += 1 + len(octal.group())
        else:
            following = literal[index + 1 : index + 2]
            out += _ESCAPES.get(following, following)
            index += 2
    return bytes(out)


def pdf_text(data: bytes) -> str:
    """Every shown string of the PDF, one per line, in drawing order."""
    pieces = []
    for match in _STREAM.finditer(data):
        header, body = match.groups()
        if b"ASCII85Decode" in header:
            body = base64.a85decode(body.strip(), adobe=True)
        if b"FlateDecode" in header:
            body = zlib.decompress(body)
        pieces.extend(_unescape(shown.group(1)).decode("utf-16-be") for shown in _SHOWN_TEXT.finditer(body))
    return "\n".join(pieces)
