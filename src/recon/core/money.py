"""Money is Decimal, never float: parsing, quantizing, rendering with the currency's minor units, and the
exact, sortable text form money takes on SQLite (docs/adr/0006-exact-money-on-sqlite.md).

PostgreSQL stores money as NUMERIC(38, 10). SQLite has no decimal type (its NUMERIC affinity is a float), so
there a money column holds `sortable_text(value)`: the NUMERIC(38, 10) value as fixed-width text whose byte
order is the numeric order. Comparisons, ORDER BY, MIN/MAX and equality work in SQL unchanged; sums go
through the `recon_money_sum` aggregate (`MoneySum`, registered on every SQLite connection) and are exact.
"""

from __future__ import annotations

import decimal
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from functools import lru_cache

# Storage scale of money columns (NUMERIC(38, 10)): 28 integer digits, 10 decimal places.
MONEY_SCALE = 10
MONEY_INT_DIGITS = 28
_SEPARATORS = (",", "_", " ", "\u00a0", "'")

# ISO 4217 minor units of the currencies that do not have 2 (every other code, and none, renders with 2).
# Source: the ISO 4217 list (SIX, amendment 176): 0 and 3 digit currencies, and the 4 digit funds codes.
_MINOR_UNITS = {
    **dict.fromkeys(
        ["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV"], 0
    ),
    **dict.fromkeys(["XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
DEFAULT_MINOR_UNITS = 2
# Enough digits for any NUMERIC(38, 10) value and its sums. Python's default context keeps 28 significant
# digits, which rounds a 19-digit amount at scale 10 (as both databases return money): raise it for this
# thread and for every thread started later (request and job threads), once, on import.
MONEY_PRECISION = 60
MONEY_CONTEXT = Context(prec=MONEY_PRECISION)
decimal.DefaultContext.prec = max(decimal.DefaultContext.prec, MONEY_PRECISION)
decimal.getcontext().prec = max(decimal.getcontext().prec, MONEY_PRECISION)


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


# -- rendering ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=512)  # a handful of currencies, looked up for every amount of a results page
def minor_units(currency: str | None) -> int:
    """Decimal places of the currency's minor unit (ISO 4217): EUR 2, JPY 0, BHD 3; unknown or none: 2."""
    if not currency:
        return DEFAULT_MINOR_UNITS
    return _MINOR_UNITS.get(currency.strip().upper(), DEFAULT_MINOR_UNITS)


def render_amount(value: Decimal, currency: str | None = None) -> str:
    """An amount as the API, exports and audit events show it: exact, never scientific, with at least the
    currency's minor-unit digits and more only when the value has them (never rounded):
    2.5 EUR -> '2.50', 0 -> '0.00', 1500 JPY -> '1500', 1.5 BHD -> '1.500', 0.125 EUR -> '0.125'."""
    if not value.is_finite():
        raise ValueError(f"an amount must be finite, not {value}")
    places = minor_units(currency)
    if not value:  # -0 and 0E-10 render as zero
        return "0." + "0" * places if places else "0"
    # Text work instead of normalize/quantize (3x faster; a results page renders thousands of amounts):
    # the exact digits, trailing fraction zeros dropped, padded back to the minor units.
    whole, _, fraction = format(value, "f").partition(".")
    fraction = fraction.rstrip("0")
    if len(fraction) < places:
        fraction += "0" * (places - len(fraction))
    return f"{whole}.{fraction}" if fraction else whole


# -- SQLite storage: exact and sortable text --------------------------------------------------------------
_UNSCALED_LIMIT = 10 ** (MONEY_INT_DIGITS + MONEY_SCALE)  # |unscaled| below this fits NUMERIC(38, 10)
_STEP = Decimal(1).scaleb(-MONEY_SCALE)
SORTABLE_WIDTH = 1 + MONEY_INT_DIGITS + 1 + MONEY_SCALE


def unscaled(value: Decimal) -> int:
    """The value as an integer count of 10**-10, rounded like PostgreSQL rounds NUMERIC(38, 10) input."""
    if not value.is_finite():
        raise ValueError(f"money must be finite, not {value}")
    with localcontext(MONEY_CONTEXT):
        units = int(value.quantize(_STEP, rounding=ROUND_HALF_UP).scaleb(MONEY_SCALE))
    if abs(units) >= _UNSCALED_LIMIT:
        raise ValueError(f"{value} does not fit NUMERIC(38, 10) (at most 28 digits before the point)")
    return units


def sortable_from_unscaled(units: int) -> str:
    """'P' + 28 integer digits + '.' + 10 decimals for values >= 0; 'N' + the same digits of 10**28 + value
    for negative ones, so more negative sorts lower ('N' < 'P'). Fixed width: byte order = numeric order."""
    if units >= 0:
        prefix, digits = "P", f"{units:038d}"
    else:
        prefix, digits = "N", f"{_UNSCALED_LIMIT + units:038d}"
    return f"{prefix}{digits[:MONEY_INT_DIGITS]}.{digits[MONEY_INT_DIGITS:]}"


def sortable_text(value: Decimal) -> str:
    return sortable_from_unscaled(unscaled(value))


def unscaled_from_sortable(text: str) -> int:
    units = int(text[1 : MONEY_INT_DIGITS + 1] + text[MONEY_INT_DIGITS + 2 :])
    return units - _UNSCALED_LIMIT if text[0] == "N" else units


def from_sortable_text(text: str) -> Decimal:
    """The value of `sortable_text` (scale 10, as PostgreSQL's NUMERIC(38, 10) answers it)."""
    if not text or text[0] not in "NP" or len(text) != SORTABLE_WIDTH:
        raise ValueError(f"not a stored money value: {text!r}")
    return Decimal(f"{unscaled_from_sortable(text)}E-{MONEY_SCALE}")  # exact, scale 10, no context


def stored_money(value: object) -> Decimal:
    """A money column's value as the database driver returns it, as Decimal: PostgreSQL's NUMERIC as is,
    SQLite's sortable text (plain decimal text, numbers: values written around the Money type)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return from_sortable_text(value) if value[:1] in ("N", "P") else Decimal(value)
    if isinstance(value, float):  # not expected: every write goes through the text form
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    raise TypeError(f"not a stored money value: {value!r}")


_INT_END = 1 + MONEY_INT_DIGITS  # the point's position in the sortable text


_NINES = str.maketrans("0123456789", "9876543210")


def render_stored_amount(value: object, currency: str | None = None) -> str:
    """`render_amount(stored_money(value), currency)`, without the Decimal for SQLite's sortable text: a
    results page renders thousands of amounts, and text -> Decimal -> text was most of their cost
    (docs/adr/0016). The same output for every value (tests/results/test_money_rendering.py)."""
    if type(value) is str and len(value) == SORTABLE_WIDTH and value[_INT_END] == ".":
        whole, fraction = value[1:_INT_END], value[_INT_END + 1 :]
        if whole.isdigit() and fraction.isdigit() and value.isascii():
            if value[0] == "P":
                sign, whole = "", whole.lstrip("0")
            elif value[0] == "N":
                # The digits are 10**38 - |value| (in units of 10**-10): |value| = nines' complement + 1.
                complement = (whole + fraction).translate(_NINES).lstrip("0")
                magnitude = str(int(complement) + 1 if complement else 1).zfill(MONEY_SCALE + 1)
                sign, whole, fraction = "-", magnitude[:-MONEY_SCALE].lstrip("0"), magnitude[-MONEY_SCALE:]
            else:
                return render_amount(stored_money(value), currency)
            places = minor_units(currency)
            fraction = fraction.rstrip("0")
            if not whole and not fraction:  # zero
                return "0." + "0" * places if places else "0"
            if len(fraction) < places:
                fraction += "0" * (places - len(fraction))
            return f"{sign}{whole or '0'}.{fraction}" if fraction else f"{sign}{whole}"
    return render_amount(stored_money(value), currency)


class MoneySum:
    """SQLite aggregate `recon_money_sum(x)`: the exact sum of stored money values (NULL when there are none,
    like SUM). Registered on every SQLite connection (recon.core.db)."""

    def __init__(self) -> None:
        self.total = 0
        self.seen = False

    def step(self, value: object) -> None:
        if value is None:
            return
        self.seen = True
        if isinstance(value, str):
            self.total += unscaled_from_sortable(value)
        else:  # a value written before the text form (or a literal): exact via its decimal text
            self.total += unscaled(Decimal(str(value)))

    def finalize(self) -> str | None:
        if not self.seen:
            return None
        if abs(self.total) >= _UNSCALED_LIMIT:
            raise OverflowError("money sum exceeds NUMERIC(38, 10)")
        return sortable_from_unscaled(self.total)


def register_sqlite_money(dbapi_connection: object) -> None:
    """Make `recon_money_sum` known to a sqlite3 connection."""
    create_aggregate = getattr(dbapi_connection, "create_aggregate")  # noqa: B009 - sqlite3 only
    create_aggregate("recon_money_sum", 1, MoneySum)
