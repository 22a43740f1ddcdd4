"""Bank statement formats as `recon.ingest` parsers: bytes to a RawTable with the canonical columns already
typed (date32 dates, decimal amounts), the format's raw columns as text, and the statement summaries."""

from __future__ import annotations

import io

from recon.ingest.options import ReadOptions
from recon.ingest.raw import RawTable
from recon.ingest.registry import Parser
from recon.ingest.statements import iter_entries, statement_format
from recon.ingest.statements.model import limits_from
from recon.ingest.statements.table import TableBuilder


def statement_parser(fmt: str) -> Parser:
    def parse(data: bytes, options: ReadOptions) -> RawTable:
        spec = statement_format(fmt)
        collector, entries = iter_entries(io.BytesIO(data), fmt, limits_from(options), options.encoding)
        builder = TableBuilder(spec.raw_columns)
        for entry, number in entries:
            builder.add(entry, number)
        table = builder.table()
        detected = {"format": fmt, "statements": str(len(collector.summaries))}
        return RawTable(table, detected=detected, statements=tuple(collector.summaries))

    parse.__name__ = f"parse_{fmt}"
    return parse
