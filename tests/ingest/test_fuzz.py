"""Arbitrary input gives a result or an IngestError, never another exception (uploads must not crash)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon.ingest import IngestError, ReadOptions, read_bytes

CSV_BYTES = st.lists(
    st.sampled_from([b"a", b"1", b",", b";", b'"', b"\n", b"\r", b" ", b"\xe9", b"\xff", b"-", b"."])
)
JSON_BYTES = st.lists(
    st.sampled_from([b"[", b"]", b"{", b"}", b'"a"', b":", b",", b"1.5", b"null", b"\n", b"\xff"])
)


def _read(data: bytes, filename: str, options: ReadOptions, types: dict[str, str]) -> None:
    try:
        result = read_bytes(data, filename=filename, options=options, types=types)
    except IngestError as exc:
        assert str(exc)
        return
    assert result.rows_read == result.table.num_rows + result.rejected.num_rows
    rows = result.rejected["_row"].to_pylist()
    assert all(1 <= row <= result.rows_read for row in rows)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(CSV_BYTES.map(b"".join), st.binary(max_size=40)), min_size=1, max_size=3).map(
        b"".join
    ),
    st.sampled_from(
        [{}, {"header": False}, {"delimiter": ";", "decimal": ","}, {"quote": None}, {"escape": "\\"}]
    ),
)
def test_csv_never_crashes(data: bytes, options: dict[str, object]) -> None:
    types = {"a": "decimal", "1": "date", "column1": "integer", "column2": "decimal"}
    _read(data, "f.csv", ReadOptions.from_mapping(options), types)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON_BYTES.map(b"".join), st.sampled_from([{}, {"lines": True}, {"json_path": "a"}]))
def test_json_never_crashes(data: bytes, options: dict[str, object]) -> None:
    _read(data, "f.json", ReadOptions.from_mapping(options), {"a": "decimal"})


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([b"PK\x03\x04", b"PAR1"]), st.binary(max_size=200))
def test_binary_formats_never_crash(magic: bytes, rest: bytes) -> None:
    _read(magic + rest, "f.bin", ReadOptions(), {})
