"""Built-in parsers; importing this package registers them (see recon.ingest.registry)."""

from recon.ingest.parsers.csv import parse_csv
from recon.ingest.parsers.excel import parse_xlsx
from recon.ingest.parsers.json import parse_json
from recon.ingest.parsers.parquet import parse_parquet
from recon.ingest.registry import register

register("xlsx", parse_xlsx, extensions=("xlsx", "xlsm"), magic=(b"PK\x03\x04",))
register("parquet", parse_parquet, extensions=("parquet", "pq"), magic=(b"PAR1",))
register("json", parse_json, extensions=("json", "jsonl", "ndjson"))
register("csv", parse_csv, extensions=("csv", "tsv", "txt", "tab"))

# Bank statement formats: chosen from the content (recon.ingest.statements.detect), never from the name.
from recon.ingest.statements import FORMAT_NAMES  # noqa: E402
from recon.ingest.statements.tables import statement_parser  # noqa: E402

for _name in FORMAT_NAMES:
    register(_name, statement_parser(_name))
