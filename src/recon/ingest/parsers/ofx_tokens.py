"""A streaming tokenizer for OFX/QFX that reads both SGML (1.x: leaf elements without closing tags) and
XML (2.x) files, yielding one closed element at a time as (path, value, line).

SGML OFX closes aggregates but not leaves (`<TRNAMT>-12.50` then the next tag). A tag followed by text is a
leaf; its closing tag is optional. A closing tag closes every element opened after its opening tag. No DTD,
entity declaration or external reference is ever read: only the five XML entities and numeric character
references are replaced, so nothing can expand or be fetched.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from recon.ingest.statements.model import StatementLimits, fail

CHUNK = 1 << 16
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp);")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": "\u00a0"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


def unescape(text: str) -> str:
    if "&" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("#x"):
            code = int(name[2:], 16)
        elif name.startswith("#"):
            code = int(name[1:])
        else:
            return _NAMED[name]
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"

    return _ENTITY.sub(replace, text)


def decoded_chunks(stream: BinaryIO, encoding: str) -> Iterator[str]:
    """Text of the stream: UTF-8 until a byte sequence is not valid UTF-8, cp1252 from there on (many files
    say USASCII/1252 in the header but are UTF-8, and the reverse); an explicit encoding is used as given."""
    name = "utf-8" if encoding in ("auto", "utf-8-sig") else encoding
    decoder = codecs.getincrementaldecoder(name)(errors="strict" if encoding == "auto" else "replace")
    first = True
    while True:
        chunk = stream.read(CHUNK)
        if first:
            chunk = chunk.removeprefix(b"\xef\xbb\xbf")
            first = False
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError:
            pending = decoder.getstate()[0]
            decoder = codecs.getincrementaldecoder("cp1252")(errors="replace")
            text = decoder.decode(pending + chunk, final=not chunk)
        if text:
            yield text
        if not chunk:
            return


@dataclass(slots=True)
class _Open:
    name: str
    value: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Element:
    """An element that just closed: its path from the root (names upper-cased), its text (leaves) and the
    line where it was opened. `opened` marks the start of an aggregate (value None, path ending in it)."""

    path: tuple[str, ...]
    value: str | None
    line: int
    opened: bool = False


def _raw_tokens(stream: BinaryIO, limits: StatementLimits, encoding: str) -> Iterator[tuple[str, str, int]]:
    """("text" | "tag", content, line) tokens; processing instructions and comments dropped."""
    buffer = ""
    line = 1
    for chunk in decoded_chunks(stream, encoding):
        buffer += chunk
        at = 0
        while True:
            lt = buffer.find("<", at)
            if lt < 0:
                break
            if buffer.startswith("<!--", lt):
                end = buffer.find("-->", lt)
                if end < 0:
                    break
                line += buffer.count("\n", at, end + 3)
                at = end + 3
                continue
            gt = buffer.find(">", lt)
            if gt < 0:
                break
            if lt > at:
                yield "text", buffer[at:lt], line
                line += buffer.count("\n", at, lt)
            yield "tag", buffer[lt + 1 : gt], line
            line += buffer.count("\n", lt, gt)
            at = gt + 1
        buffer = buffer[at:]
        if len(buffer) > limits.max_line_bytes:
            raise fail(f"a tag or value longer than {limits.max_line_bytes} characters", line=line)
    if buffer.strip():
        if "<" in buffer:
            raise fail("the file ends inside a tag", line=line)
        yield "text", buffer, line


def elements(stream: BinaryIO, limits: StatementLimits, encoding: str = "auto") -> Iterator[Element]:
    """Closed leaves and opened/closed aggregates, in document order, after the OFX header."""
    stack: list[_Open] = []
    seen_root = False
    for kind, content, line in _raw_tokens(stream, limits, encoding):
        if kind == "text":
            if not stack:
                if seen_root and content.strip():
                    raise fail(f"text after the end of the OFX element: {content.strip()[:40]!r}", line=line)
                continue  # the SGML header (OFXHEADER:100 ...) before <OFX>
            top = stack[-1]
            text = content.strip()
            if text and top.value is None:
                top.value = unescape(text)
            elif text:
                raise fail(f"unexpected text {text[:40]!r} after <{top.name}>'s value", line=line)
            continue
        if content.startswith(("?", "!")):
            if content[:8].upper() in ("!DOCTYPE", "!ENTITY", "!ELEMENT", "!ATTLIST") or content.startswith(
                "!["
            ):
                raise fail("refused: an OFX file must not contain a DTD or entity declarations", line=line)
            continue  # <?xml ...?> and <?OFX ...?> processing instructions
        closing = content.startswith("/")
        name = content[1:].strip().upper() if closing else content.strip().rstrip("/").strip().upper()
        name = name.split()[0] if name else name
        if not _NAME.match(name):
            raise fail(f"<{content[:40]}> is not an OFX tag", line=line)
        if stack and stack[-1].value is not None:  # the previous leaf ends here (SGML: no closing tag)
            leaf = stack.pop()
            yield Element((*[o.name for o in stack], leaf.name), leaf.value, leaf.line)
            if closing and name == leaf.name:
                continue
        if closing:
            names = [o.name for o in stack]
            if name not in names:
                raise fail(f"</{name}> closes an element that is not open", line=line)
            while stack:
                item = stack.pop()
                path = (*[o.name for o in stack], item.name)
                yield Element(path, item.value, item.line)
                if item.name == name:
                    break
            continue
        if not stack:
            if name != "OFX":
                raise fail(f"expected <OFX>, got <{name}>", line=line)
            if seen_root:
                raise fail("a second <OFX> element", line=line)
            seen_root = True
        if len(stack) >= limits.max_depth:
            raise fail(f"elements nested deeper than {limits.max_depth}", line=line)
        stack.append(_Open(name, None, line))
        yield Element(tuple(o.name for o in stack), None, line, opened=True)
        if content.rstrip().endswith("/"):  # <EMPTY/> (XML)
            item = stack.pop()
            yield Element((*[o.name for o in stack], item.name), None, item.line)
    if stack:
        innermost = next((o for o in reversed(stack) if o.value is None), stack[0])
        raise fail(f"the file ends before </{innermost.name}>: it is incomplete", line=innermost.line)
    if not seen_root:
        raise fail("no <OFX> element: not an OFX file")
