"""Trying a mapping before saving it: POST .../datasets/{id}/mapping/preview reads the first rows of the
stored CSV with the trial mapping and read options and answers the records, the rejected rows and the detected
types; nothing is saved (the dataset, its version and its records stay as they are)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from dataset_helpers import datasets_url
from fastapi.testclient import TestClient

from recon.datasets.parsing import csv_head
from recon.ingest import ReadOptions
from recon.models import Project, User

Headers = Callable[[User | str], dict[str, str]]

GERMAN_CSV = (
    b"Buchung;Datum;Betrag;Waehrung;Text;Konto\n"
    b"B1;02.01.2024;1.234,50;EUR;Miete;DE01\n"
    b"B2;03.01.2024;-20,00;EUR;Gebuehr;DE02\n"
    b"B3;kein Datum;5,00;EUR;Zins;DE03\n"
)
GERMAN_OPTIONS = {"delimiter": ";", "decimal": ",", "thousands": ".", "date_format": "%d.%m.%Y"}


@pytest.fixture
def ingested(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
) -> tuple[User, Project, dict[str, Any]]:
    project = make_project(settings={"max_empty_amount_ratio": 1.0})
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, GERMAN_CSV, filename="bank.csv", mapping={"ext_id": "Buchung"})
    assert created.status_code == 202, created.text
    return preparer, project, wait_dataset(preparer, project.id, created.json()["id"])


def test_a_trial_mapping_shows_typed_records_and_rejections_and_saves_nothing(
    client: TestClient, auth_headers: Headers, ingested: tuple[User, Project, dict[str, Any]]
) -> None:
    preparer, project, dataset = ingested
    url = f"{datasets_url(project)}/{dataset['id']}"
    before = client.get(url, headers=auth_headers(preparer)).json()

    response = client.post(
        f"{url}/mapping/preview",
        json={
            "mapping": {"ext_id": "Buchung", "date": "Datum", "amount": "Betrag", "description": "Text"},
            "read_options": GERMAN_OPTIONS,
        },
        headers=auth_headers(preparer),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source_columns"] == ["Buchung", "Datum", "Betrag", "Waehrung", "Text", "Konto"]
    assert body["effective_mapping"] == {
        "ext_id": "Buchung",
        "date": "Datum",
        "amount": "Betrag",
        "description": "Text",
    }
    assert body["extra_columns"] == ["Waehrung", "Konto"]
    assert [(r["row"], r["ext_id"], r["date"], r["amount"], r["description"]) for r in body["items"]] == [
        (1, "B1", "2024-01-02", "1234.50", "Miete"),
        (2, "B2", "2024-01-03", "-20.00", "Gebuehr"),
    ]
    assert body["items"][0]["extra"] == {"Waehrung": "EUR", "Konto": "DE01"}
    [rejection] = body["rejections"]
    assert (rejection["row"], rejection["column"], rejection["value"]) == (3, "Datum", "kein Datum")
    assert body["rows_read"] == 3 and body["whole_file"] is True
    after = client.get(url, headers=auth_headers(preparer)).json()
    assert after == before  # nothing saved: same version, mapping, options and counts


def test_limit_reads_only_the_first_rows(
    client: TestClient, auth_headers: Headers, ingested: tuple[User, Project, dict[str, Any]]
) -> None:
    preparer, project, dataset = ingested

    response = client.post(
        f"{datasets_url(project)}/{dataset['id']}/mapping/preview",
        json={"mapping": {"ext_id": "Buchung"}, "read_options": GERMAN_OPTIONS, "limit": 1},
        headers=auth_headers(preparer),
    )

    assert response.status_code == 200, response.text
    assert [r["ext_id"] for r in response.json()["items"]] == ["B1"]
    assert response.json()["whole_file"] is False


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_problems_are_422_naming_the_field_and_viewers_cannot_try(
    client: TestClient,
    auth_headers: Headers,
    make_user: Callable[..., User],
    ingested: tuple[User, Project, dict[str, Any]],
) -> None:
    preparer, project, dataset = ingested
    url = f"{datasets_url(project)}/{dataset['id']}/mapping/preview"

    missing = client.post(url, json={"mapping": {"ext_id": "Buchng"}}, headers=auth_headers(preparer))
    bad_option = client.post(
        url, json={"mapping": {}, "read_options": {"delimeter": ";"}}, headers=auth_headers(preparer)
    )
    too_many = client.post(url, json={"mapping": {}, "limit": 5000}, headers=auth_headers(preparer))
    viewer = make_user(role="viewer", project=project)
    forbidden = client.post(url, json={"mapping": {}}, headers=auth_headers(viewer))

    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "mapping.ext_id"
    assert "did you mean 'Buchung'" in missing.json()["detail"]
    assert bad_option.status_code == 422 and "did you mean 'delimiter'" in bad_option.json()["detail"]
    assert too_many.status_code == 422
    assert forbidden.status_code == 403


@pytest.mark.parametrize(
    ("data", "rows", "expected"),
    [
        (b"h\n1\n2\n3\n", 2, b"h\n1\n2\n"),
        (b"h\n1\n2", 5, b"h\n1\n2"),  # the whole file, last line without a newline kept
        (b"h\n1\n2\n", 2, b"h\n1\n2\n"),
    ],
)
def test_csv_head_cuts_after_the_header_and_the_rows_asked(data: bytes, rows: int, expected: bytes) -> None:
    assert csv_head(io.BytesIO(data), ReadOptions(), rows=rows) == expected
