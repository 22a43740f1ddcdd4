from __future__ import annotations

import pytest

from recon.ingest import IngestError, registry
from recon.ingest.options import ReadOptions
from recon.ingest.raw import RawTable


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"a,b\n1,2\n", "x.csv", "csv"),
        (b"a\tb\n1\t2\n", "x.tsv", "csv"),
        (b"a,b\n1,2\n", "x.unknown", "csv"),
        (b"a,b\n1,2\n", None, "csv"),
        (b'[{"a": 1}]', "x.dat", "json"),
        (b'\xef\xbb\xbf  {"a": 1}', "x", "json"),
        (b'{"a": 1}\n{"a": 2}\n', "x.jsonl", "json"),
        (b"PK\x03\x04rest", "export.csv", "xlsx"),  # magic bytes win over a wrong extension
        (b"PAR1rest", "x", "parquet"),
        (b"anything", "x.parquet", "parquet"),
        (b"anything", "x.XLSX", "xlsx"),
    ],
)
def test_choose(data: bytes, filename: str | None, expected: str) -> None:
    assert registry.choose(data, filename).name == expected


def test_explicit_format_wins_and_aliases() -> None:
    assert registry.choose(b"PK\x03\x04", "x.xlsx", "csv").name == "csv"
    assert registry.choose(b"", "x", "excel").name == "xlsx"
    assert registry.choose(b"", "x", "NDJSON").name == "json"


def test_unknown_format_suggests() -> None:
    with pytest.raises(IngestError, match=r"unknown format 'parqet'.*did you mean 'parquet'"):
        registry.choose(b"", "x", "parqet")


def test_legacy_xls_and_binary_are_refused() -> None:
    with pytest.raises(IngestError, match=r"\.xls workbooks are not supported"):
        registry.choose(b"\xd0\xcf\x11\xe0", "old.xls")
    with pytest.raises(IngestError, match="binary content of an unknown format"):
        registry.choose(b"\x00\x01\x02", "blob.bin")


def test_register_a_new_format() -> None:
    def parse(data: bytes, options: ReadOptions) -> RawTable:
        raise NotImplementedError

    registry.register("mt940-test", parse, extensions=("sta",), magic=(b":20:",))
    try:
        assert registry.choose(b"x", "statement.sta").name == "mt940-test"
        assert registry.choose(b":20:REF", "statement").name == "mt940-test"
        assert "mt940-test" in registry.names()
    finally:
        registry._PARSERS.pop("mt940-test")
