from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from recon.ingest import IngestError, ReadOptions, RowError, read_bytes, read_file

from .helpers import rows_of


def test_result_contract_when_everything_is_accepted() -> None:
    data = b"id,amount,date\n1,1.5,2024-01-05\n"
    result = read_bytes(
        data, filename="x.csv", types={"amount": "decimal", "date": "date", "absent": "string"}
    )
    assert result.format == "csv"
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.rows_read == 1
    assert result.errors == []
    assert result.rejected.num_rows == 0
    assert result.rejected.schema.names == ["id", "amount", "date", "_row", "_reason"]
    assert result.rejected.schema.field("_row").type == pa.int64()
    assert result.rejected.schema.field("amount").type == pa.decimal128(38, 1)


def test_unknown_type_names_the_column() -> None:
    with pytest.raises(IngestError) as info:
        read_bytes(b"a\n1\n", filename="x.csv", types={"a": "decimel"})
    assert str(info.value) == (
        "x.csv, column 'a': unknown type 'decimel', expected one of decimal, date, integer, string "
        "(did you mean 'decimal'?)"
    )


def test_integer_type() -> None:
    result = read_bytes(
        b"n\n1\n+2\n-3\n1.5\n99999999999999999999\n", filename="x.csv", types={"n": "integer"}
    )
    assert result.table["n"].to_pylist() == [1, 2, -3]
    assert [(e.row, e.value) for e in result.errors] == [(4, "1.5"), (5, "99999999999999999999")]


def test_id_column_must_exist_and_be_filled() -> None:
    with pytest.raises(IngestError, match=r"the id column 'ID' is not in the file \(did you mean 'id'\?\)"):
        read_bytes(b"id,amount\n1,2\n", filename="x.csv", id_column="ID")
    result = read_bytes(
        b"id,amount\n1,2\n,3\n  ,4\n5,x\n", filename="x.csv", id_column="id", types={"amount": "decimal"}
    )
    assert rows_of(result.table) == [["1", "2"]]
    assert [str(e) for e in result.errors] == [
        "row 2 (line 3), column 'id': is empty (every record needs an id)",
        "row 3 (line 4), column 'id': is empty (every record needs an id)",
        "row 4 (line 5), column 'amount': 'x' is not a decimal (decimal '.', no thousands separator)",
    ]
    assert result.rejected["id"].to_pylist() == [None, None, "5"]


def test_debit_credit_with_positive_debits_and_a_bad_cell() -> None:
    options = ReadOptions.from_mapping(
        {"amount": {"column": "signed", "debit": "Dr", "credit": "Cr", "debit_sign": "positive"}}
    )
    result = read_bytes(b"id,Dr,Cr\n1,10.5,\n2,,3\n3,oops,\n4,1,0.25\n", filename="x.csv", options=options)
    assert result.table.column_names == ["id", "signed", "Dr", "Cr"]
    assert rows_of(result.table) == [
        ["1", "10.50", "10.5", None],
        ["2", "-3.00", None, "3.00"],
        ["4", "0.75", "1.0", "0.25"],
    ]
    assert rows_of(result.rejected) == [
        ["3", None, None, None, 3, "Dr: 'oops' is not a decimal (decimal '.', no thousands separator)"]
    ]


def test_indicator_with_positive_debits() -> None:
    spec = {"column": "amt", "indicator": "side", "debit_sign": "positive", "debit_values": ["S"]}
    options = ReadOptions.from_mapping({"amount": spec | {"credit_values": ["H"]}})
    result = read_bytes(b"amt,side\n5,S\n7,h\n", filename="x.csv", options=options)
    assert result.table["amt"].to_pylist() == [Decimal(5), Decimal(-7)]


DEBIT_CREDIT = {"debit": "Debit", "credit": "Credit"}


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (
            {"column": "amount", "debit": "Debt", "credit": "Credit"},
            "read.amount.debit: no column 'Debt' in the file (did you mean 'Debit'?)",
        ),
        (
            {"column": "Debit"} | DEBIT_CREDIT,
            "read.amount.column: 'Debit' is already a column of the file; "
            "name the signed amount column differently",
        ),
        ({"column": "amt", "indicator": "DC"}, "read.amount.indicator: no column 'DC' in the file"),
        ({"column": "amt"}, "read.amount.column: no column 'amt' in the file"),
    ],
)
def test_amount_spec_columns_are_checked(amount: dict[str, str], message: str) -> None:
    options = ReadOptions.from_mapping({"amount": amount})
    with pytest.raises(IngestError) as info:
        read_bytes(b"Debit,Credit\n1,2\n", filename="bank.csv", options=options)
    assert str(info.value) == f"bank.csv: {message}"


def test_read_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"missing\.csv: cannot read the file: No such file or directory"):
        read_file(tmp_path / "missing.csv")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"a,a\n1,2\n")
    with pytest.raises(IngestError) as info:
        read_file(bad)
    assert info.value.file == str(bad)
    assert str(info.value) == f"{bad}: the header repeats the column name(s) 'a'"


def test_row_error_text() -> None:
    assert str(RowError(3, "amount", "x", "'x' is not a decimal", line=5)) == (
        "row 3 (line 5), column 'amount': 'x' is not a decimal"
    )
    assert str(RowError(4, None, "1,2", "expected 3 fields, found 2")) == "row 4: expected 3 fields, found 2"
