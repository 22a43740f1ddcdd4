"""CSV and other delimited text, read by pyarrow.csv with every column as text.

Fast path: the whole body is parsed by pyarrow (multi-threaded); records with the wrong number of fields are
set aside by pyarrow's invalid-row handler and become broken records, and only then is the file parsed
again single-threaded to learn their record numbers. Data row numbers count records after the header,
skipping blank records (empty or whitespace-only lines, and records whose fields are all empty or null
markers). Line numbers are found by rescanning with the csv module, only for rows that have errors.
"""

from __future__ import annotations

import _csv
import csv as pycsv
import io
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from recon.ingest.errors import IngestError
from recon.ingest.limits import IngestLimits, LimitExceeded, check_columns
from recon.ingest.options import ReadOptions
from recon.ingest.raw import BrokenRecord, RawTable
from recon.ingest.text import decode_legacy, invalid_utf8, offset_after_lines, strip_bom

DELIMITERS = (",", ";", "\t", "|")
_SAMPLE_BYTES = 1 << 16
_BLOCK_SIZE = 1 << 22
_HEADER_LINES = 1000
_EXCEL_SEP = re.compile(r"^sep=(.)\s*$")
log = logging.getLogger("recon.ingest")


class _NotUtf8(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Dialect:
    delimiter: str
    quote: str | None
    escape: str | None

    def rows(self, stream: io.StringIO | io.TextIOWrapper) -> _csv.Reader:
        return pycsv.reader(
            stream,
            delimiter=self.delimiter,
            quotechar=self.quote or '"',
            quoting=pycsv.QUOTE_MINIMAL if self.quote else pycsv.QUOTE_NONE,
            escapechar=self.escape,
            doublequote=self.quote is not None,
            strict=False,
        )


def sniff_delimiter(sample: str, quote: str | None, escape: str | None) -> str:
    """The candidate delimiter that splits the sample's records into the most consistent field counts."""
    if len(sample) >= _SAMPLE_BYTES - 4:  # the last record may be cut off
        sample = sample[: sample.rfind("\n") + 1] or sample
    best: tuple[float, int, int] = (0.0, 1, 0)
    chosen = ","
    for rank, candidate in enumerate(DELIMITERS):
        try:
            records = [
                r for r in Dialect(candidate, quote, escape).rows(io.StringIO(sample, newline="")) if r
            ]
        except pycsv.Error:
            continue
        counts = [len(r) for r in records[:200]]
        if not counts or counts[0] < 2:
            continue
        score = (sum(c == counts[0] for c in counts) / len(counts), counts[0], -rank)
        if score > best:
            best, chosen = score, candidate
    return chosen


def _decode_strict(raw: memoryview) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _NotUtf8 from exc


def _header(body: memoryview, dialect: Dialect, header: bool, limits: IngestLimits) -> tuple[list[str], int]:
    """Column names and the number of lines they take (blank lines before the header included)."""
    first_line = offset_after_lines(body, 1)
    if first_line > limits.max_row_bytes:
        raise LimitExceeded(
            "max_row_bytes", limits.max_row_bytes, f"the first line holds {first_line:,} bytes", line=1
        )
    sample = body[: offset_after_lines(body, _HEADER_LINES)]
    reader = dialect.rows(io.StringIO(_decode_strict(sample), newline=""))
    first = next((r for r in reader if r and any(f.strip() for f in r)), None)
    if first is None:
        raise IngestError("the file has no header and no data" if header else "the file has no data")
    check_columns(len(first), limits, "the header" if header else "the first record")
    if not header:
        return [f"column{i}" for i in range(1, len(first) + 1)], 0
    return [name.strip() for name in first], reader.line_num


def check_names(names: Sequence[str]) -> None:
    """IngestError naming empty or duplicate column names."""
    nul = [str(i) for i, name in enumerate(names, start=1) if "\x00" in name]
    if nul:
        raise IngestError(f"the header has a NUL character in the column name at position {', '.join(nul)}")
    empty = [str(i) for i, name in enumerate(names, start=1) if not name]
    if empty:
        raise IngestError(f"the header has an empty column name at position {', '.join(empty)}")
    duplicates = sorted(name for name, count in Counter(names).items() if count > 1)
    if duplicates:
        raise IngestError(f"the header repeats the column name(s) {', '.join(map(repr, duplicates))}")


@dataclass(slots=True)
class _Invalid:
    number: int | None
    text: str
    fields: int


def _read(
    data: memoryview,
    names: list[str],
    dialect: Dialect,
    nulls: Sequence[str],
    *,
    threads: bool,
    limits: IngestLimits,
) -> tuple[pa.Table, list[_Invalid]]:
    invalid: list[_Invalid] = []

    def keep(row: pacsv.InvalidRow) -> str:
        invalid.append(_Invalid(row.number, row.text, row.actual_columns))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(
                column_names=names,
                use_threads=threads,
                # A record must fit in a block: rows up to max_row_bytes parse, longer ones fail below.
                block_size=max(_BLOCK_SIZE, limits.max_row_bytes + 1),
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.delimiter,
                quote_char=dialect.quote or False,
                double_quote=dialect.quote is not None,
                escape_char=dialect.escape or False,
                newlines_in_values=dialect.quote is not None,
                ignore_empty_lines=True,
                invalid_row_handler=keep,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=list(nulls),
                strings_can_be_null=bool(nulls),
                quoted_strings_can_be_null=bool(nulls),
            ),
        )
    except UnicodeDecodeError as exc:
        raise _NotUtf8 from exc
    except pa.ArrowInvalid as exc:
        text = str(exc).lower()
        if "utf8" in text or "utf-8" in text:
            raise _NotUtf8 from exc
        if "straddling" in text or "block boundar" in text:
            raise LimitExceeded(
                "max_row_bytes", limits.max_row_bytes, "a record (or an unclosed quote) is longer than that"
            ) from exc
        log.warning("csv_parse_failed: %s", exc)  # the library's text stays in the logs
        raise IngestError("cannot parse the CSV (a quote or delimiter that does not fit the file)") from exc
    return table, invalid


def _blank_rows(table: pa.Table) -> np.ndarray:
    """Indices of records whose cells are all null or whitespace."""
    if table.num_rows == 0:
        return np.zeros(0, dtype=np.int64)

    def blank(column: pa.ChunkedArray) -> pa.ChunkedArray:
        return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(column), ""), True)

    candidates = pc.indices_nonzero(blank(table.column(0)))
    if len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    subset = table.take(candidates)
    all_blank = blank(subset.column(0))
    for column in subset.columns[1:]:
        all_blank = pc.and_(all_blank, blank(column))
    return np.asarray(candidates.filter(all_blank), dtype=np.int64)


class _Body:
    """The data part of the file (after skipped lines and the header) and how to parse it."""

    def __init__(self, data: memoryview, options: ReadOptions) -> None:
        start = offset_after_lines(data, options.skip_rows)
        first_line = bytes(data[start : offset_after_lines(data, 1, start)]).decode("utf-8", "replace")
        excel_sep = _EXCEL_SEP.match(first_line)
        skipped = options.skip_rows
        delimiter = options.delimiter
        if excel_sep and delimiter is None:
            delimiter, skipped, start = excel_sep.group(1), skipped + 1, offset_after_lines(data, 1, start)
        if delimiter is None:
            sample = bytes(data[start : start + _SAMPLE_BYTES]).decode("utf-8", "replace")
            delimiter = sniff_delimiter(sample, options.quote, options.escape)
        self.dialect = Dialect(delimiter, options.quote, options.escape)
        self.limits = options.limits
        self.names, header_lines = _header(data[start:], self.dialect, options.header, options.limits)
        check_names(self.names)
        self.lines_before = skipped + header_lines
        self.data = data[offset_after_lines(data, header_lines, start) :]
        self.null_values = options.null_values

    def blank(self, fields: Sequence[str]) -> bool:
        """A record without content: every field empty, whitespace or a null marker (not a data row)."""
        return all(not f.strip() or f in self.null_values for f in fields)

    def _blank_text(self, text: str) -> bool:
        try:
            return self.blank(next(self.dialect.rows(io.StringIO(text, newline="")), []))
        except pycsv.Error:
            return False

    def lines_of(self, rows: Sequence[int]) -> dict[int, int]:
        """Line where each data row starts, by rescanning the text with the csv module."""
        wanted = sorted(set(rows))
        found: dict[int, int] = {}
        if not wanted:
            return found
        stream = io.TextIOWrapper(io.BytesIO(bytes(self.data)), encoding="utf-8", newline="")
        reader = self.dialect.rows(stream)
        row, previous = 0, 0
        try:
            for record in reader:
                start, previous = previous + 1, reader.line_num
                if self.blank(record):
                    continue
                row += 1
                if row == wanted[len(found)]:
                    found[row] = self.lines_before + start
                    if len(found) == len(wanted):
                        break
        except pycsv.Error:
            pass  # the csv module gives up where pyarrow did not: those lines stay unknown
        return found

    def parse(self) -> RawTable:
        if not bytes(self.data[:4096]).strip() and not bytes(self.data).strip():
            empty = pa.table({n: pa.array([], pa.string()) for n in self.names})
            return RawTable(empty, lines_of=self.lines_of, detected={"delimiter": self.dialect.delimiter})
        table, invalid = _read(
            self.data, self.names, self.dialect, self.null_values, threads=True, limits=self.limits
        )
        if invalid and any(i.number is None for i in invalid):
            table, invalid = _read(
                self.data, self.names, self.dialect, self.null_values, threads=False, limits=self.limits
            )
        return self._numbered(table, invalid)

    def _numbered(self, table: pa.Table, invalid: list[_Invalid]) -> RawTable:
        blank_table_rows = _blank_rows(table)
        detected = {"delimiter": self.dialect.delimiter}
        if not invalid and len(blank_table_rows) == 0:
            return RawTable(table, lines_of=self.lines_of, detected=detected)
        total = table.num_rows + len(invalid)
        invalid_numbers = np.array([i.number for i in invalid], dtype=np.int64)
        positions = np.delete(np.arange(1, total + 1, dtype=np.int64), invalid_numbers - 1)
        blank_invalid = {i.number for i in invalid if i.number is not None and self._blank_text(i.text)}
        blanks = np.sort(
            np.concatenate([np.array(sorted(blank_invalid), dtype=np.int64), positions[blank_table_rows]])
        )
        keep = np.ones(table.num_rows, dtype=bool)
        keep[blank_table_rows] = False
        table = table.filter(pa.array(keep)) if len(blank_table_rows) else table
        kept = positions[keep]
        rows = kept - np.searchsorted(blanks, kept)
        broken = [
            BrokenRecord(
                row=int(i.number - np.searchsorted(blanks, i.number)),
                reason=f"expected {len(self.names)} fields, found {i.fields}",
                text=i.text,
            )
            for i in invalid
            if i.number is not None and i.number not in blank_invalid
        ]
        return RawTable(table, rows=pa.array(rows), broken=broken, lines_of=self.lines_of, detected=detected)


def _transcoded(data: memoryview, encoding: str) -> tuple[memoryview, str]:
    if encoding in ("latin-1", "cp1252"):
        try:
            return memoryview(bytes(data).decode(encoding).encode("utf-8")), encoding
        except UnicodeDecodeError as exc:
            raise IngestError(
                f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid {encoding}"
            ) from None
    return data, "utf-8"


def parse_csv(data: bytes, options: ReadOptions) -> RawTable:
    raw = strip_bom(memoryview(data), options.encoding)
    body, encoding = _transcoded(raw, options.encoding)
    try:
        result = _Body(body, options).parse()
    except _NotUtf8:
        if options.encoding != "auto":
            raise invalid_utf8(raw, options.encoding) from None
        text, encoding = decode_legacy(raw)
        result = _Body(memoryview(text.encode("utf-8")), options).parse()
    result.detected["encoding"] = encoding
    return result
