"""CSV dialects of exports: delimiter, decimal separator and byte-order mark, with an "Excel" preset that
follows the reader's locale (CLDR data via Babel): where the locale writes a decimal comma (de-DE, fr-FR,
...) Excel expects `;` between fields and `,` in numbers; elsewhere `,` and `.`. The BOM makes Excel read the
file as UTF-8 (umlauts intact)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from recon.core.errors import FieldError, Unprocessable
from recon.core.schemas import Input

Preset = Literal["rfc4180", "excel"]
DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class CsvDialect:
    delimiter: str = ","
    decimal_separator: str = "."
    bom: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter, "decimal_separator": self.decimal_separator, "bom": self.bom}


RFC4180 = CsvDialect()


class CsvOptions(Input):
    """How a CSV export is written. `preset: excel` with `locale` (e.g. `de-DE`) picks what Excel in that
    locale opens correctly: `;` and decimal comma with a BOM for de-DE, `,` and `.` with a BOM for en-US.
    Explicit `delimiter`, `decimal_separator` and `bom` override the preset. Default: RFC 4180 (`,`, `.`,
    no BOM)."""

    preset: Preset | None = Field(default=None, description='"excel" (your locale) or "rfc4180"')
    locale: str | None = Field(
        default=None,
        max_length=35,
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
        description="e.g. de-DE",
    )
    delimiter: Literal[",", ";", "\t", "|"] | None = None
    decimal_separator: Literal[".", ","] | None = None
    bom: bool | None = Field(default=None, description="Start with a UTF-8 byte-order mark")

    @model_validator(mode="after")
    def _locale_needs_excel(self) -> CsvOptions:
        if self.locale is not None and self.preset != "excel":
            raise ValueError('locale applies to preset "excel"')
        return self


def locale_decimal(locale: str) -> str:
    """The locale's decimal separator (CLDR), '.' or ','."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_decimal_symbol

    try:
        symbol = get_decimal_symbol(Locale.parse(locale.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        raise Unprocessable(
            f"unknown locale {locale!r}", errors=[FieldError(field="csv.locale", message="e.g. de-DE, en-US")]
        ) from None
    return "," if symbol in (",", "\u066b") else "."


def resolve(options: CsvOptions | None, where: str = "body.csv") -> CsvDialect:
    """The dialect the options describe; 422 when the delimiter and the decimal separator collide."""
    if options is None:
        return RFC4180
    dialect = RFC4180
    if options.preset == "excel":
        decimal = locale_decimal(options.locale or "en-US")
        dialect = CsvDialect(delimiter=";" if decimal == "," else ",", decimal_separator=decimal, bom=True)
    dialect = CsvDialect(
        delimiter=options.delimiter if options.delimiter is not None else dialect.delimiter,
        decimal_separator=(
            options.decimal_separator if options.decimal_separator is not None else dialect.decimal_separator
        ),
        bom=options.bom if options.bom is not None else dialect.bom,
    )
    if dialect.delimiter == dialect.decimal_separator:
        raise Unprocessable(
            f"the delimiter and the decimal separator are both {dialect.delimiter!r}",
            errors=[FieldError(field=f"{where}.decimal_separator", message="must differ from the delimiter")],
        )
    return dialect


def from_stored(stored: dict[str, Any] | None) -> CsvDialect:
    if not stored:
        return RFC4180
    return CsvDialect(stored["delimiter"], stored["decimal_separator"], bool(stored["bom"]))
