"""ISO 4217 minor units (decimal places) for formats whose amounts carry no decimal point (BAI2)."""

from __future__ import annotations

from recon.ingest.statements.model import fail

_ZERO = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()  # noqa: SIM905
)
_THREE = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_FOUR = frozenset({"CLF", "UYW"})


def minor_units(currency: str, *, line: int | None = None) -> int:
    """Decimal places of `currency`; 2 unless ISO 4217 says otherwise. A code that is not three letters is
    refused (the scale of its amounts would be a guess)."""
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        raise fail(f"currency {currency!r} is not an ISO 4217 code", line=line)
    code = currency.upper()
    if code in _ZERO:
        return 0
    if code in _THREE:
        return 3
    if code in _FOUR:
        return 4
    return 2
