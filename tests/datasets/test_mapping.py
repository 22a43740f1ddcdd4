"""Column mapping: defaults by name and synonyms, explicit mappings, re-mapping through the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from dataset_helpers import datasets_url
from fastapi.testclient import TestClient

from recon.datasets.mapping import MappingError, resolve_mapping, validate_mapping
from recon.models import Project, User

Headers = Callable[[User | str], dict[str, str]]


# -- unit: resolve / validate ------------------------------------------------------------------------------
def test_defaults_by_name_are_case_insensitive_and_know_synonyms() -> None:
    columns = ["Txn ID", "Posting-Date", "VALUE", "Ccy", "Ref", "Payee", "Narrative", "Branch"]

    resolved = resolve_mapping({}, columns)

    assert resolved.fields == {
        "ext_id": "Txn ID",
        "date": "Posting-Date",
        "amount": "VALUE",
        "currency": "Ccy",
        "reference": "Ref",
        "counterparty": "Payee",
        "description": "Narrative",
    }
    assert resolved.extra == ["Branch"]
    assert resolved.types["VALUE"] == "decimal" and resolved.types["Posting-Date"] == "date"


def test_explicit_entries_win_and_their_columns_are_not_reused_by_defaults() -> None:
    columns = ["id", "booking_date", "date", "amount", "memo", "description"]

    resolved = resolve_mapping({"date": "booking_date", "description": "memo"}, columns)

    assert resolved.fields["date"] == "booking_date"
    assert resolved.fields["description"] == "memo"
    assert resolved.extra == ["date", "description"]  # unmapped: kept in extra


def test_a_missing_column_is_named_with_a_suggestion() -> None:
    with pytest.raises(MappingError) as caught:
        resolve_mapping({"amount": "amout"}, ["id", "amount"])

    assert caught.value.field == "mapping.amount"
    assert "no column 'amout'" in str(caught.value) and "did you mean 'amount'" in str(caught.value)


def test_an_id_column_is_required() -> None:
    with pytest.raises(MappingError) as caught:
        resolve_mapping({}, ["when", "how_much"])

    assert caught.value.field == "mapping.ext_id"
    assert "when, how_much" in str(caught.value)


@pytest.mark.parametrize(
    ("mapping", "field", "text"),
    [
        ({"amout": "x"}, "mapping.amout", "did you mean 'amount'"),
        ({"amount": ""}, "mapping.amount", "source column name"),
        ({"amount": 3}, "mapping.amount", "source column name"),
        ({"amount": "x", "reference": "x"}, "mapping.reference", "already mapped to amount"),
        (["amount"], "mapping", "JSON object"),
    ],
)
def test_mapping_shape_errors_name_the_field(mapping: Any, field: str, text: str) -> None:
    with pytest.raises(MappingError) as caught:
        validate_mapping(mapping)

    assert caught.value.field == field
    assert text in str(caught.value)


# -- API ---------------------------------------------------------------------------------------------------
BANK_CSV = (
    b"Buchung;Datum;Betrag;Waehrung;Text;Konto\n"
    b"B1;02.01.2024;1.234,50;EUR;Miete;DE01\n"
    b"B2;03.01.2024;-20,00;EUR;Gebuehr;DE02\n"
)


def test_upload_with_mapping_and_read_options(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    mapping = {"ext_id": "Buchung", "date": "Datum", "amount": "Betrag", "currency": "Waehrung"}
    options = {"delimiter": ";", "decimal": ",", "thousands": ".", "date_format": "%d.%m.%Y"}

    created = upload(preparer, project, BANK_CSV, filename="bank.csv", mapping=mapping, read_options=options)

    assert created.status_code == 202, created.text
    assert created.json()["mapping"] == mapping
    assert created.json()["read_options"] == options
    ready = wait_dataset(preparer, project.id, created.json()["id"])
    assert ready["status"] == "ready", ready
    assert ready["effective_mapping"] == mapping
    assert ready["extra_columns"] == ["Text", "Konto"]
    items = client.get(
        f"{datasets_url(project)}/{ready['id']}/records", headers=auth_headers(preparer)
    ).json()["items"]
    assert [(r["ext_id"], r["date"], r["amount"], r["extra"]) for r in items] == [
        ("B1", "2024-01-02", "1234.50", {"Text": "Miete", "Konto": "DE01"}),
        ("B2", "2024-01-03", "-20.00", {"Text": "Gebuehr", "Konto": "DE02"}),
    ]


def test_remapping_rebuilds_the_records(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
) -> None:
    project = make_project(settings={"max_empty_amount_ratio": 1.0})  # the first mapping maps no amount
    preparer = make_user(role="preparer", project=project)
    options = {"delimiter": ";", "decimal": ",", "thousands": ".", "date_format": "%d.%m.%Y"}
    first = upload(preparer, project, BANK_CSV, mapping={"ext_id": "Buchung"}, read_options=options).json()
    ready = wait_dataset(preparer, project.id, first["id"])
    assert ready["extra_columns"] == ["Datum", "Betrag", "Waehrung", "Text", "Konto"]
    url = f"{datasets_url(project)}/{first['id']}"

    response = client.put(
        f"{url}/mapping",
        json={
            "mapping": {"ext_id": "Buchung", "amount": "Betrag", "description": "Text"},
            "version": ready["version"],
        },
        headers=auth_headers(preparer),
    )

    assert response.status_code == 202, response.text
    assert response.json()["job_id"] != ready["job_id"]
    remapped = wait_dataset(preparer, project.id, first["id"])
    assert remapped["status"] == "ready"
    assert remapped["effective_mapping"] == {"ext_id": "Buchung", "amount": "Betrag", "description": "Text"}
    items = client.get(f"{url}/records", headers=auth_headers(preparer)).json()["items"]
    assert [(r["ext_id"], r["amount"], r["description"]) for r in items] == [
        ("B1", "1234.50", "Miete"),
        ("B2", "-20.00", "Gebuehr"),
    ]
    assert items[0]["extra"] == {"Datum": "02.01.2024", "Waehrung": "EUR", "Konto": "DE01"}
    stale = client.put(
        f"{url}/mapping", json={"mapping": {"ext_id": "Buchung"}, "version": ready["version"]},
        headers=auth_headers(preparer),
    )  # fmt: skip
    assert stale.status_code == 409


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_bad_mapping_or_options_are_422_naming_the_field(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)

    unknown_field = upload(preparer, project, BANK_CSV, mapping={"amout": "Betrag"})
    not_json = upload(preparer, project, BANK_CSV, mapping="{amount: Betrag")
    bad_option = upload(preparer, project, BANK_CSV, read_options={"delimeter": ";"})

    assert unknown_field.status_code == 422
    assert unknown_field.json()["errors"] == [
        {"field": "mapping.amout", "message": unknown_field.json()["errors"][0]["message"]}
    ]
    assert "did you mean 'amount'" in unknown_field.json()["detail"]
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["field"] == "body.mapping"
    assert bad_option.status_code == 422
    assert (
        "delimeter" in bad_option.json()["detail"]
        and "did you mean 'delimiter'" in bad_option.json()["detail"]
    )


def test_mapping_to_a_missing_column_fails_the_dataset_with_the_reason(
    client: TestClient,
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    auth_headers: Headers,
    upload: Callable[..., Any],
    wait_dataset: Callable[..., dict[str, Any]],
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    created = upload(preparer, project, BANK_CSV, mapping={"ext_id": "Buchung", "amount": "Betrg"}).json()

    failed = wait_dataset(preparer, project.id, created["id"])

    assert failed["status"] == "failed"
    assert "mapping.amount" in failed["error"] and "did you mean 'Betrag'" in failed["error"]
    assert failed["rows"] == 0
    job = client.get(f"/api/v1/jobs/{failed['job_id']}", headers=auth_headers(preparer)).json()
    assert job["status"] == "failed" and job["attempts"] == 1  # a bad mapping is not retried


def test_nul_characters_are_refused_or_dropped_not_a_database_error(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Callable[..., Any],
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)

    in_mapping = upload(preparer, project, BANK_CSV, mapping={"ext_id": "Buch\x00ung"})
    in_options = upload(preparer, project, BANK_CSV, read_options={"null_values": ["\x00"]})
    in_names = upload(preparer, project, BANK_CSV, name="Bank\x00 March", filename="bank\x00.csv")

    assert in_mapping.status_code == 422
    assert in_mapping.json()["errors"][0]["field"] == "body.mapping.ext_id"
    assert in_options.status_code == 422
    assert in_options.json()["errors"][0]["field"] == "body.read_options.null_values[0]"
    assert in_names.status_code == 202, in_names.text
    assert in_names.json()["name"] == "Bank March"
    assert "\x00" not in in_names.json()["filename"]
