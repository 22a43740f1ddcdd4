"""The statement as an XLSX workbook (print-ready: one "Statement" sheet per currency section and a sheet of
the reconciling items). Rendered from the JSON document, so both always say the same."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from recon.exports.cells import xlsx_money, xlsx_text

TITLE = "Reconciliation statement"


def _amount_cell(sheet: Any, row: int, column: int, text: str | None, *, bold: bool = False) -> None:
    from openpyxl.styles import Font

    if text is None:
        return
    value, number_format = xlsx_money(Decimal(text))
    cell = sheet.cell(row=row, column=column, value=value)
    if number_format is not None:
        # The text's own decimals (the currency's minor units, or more when the amount has them).
        places = len(text.partition(".")[2])
        cell.number_format = "#,##0" + ("." + "0" * places if places else "")
    if bold:
        cell.font = Font(bold=True)


def _line(
    sheet: Any, row: int, label: str, amount: str | None, *, bold: bool = False, indent: int = 0
) -> int:
    from openpyxl.styles import Alignment, Font

    cell = sheet.cell(row=row, column=1, value=xlsx_text(label))
    cell.alignment = Alignment(indent=indent)
    if bold:
        cell.font = Font(bold=True)
    _amount_cell(sheet, row, 3, amount, bold=bold)
    return row + 1


def _type_label(kind: str) -> str:
    return kind.replace("_", " ").capitalize()


def _section_sheet(book: Any, document: dict[str, Any], section: dict[str, Any], title: str) -> None:
    from openpyxl.styles import Font

    sheet = book.create_sheet(title)
    sheet.column_dimensions["A"].width = 58
    sheet.column_dimensions["B"].width = 14
    sheet.column_dimensions["C"].width = 22
    sheet["A1"] = TITLE
    sheet["A1"].font = Font(bold=True, size=14)
    period = document["period"]
    facts = [
        ("Project", document.get("project_name") or document["project_id"]),
        ("Run", document["run_id"]),
        ("Period", f"{period['start'] or '?'} to {period['end'] or '?'}"),
        ("Currency", section["currency"] or "(none)"),
        ("Bank side", f"{document['bank_side']}: {(document['datasets']['bank'] or {}).get('filename', '')}"),
        (
            "Books side",
            f"{document['books_side']}: {(document['datasets']['books'] or {}).get('filename', '')}",
        ),
        ("Prepared", document["prepared_at"]),
        ("Prepared by", (document.get("prepared_by") or {}).get("email", "")),
    ]
    row = 3
    for label, value in facts:
        sheet.cell(row=row, column=1, value=label)
        sheet.cell(row=row, column=2, value=xlsx_text(str(value)))
        row += 1
    row += 1
    row = _line(sheet, row, "Balance per bank", section["balance_per_bank"], bold=True)
    for item in section["reconciling_items"]:
        sign = "Add" if not item["effect_on_bank"].startswith("-") else "Less"
        label = f"{sign}: {_type_label(item['type'])} ({item['on']} side, {item['count']} items)"
        row = _line(sheet, row, label, item["effect_on_bank"], indent=1)
    row = _line(sheet, row, "Adjusted balance per bank", section["adjusted_balance_per_bank"], bold=True)
    row += 1
    row = _line(sheet, row, "Balance per books", section["balance_per_books"], bold=True)
    for adjustment in section["adjustments"]:
        label = f"Adjustment: {adjustment['reason'] or 'other'} ({adjustment['groups']} write-offs)"
        row = _line(sheet, row, label, adjustment["amount"], indent=1)
    row = _line(sheet, row, "Adjusted balance per books", section["adjusted_balance_per_books"], bold=True)
    row += 1
    row = _line(sheet, row, "Unexplained difference", section["unexplained_difference"], bold=True)
    sheet.cell(row=row, column=1, value="Adjusted balances agree")
    sheet.cell(row=row, column=2, value="yes" if section["agrees"] else "NO")


def _items_sheet(book: Any, document: dict[str, Any]) -> None:
    from openpyxl.styles import Font

    sheet = book.create_sheet("Reconciling items")
    columns = [
        "currency",
        "type",
        "side",
        "item_id",
        "ext_id",
        "date",
        "amount",
        "reference",
        "counterparty",
        "description",
        "opened_at",
        "age_days",
        "carried_from_id",
        "comment",
    ]
    for i, name in enumerate(columns, start=1):
        sheet.cell(row=1, column=i, value=name).font = Font(bold=True)
    row = 2
    for section in document["sections"]:
        for group in section["reconciling_items"]:
            for item in group["items"]:
                values: dict[str, Any] = {
                    **item,
                    "currency": section["currency"],
                    "type": group["type"],
                    "side": group["side"],
                }
                for i, name in enumerate(columns, start=1):
                    value = values.get(name)
                    if name == "amount":
                        _amount_cell(sheet, row, i, value)
                    elif name == "date" and value:
                        cell = sheet.cell(row=row, column=i, value=dt.date.fromisoformat(value))
                        cell.number_format = "yyyy-mm-dd"
                    elif isinstance(value, str):
                        sheet.cell(row=row, column=i, value=xlsx_text(value))
                    else:
                        sheet.cell(row=row, column=i, value=value)
                row += 1
    sheet.freeze_panes = "A2"


def statement_xlsx(document: dict[str, Any]) -> bytes:
    """The workbook's bytes (its document properties dated at the statement's preparation)."""
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    sections = document["sections"]
    for section in sections:
        title = "Statement" if len(sections) == 1 else f"Statement {section['currency'] or 'none'}"
        _section_sheet(book, document, section, title[:31])
    _items_sheet(book, document)
    prepared = dt.datetime.fromisoformat(document["prepared_at"]).replace(tzinfo=None)
    book.properties.created = prepared
    book.properties.modified = prepared
    book.properties.title = TITLE
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
