"""Transliteration of Latin text to ASCII, in plain Python (no data stack): the engine's normalisers and the
API's instant reconciliation (recon.instant) share it."""

from __future__ import annotations

import unicodedata

# Letters whose conventional ASCII spelling is not the base letter (German, Nordic, ligatures); every other
# accent is dropped (é -> e). An upper-case letter followed by a lower-case one becomes a capitalised pair
# (Müller -> Mueller, Ärzte -> Aerzte), otherwise an upper-case pair (MÜLLER -> MUELLER).
_SPELLED = {
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "SS", "æ": "ae", "ø": "oe", "œ": "oe", "å": "aa",
    "þ": "th", "ð": "d", "ł": "l", "đ": "d", "ı": "i", "ĳ": "ij",
}  # fmt: skip
_SPELLED_UPPER = {"Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "Æ": "Ae", "Ø": "Oe", "Œ": "Oe", "Å": "Aa", "Þ": "Th",
                  "Ð": "D", "Ł": "L", "Đ": "D", "Ĳ": "Ij"}  # fmt: skip


def transliterate_text(text: str) -> str:
    """ASCII spelling of Latin text: ä -> ae, ß -> ss, é -> e; other scripts are kept."""
    out: list[str] = []
    for k, char in enumerate(text):
        if char.isascii():
            out.append(char)
        elif char in _SPELLED:
            out.append(_SPELLED[char])
        elif char in _SPELLED_UPPER:
            pair = _SPELLED_UPPER[char]
            out.append(pair if text[k + 1 : k + 2].islower() else pair.upper())
        else:
            decomposed = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in decomposed if not unicodedata.combining(c)) or char)
    return "".join(out)
