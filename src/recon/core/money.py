"""Money is Decimal, never float. Parsing, quantizing and canonical text."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# Storage scale of money columns (NUMERIC(38, 10)).
MONEY_SCALE = 10
_SEPARATORS = (",", "_", " ", "\u00a0", "'")


def quantize(value: Decimal, places: int = 2, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round to `places` decimals (banker's rounding by default, as accounting systems do)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def parse_money(text: str | int | Decimal) -> Decimal:
    """Parse '1,234.56', '-12', '(12.00)' (accounting negative), '+3.5'. Floats are refused on purpose."""
    if isinstance(text, bool | float):
        raise TypeError("money must not be a float or bool; pass a string or Decimal")
    if isinstance(text, Decimal | int):
        result = Decimal(text)
    else:
        raw = text.strip()
        negative = raw.startswith("(") and raw.endswith(")")
        if negative:
            raw = raw[1:-1].strip()
        for sep in _SEPARATORS:
            raw = raw.replace(sep, "")
        try:
            result = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"not an amount: {text!r}") from None
        if negative:
            result = -result
    if not result.is_finite():
        raise ValueError(f"not a finite amount: {text!r}")
    return result


def money_str(value: Decimal) -> str:
    """Plain text, never scientific, scale kept: Decimal('1E+2') -> '100', Decimal('1.50') -> '1.50'."""
    return format(value, "f")
