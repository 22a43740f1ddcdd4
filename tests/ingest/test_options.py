from __future__ import annotations

import pytest

from recon.ingest import AmountSpec, IngestError, ReadOptions


def test_defaults() -> None:
    options = ReadOptions.from_mapping(None)
    assert options == ReadOptions()
    assert (options.delimiter, options.quote, options.encoding, options.header) == (None, '"', "auto", True)
    assert (options.decimal, options.thousands, options.date_format, options.dayfirst) == (
        ".",
        None,
        ("auto",),
        True,
    )
    assert options.null_values == ("",)


def test_full_mapping_is_normalised() -> None:
    options = ReadOptions.from_mapping(
        {
            "delimiter": "tab",
            "quote": None,
            "encoding": "Latin1",
            "header": False,
            "skip_rows": 3,
            "decimal": ",",
            "thousands": ".",
            "date_format": "%d.%m.%Y",
            "dayfirst": False,
            "null_values": ["", "N/A"],
            "sheet": "Data",
            "json_path": "data.items",
            "lines": True,
            "amount": {"column": "amount", "debit": "Soll", "credit": "Haben", "debit_sign": "positive"},
        },
        where="left.read",
    )
    assert options.delimiter == "\t"
    assert options.quote is None
    assert options.encoding == "latin-1"
    assert options.date_format == ("%d.%m.%Y",)
    assert options.null_values == ("", "N/A")
    assert options.amount == AmountSpec(column="amount", debit="Soll", credit="Haben", debit_sign="positive")
    assert options.amount.mode == "debit_credit"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"delimter": ";"}, "left.read.delimter: unknown read option (did you mean 'delimiter'?)"),
        ({"decimal": ";"}, "left.read.decimal: must be one of '.', ',' (got ';')"),
        ({"thousands": "_"}, "left.read.thousands: must be one of null, ',', '.', ' ', \"'\" (got '_')"),
        ({"decimal": ",", "thousands": ","}, "left.read.thousands: must differ from the decimal separator"),
        (
            {"encoding": "utf-16"},
            "left.read.encoding: must be one of 'auto', 'utf-8', 'utf-8-sig', 'latin-1', 'cp1252'",
        ),
        ({"encoding": "utf_8"}, "(did you mean 'utf-8'?)"),
        ({"header": "yes"}, "left.read.header: must be true or false (got 'yes')"),
        ({"skip_rows": -1}, "left.read.skip_rows: must be a whole number >= 0 (got -1)"),
        ({"skip_rows": True}, "left.read.skip_rows: must be a whole number >= 0 (got True)"),
        (
            {"delimiter": ";;"},
            "left.read.delimiter: must be a single character other than a line break (got ';;')",
        ),
        ({"delimiter": '"'}, "left.read.delimiter: '\"' is also the quote or escape character"),
        ({"date_format": "dd/mm/yyyy"}, "'dd/mm/yyyy' is not a strftime date format like '%d/%m/%Y'"),
        ({"date_format": "%d/%q/%Y"}, "(unknown directive %q)"),
        ({"date_format": []}, "left.read.date_format: must name at least one format"),
        ({"null_values": [1]}, "left.read.null_values: must be a string or a list of strings"),
        ({"sheet": 0}, "left.read.sheet: must be a sheet name or a 1-based sheet position (got 0)"),
        ({"json_path": "$."}, "left.read.json_path: must be a dotted path"),
        ({"lines": "no"}, "left.read.lines: must be true or false"),
        ({"amount": 3}, "left.read.amount: must be a column name or a mapping (got 3)"),
        ({"amount": {"colum": "a"}}, "left.read.amount.colum: unknown key (did you mean 'column'?)"),
        ({"amount": {"debit_sign": "positive"}}, "left.read.amount: needs 'column'"),
        ({"amount": {"debit": "D"}}, "left.read.amount: needs both 'debit' and 'credit'"),
        (
            {"amount": {"column": "a", "debit": "D"}},
            "needs both 'debit' and 'credit' columns (or an 'indicator')",
        ),
        ({"amount": {"column": "a", "debit": "D", "credit": "C", "indicator": "X"}}, "not both"),
        (
            {"amount": {"column": "a", "debit_values": ["D"]}},
            "'debit_values' and 'credit_values' need an 'indicator'",
        ),
        (
            {"amount": {"column": "a", "indicator": "dc", "debit_sign": "negativ"}},
            "(did you mean 'negative'?)",
        ),
        (
            {"amount": {"column": "a", "indicator": "dc", "debit_values": ["X"], "credit_values": ["x"]}},
            "['X']",
        ),
        ("not a mapping", "left.read: must be a mapping of read options (got str)"),
    ],
)
def test_bad_options_name_the_key(mapping: object, message: str) -> None:
    with pytest.raises(IngestError) as info:
        ReadOptions.from_mapping(mapping, where="left.read")  # type: ignore[arg-type]
    assert message in str(info.value)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(IngestError, match=r"ReadOptions.decimal: must be one of"):
        ReadOptions(decimal=";")


def test_amount_shorthand_and_indicator_defaults() -> None:
    assert ReadOptions.from_mapping({"amount": "value"}).amount == AmountSpec(column="value")
    spec = ReadOptions.from_mapping({"amount": {"column": "a", "indicator": "dc"}}).amount
    assert spec is not None
    assert spec.mode == "indicator"
    assert (spec.debit_values, spec.credit_values) == (("D", "DR", "DEBIT"), ("C", "CR", "CREDIT"))


def test_debit_credit_need_no_column_and_invert_is_a_flag() -> None:
    spec = ReadOptions.from_mapping({"amount": {"debit": "Soll", "credit": "Haben", "invert": True}}).amount
    assert spec == AmountSpec(column="amount", debit="Soll", credit="Haben", invert=True)
    with pytest.raises(IngestError, match=r"read.amount.invert: must be true or false"):
        ReadOptions.from_mapping({"amount": {"column": "a", "invert": "yes"}})
