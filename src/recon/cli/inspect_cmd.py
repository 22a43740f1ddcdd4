"""`recon inspect FILE`: what bank statement a file is — format (from the content), statements, balances,
a preview of the transactions — or why it is not one (exit 2 with the line or element and the reason).

The file is streamed: only the statement summaries and the previewed transactions are kept, so a file of
any size is inspected in bounded memory.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from recon.cli import console
from recon.cli.console import fail

FORMATS_TEXT = "MT940, MT950, CAMT.052/053/054, BAI2 or OFX/QFX"


def _first_line(head: bytes) -> str:
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:60]
    return ""


def _not_a_statement(path: Path, head: bytes) -> list[str]:
    if not head.strip():
        return [f"{path}: the file is empty: not a bank statement ({FORMATS_TEXT})"]
    first = _first_line(head)
    return [
        f"{path}, line 1: not a bank statement of a known format ({FORMATS_TEXT}): the file starts with "
        f"{first!r}, not with a SWIFT :20: field or {{1:...}} block, a BAI2 01 record, an OFX header "
        "or <OFX>, or an ISO 20022 camt document"
    ]


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def summary_json(fmt: str, statements: list[Any], transactions: int) -> dict[str, Any]:
    """The `--json` document: exactly format, statements, transactions and amount_sum."""
    total = sum((s.amount_sum for s in statements), Decimal(0))
    return {
        "format": fmt,
        "statements": [
            {
                "id": s.id,
                "account": s.account,
                "currency": s.currency,
                "opening_balance": _amount(s.opening.amount if s.opening else None),
                "closing_balance": _amount(s.closing.amount if s.closing else None),
                "entries": s.entries,
            }
            for s in statements
        ],
        "transactions": transactions,
        "amount_sum": format(total, "f"),
    }


def _render(path: Path, title: str, result: Any) -> None:
    # Piped output is not cut to 80 columns: ids and references stay on one line for grep and for logs.
    out = console.out if console.out.is_terminal else Console(width=220, highlight=False)
    out.print(f"{path}: {result.format} ({title})", markup=False, soft_wrap=True, highlight=False)
    statements = Table(title=f"{len(result.summaries)} statement(s)", title_justify="left")
    for name, justify in (
        ("id", "left"),
        ("account", "left"),
        ("currency", "left"),
        ("period", "left"),
        ("opening", "right"),
        ("closing", "right"),
        ("entries", "right"),
        ("sum of entries", "right"),
    ):
        statements.add_column(name, justify=justify)  # type: ignore[arg-type]
    for s in result.summaries:
        start, end = s.period
        period = f"{start or '?'} .. {end or '?'}"
        statements.add_row(
            s.id,
            s.account,
            s.currency or "",
            period,
            _amount(s.opening.amount) if s.opening else "-",
            _amount(s.closing.amount) if s.closing else "-",
            f"{s.entries:,}",
            format(s.amount_sum, "f"),
        )
    out.print(statements)
    document = summary_json(result.format, result.summaries, result.transactions)
    checked = sum(1 for s in result.summaries if s.opening is not None and s.closing is not None)
    verdict = (
        f"opening + entries = closing for {checked} of {len(result.summaries)} statement(s)"
        if checked
        else "the file states no opening balance: the balances could not be checked"
    )
    out.print(
        f"{result.transactions:,} transaction(s), amount sum {document['amount_sum']}; {verdict}",
        markup=False,
        soft_wrap=True,
    )
    if not result.preview:
        return
    preview = Table(title=f"first {len(result.preview)} transaction(s)", title_justify="left")
    for name in (
        "id",
        "date",
        "value date",
        "amount",
        "currency",
        "reference",
        "counterparty",
        "description",
    ):
        preview.add_column(name, justify="right" if name == "amount" else "left", overflow="fold")
    for entry, number in result.preview:
        preview.add_row(
            f"{entry.statement.id}/{number}",
            str(entry.booking_date or ""),
            str(entry.value_date or ""),
            format(entry.amount, "f"),
            entry.currency or "",
            entry.reference or "",
            entry.counterparty or "",
            (entry.description or "")[:80],
        )
    out.print(preview)


def inspect(
    file: Annotated[
        Path, typer.Argument(help="A bank statement: MT940/MT950, CAMT.052/053/054, BAI2, OFX/QFX.")
    ],
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help='Print {"format", "statements": [{"id", "account", "currency", "opening_balance", '
            '"closing_balance", "entries"}], "transactions", "amount_sum"} instead.',
        ),
    ] = False,
    preview: Annotated[int, typer.Option("--preview", "-n", min=0, help="Transactions to preview.")] = 10,
) -> None:
    """Detect the statement format from the content, check the statements (balances, continuity, control
    totals) and print them with a preview; exit 2 naming the line or element when the file is not valid."""
    from recon.ingest import IngestError
    from recon.ingest.statements import HEAD_BYTES, detect_format, read_statements, statement_format

    if not file.is_file():
        fail(
            [f"{file}: file not found (FILE)" if not file.exists() else f"{file}: not a regular file (FILE)"]
        )
    try:
        with file.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
            fmt = detect_format(head)
            if fmt is None:
                fail(_not_a_statement(file, head))
            stream.seek(0)
            result = read_statements(stream, fmt, preview=0 if as_json else preview)
    except IngestError as exc:
        fail([str(exc.with_file(str(file)))])
    except OSError as exc:
        fail([f"{file}: cannot read ({exc.strerror or exc})"])
    if as_json:
        document = summary_json(result.format, result.summaries, result.transactions)
        typer.echo(json.dumps(document, indent=2))
        return
    _render(file, statement_format(fmt).title, result)
