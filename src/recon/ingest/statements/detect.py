"""Which bank statement format a file is, from its first bytes (never from its name)."""

from __future__ import annotations

import re

HEAD_BYTES = 8192
_OFX = re.compile(r"OFXHEADER\s*[:=]|<OFX[\s>]", re.IGNORECASE)
_CAMT_NAMESPACE = re.compile(r"camt\.05([234])\.")
_CAMT_ROOTS = (
    ("BkToCstmrStmt", "camt053"),
    ("BkToCstmrAcctRpt", "camt052"),
    ("BkToCstmrDbtCdtNtfctn", "camt054"),
)
_BAI2 = re.compile(r"01,[^,\r\n]*,[^,\r\n]*,\d{6}(?:\d{2})?,")
_SWIFT_BLOCK = re.compile(r"\{2:[IO](9[45]0)")
_SWIFT_REFERENCE = re.compile(r"(?:^|[\r\n])\s*:20:")
_SWIFT_BALANCE = re.compile(r"(?:^|[\r\n])\s*:(?:25P?|28C?|60[FM]):")


def detect_format(head: bytes) -> str | None:
    """`mt940`, `mt950`, `camt053`, `camt052`, `camt054`, `bai2`, `ofx`, or None for anything else."""
    text = head[:HEAD_BYTES].removeprefix(b"\xef\xbb\xbf").decode("latin-1")
    start = text.lstrip()
    if _OFX.search(text):
        return "ofx"
    if start.startswith("<"):
        namespace = _CAMT_NAMESPACE.search(text)
        if namespace is not None:
            return f"camt05{namespace.group(1)}"
        for element, name in _CAMT_ROOTS:
            if re.search(rf"<(?:\w+:)?{element}[\s>]", text):
                return name
        return None
    if _BAI2.match(start):
        return "bai2"
    block = _SWIFT_BLOCK.search(text)
    if block is not None:
        return f"mt{block.group(1)}"
    if _SWIFT_REFERENCE.search(text) and _SWIFT_BALANCE.search(text):
        return "mt940"
    return None
