"""Each format round-trips the expected rows of a small run through the API (job, storage, download), with
formula-injection neutralisation of text cells in CSV and XLSX and numbers kept as numbers."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile

import pytest
from export_helpers import Headers, SmallRun, expected_sections, export_and_download, wait_export
from export_readers import check_csv, check_jsonl, check_xlsx_sheet, load_xlsx, read_csv
from fastapi.testclient import TestClient

SECTIONS = ("groups", "unmatched", "breaks")


def _expected(small_run: SmallRun) -> dict[str, list[dict[str, object]]]:
    return expected_sections(small_run.spec, {small_run.assignee.id: "assignee@example.com"})


# -- the tests ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("what", SECTIONS)
@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_each_format_round_trips_the_rows(
    client: TestClient, auth_headers: Headers, small_run: SmallRun, what: str, fmt: str
) -> None:
    headers = auth_headers(small_run.viewer)  # viewers (auditors) may export
    export, data, response_headers = export_and_download(client, headers, small_run.run_id, what, fmt)
    expected = _expected(small_run)[what]
    assert export["rows"] == len(expected) == export["counts"][what]
    assert export["size"] == len(data)
    assert export["sha256"] == hashlib.sha256(data).hexdigest()
    assert response_headers["etag"] == f'"{export["sha256"]}"'
    assert response_headers["content-disposition"] == f'attachment; filename="{export["filename"]}"'
    media = {"csv": "text/csv", "json": "application/x-ndjson", "xlsx": "application/vnd.openxmlformats"}
    assert response_headers["content-type"].startswith(media[fmt])
    if fmt == "csv":
        check_csv(data, expected)
    elif fmt == "json":
        check_jsonl(data, expected)
    else:
        book = load_xlsx(data)
        assert book.sheetnames == [what]
        check_xlsx_sheet(book[what], expected)


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_all_sections_in_one_file(
    client: TestClient, auth_headers: Headers, small_run: SmallRun, fmt: str
) -> None:
    headers = auth_headers(small_run.owner)
    export, data, response_headers = export_and_download(client, headers, small_run.run_id, "all", fmt)
    expected = _expected(small_run)
    assert set(export["counts"]) == {"groups", "unmatched", "breaks", "audit"}
    assert export["rows"] == sum(export["counts"].values())
    assert export["counts"]["audit"] >= 1  # at least this export's own export.created
    if fmt == "xlsx":
        book = load_xlsx(data)
        assert book.sheetnames == ["groups", "unmatched", "breaks", "audit"]
        for what in SECTIONS:
            check_xlsx_sheet(book[what], expected[what])
        return
    assert response_headers["content-type"] == "application/zip"
    assert export["filename"].endswith(".zip")
    extension = "csv" if fmt == "csv" else "jsonl"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == [
            f"{name}.{extension}" for name in ("groups", "unmatched", "breaks", "audit")
        ]
        for what in SECTIONS:
            member = archive.read(f"{what}.{extension}")
            (check_csv if fmt == "csv" else check_jsonl)(member, expected[what])


def test_negative_amounts_stay_numbers_and_text_is_neutralised(
    client: TestClient, auth_headers: Headers, small_run: SmallRun
) -> None:
    """The unmatched L4 has amount -12.50 (a number) and reference '-12.50' (text): only the text changes."""
    headers = auth_headers(small_run.owner)
    _, data, _ = export_and_download(client, headers, small_run.run_id, "unmatched", "csv")
    (l4,) = [row for row in read_csv(data) if row["ext_id"] == "L4"]
    assert (l4["amount"], l4["reference"], l4["counterparty"], l4["description"]) == (
        "-12.50",
        "'-12.50",
        "'@risk",
        "'\tTab",
    )
    _, data, _ = export_and_download(client, headers, small_run.run_id, "unmatched", "xlsx")
    sheet = load_xlsx(data)["unmatched"]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    for line in sheet.iter_rows(min_row=2):
        row = dict(zip(header, line, strict=False))
        if row["ext_id"].value == "L4":
            assert row["amount"].data_type == "n" and row["amount"].value == -12.5
            assert row["reference"].data_type == "s" and row["reference"].value == "'-12.50"
            assert row["age_days"].value == 3 and row["assignee"].value == "assignee@example.com"


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_excel_preset_follows_the_locale(
    client: TestClient, auth_headers: Headers, small_run: SmallRun
) -> None:
    """German Excel: BOM, `;` between fields, decimal comma in numbers; text cells untouched."""
    headers = auth_headers(small_run.viewer)
    body = {"what": "unmatched", "format": "csv", "csv": {"preset": "excel", "locale": "de-DE"}}
    created = client.post(f"/api/v1/runs/{small_run.run_id}/exports", json=body, headers=headers)
    assert created.status_code == 202, created.text
    assert created.json()["options"] == {"delimiter": ";", "decimal_separator": ",", "bom": True}
    done = wait_export(client, headers, created.json()["id"])
    data = client.get(f"/api/v1/exports/{done['id']}/download", headers=headers).content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    amounts = {r["ext_id"]: r["amount"] for r in rows}
    assert amounts["L4"] == "-12,50" and amounts["R5"] == "1234567890123,45"
    assert {r["ext_id"]: r["reference"] for r in rows}["L4"] == "'-12.50"  # text, neutralised, no comma

    us = client.get(
        f"/api/v1/runs/{small_run.run_id}/export.csv",
        params={"what": "unmatched", "preset": "excel", "locale": "en-US"},
        headers=headers,
    )
    assert us.status_code == 200 and us.content.startswith(b"\xef\xbb\xbf")
    assert b"1234567890123.45" in us.content
    clash = client.get(
        f"/api/v1/runs/{small_run.run_id}/export.csv",
        params={"what": "unmatched", "delimiter": ",", "decimal_separator": ","},
        headers=headers,
    )
    assert clash.status_code == 422 and clash.json()["errors"][0]["field"] == "query.decimal_separator"
    bad = client.post(
        f"/api/v1/runs/{small_run.run_id}/exports",
        json={"what": "groups", "format": "xlsx", "csv": {"preset": "excel"}},
        headers=headers,
    )
    assert bad.status_code == 422
