from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from recon.ingest import IngestError, ReadOptions, read_bytes, read_file

from .helpers import rows_of, schema_of


def read(data: bytes, name: str = "t.csv", **options: object):
    return read_bytes(
        data, filename=name, options=ReadOptions.from_mapping(options), types={"amount": "decimal"}
    )


def test_auto_encoding_prefers_cp1252_then_latin1() -> None:
    cp1252 = read(b"id,name\n1,\x80 caf\xe9\n")
    assert (cp1252.detected["encoding"], cp1252.table["name"].to_pylist()) == ("cp1252", ["€ café"])
    # 0x81 is undefined in cp1252, so the file can only be latin-1
    latin1 = read(b"id,name\n1,\x81caf\xe9\n")
    assert (latin1.detected["encoding"], latin1.table["name"].to_pylist()) == ("latin-1", ["\x81café"])
    header = read(b"id,r\xe9f\n1,2\n")  # a non-UTF-8 header also triggers the fallback
    assert header.table.column_names == ["id", "réf"]


def test_explicit_utf8_refuses_other_bytes_naming_the_line() -> None:
    with pytest.raises(IngestError) as info:
        read(b"id,name\n1,ok\n2,caf\xe9\n", "bank.csv", encoding="utf-8")
    assert str(info.value) == (
        "bank.csv, line 3: byte 0xe9 at offset 18 is not valid UTF-8 (encoding 'utf-8'); "
        "set read.encoding to 'cp1252', 'latin-1' or 'auto'"
    )
    with pytest.raises(IngestError, match="byte 0x81 at offset 10 is not valid cp1252"):
        read(b"id,name\n1,\x81\n", encoding="cp1252")


def test_bom_is_stripped_for_explicit_utf8_too() -> None:
    result = read(b"\xef\xbb\xbfid,amount\n1,2\n", encoding="utf-8")
    assert result.table.column_names == ["id", "amount"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"id,amount,id\n1,2,3\n", "t.csv: the header repeats the column name(s) 'id'"),
        (b"id, amount ,amount\n1,2,3\n", "the header repeats the column name(s) 'amount'"),
        (b"id,,amount,\n1,2,3,4\n", "the header has an empty column name at position 2, 4"),
        (b"", "t.csv: the file has no header and no data"),
        (b"\n  \n\n", "the file has no header and no data"),
    ],
)
def test_header_problems(data: bytes, message: str) -> None:
    with pytest.raises(IngestError) as info:
        read(data)
    assert message in str(info.value)


def test_header_names_are_trimmed_and_header_only_file_is_empty() -> None:
    result = read(b" id , amount \n")
    assert result.table.column_names == ["id", "amount"]
    assert (result.table.num_rows, result.rejected.num_rows, result.rows_read) == (0, 0, 0)


def test_no_header() -> None:
    result = read(b"1,2.5\n2,3\n", header=False)
    assert rows_of(result.table) == [["1", "2.5"], ["2", "3"]]
    assert result.table.column_names == ["column1", "column2"]


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        (b"a\tb\tc\n1\t2,5\t3\n", "\t"),
        (b"a|b\n1|2\n", "|"),
        (b"a;b;c\n1,5;2,5;x\n3,0;4;y\n", ";"),
        (b'a,b\n"x;y;z",2\n', ","),
        (b"single\nvalue\n", ","),
    ],
)
def test_delimiter_sniffing(data: bytes, delimiter: str) -> None:
    assert read(data).detected["delimiter"] == delimiter


def test_skip_rows_and_excel_sep_line() -> None:
    result = read(b"Bank statement\nAccount 123\nid;amount\n1;2\n3;x\n", skip_rows=2)
    assert rows_of(result.table) == [["1", "2"]]
    assert [(e.row, e.line) for e in result.errors] == [(2, 5)]
    sep = read(b"sep=|\nid|amount\n1|2,5\n", decimal=",")
    assert rows_of(sep.table) == [["1", "2.5"]]


def test_custom_quote_escape_and_no_quoting() -> None:
    single = read(b"id,memo\n1,'a, b'\n", quote="'")
    assert single.table["memo"].to_pylist() == ["a, b"]
    escaped = read(b'id,memo\n1,"say \\"hi\\""\n', escape="\\")
    assert escaped.table["memo"].to_pylist() == ['say "hi"']
    raw = read(b'id,memo\n1,"quoted"\n', quote=None)
    assert raw.table["memo"].to_pylist() == ['"quoted"']


def test_null_values() -> None:
    result = read(b"id,memo,amount\n1,N/A,N/A\n2,,3\n3,-,\n", null_values=["N/A", "", "-"])
    assert rows_of(result.table) == [["1", None, None], ["2", None, "3"], ["3", None, None]]
    assert result.errors == []
    kept = read(b"id,memo\n1,\n", null_values=[])
    assert kept.table["memo"].to_pylist() == [""]


def test_carriage_return_line_endings() -> None:
    result = read(b"id,amount\r1,1\r2,x\r3,3\r")
    assert rows_of(result.table) == [["1", "1"], ["3", "3"]]
    assert [(e.row, e.line, e.value) for e in result.errors] == [(2, 3, "x")]


def test_records_without_content_are_blank_whatever_their_field_count() -> None:
    result = read(b'id,amount\n1,1\n,,,\n""\n  ,  ,\nN/A,N/A\n2,x\n', null_values=["", "N/A"])
    assert rows_of(result.table) == [["1", "1"]]
    assert [(e.row, e.line, e.value) for e in result.errors] == [(2, 7, "x")]


def test_one_column_file_with_blank_lines() -> None:
    result = read(b"amount\n1\n   \n\n2\n")
    assert rows_of(result.table) == [["1"], ["2"]]
    assert result.rows_read == 2


def test_tsv_extension(tmp_path: Path) -> None:
    path = tmp_path / "bank.tsv"
    path.write_bytes(b"id\tamount\n1\t1.50\n")
    result = read_file(path, types={"amount": "decimal"})
    assert (result.format, rows_of(result.table)) == ("csv", [["1", "1.50"]])


def test_ragged_rows_in_a_multi_block_file_keep_exact_row_and_line_numbers() -> None:
    # Larger than pyarrow's 4 MiB block, so it is parsed by several threads before the exact re-read.
    lines = [b"id,amount,memo"]
    for i in range(1, 200_001):
        lines.append(b"%d,%d.25,memo %d" % (i, i, i))
    lines[5] = b"5,5.25"  # too few fields: row 5, line 6
    lines[150_000] = b"150000,1,2,3"  # too many: row 150000 (line 150002 after the blank line below)
    lines.insert(100_000, b"")  # a blank line shifts the lines, not the rows
    lines[180_001] = b'180000,"bad amount",x'  # row 180000, line 180002
    data = b"\n".join(lines) + b"\n"
    assert len(data) > 4 << 20

    result = read(data)

    assert result.rows_read == 200_000
    assert result.table.num_rows == 199_997
    assert [(e.row, e.line, e.column) for e in result.errors] == [
        (5, 6, None),
        (150_000, 150_002, None),
        (180_000, 180_002, "amount"),
    ]
    assert result.errors[1].reason == "expected 3 fields, found 4"
    assert result.rejected["_row"].to_pylist() == [5, 150_000, 180_000]
    assert result.table["id"][4].as_py() == "6"
    assert result.table["amount"][-1].as_py() == Decimal("200000.25")
    assert schema_of(result.table) == {"id": "string", "amount": "decimal128(38, 2)", "memo": "string"}
