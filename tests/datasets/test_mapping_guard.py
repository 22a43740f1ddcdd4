"""Mapping safety: a dataset whose amounts are empty or unparseable (on every row, or more than the
project's threshold) fails with a message naming the mapping to fix; debit/credit columns without
`mapping.amount` give signed amounts; `invert` flips the sign; ingestion reports per mapped column how many
values were empty."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from httpx import Response

from recon.models import Project, User

Upload = Callable[..., Response]
Wait = Callable[..., dict[str, Any]]

SOLL_HABEN = (
    "Belegnr;Datum;Soll;Haben;Text\n"
    "B1;31.03.2025;1.234,56;;Einzahlung Müller\n"
    "B2;31.03.2025;;99,90;Überweisung Größl\n"
    "B3;30.03.2025;0,01;;Zinsen\n"
).encode()
GERMAN = {"delimiter": ";", "decimal": ",", "thousands": ".", "date_format": "%d.%m.%Y"}


def _ingest(
    upload: Upload, wait: Wait, user: User, project: Project, data: bytes, **kwargs: Any
) -> dict[str, Any]:
    created = upload(user, project, data, **kwargs)
    assert created.status_code == 202, created.text
    return wait(user, project.id, created.json()["id"])


def _amounts(client_get: Callable[..., Any], project: Project, dataset_id: str) -> dict[str, str]:
    items = client_get(f"/api/v1/projects/{project.id}/datasets/{dataset_id}/records").json()["items"]
    return {r["ext_id"]: r["amount"] for r in items}


def test_debit_credit_without_mapping_amount_gives_signed_amounts_and_invert_flips_them(
    upload: Upload,
    wait_dataset: Wait,
    client: Any,
    auth_headers: Callable[[User | str], dict[str, str]],
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
) -> None:
    project = make_project()
    user = make_user(role="preparer", project=project)
    mapping = {"ext_id": "Belegnr", "date": "Datum", "description": "Text"}

    def get(url: str) -> Any:
        return client.get(url, headers=auth_headers(user))

    plain = _ingest(
        upload,
        wait_dataset,
        user,
        project,
        SOLL_HABEN,
        mapping=mapping,
        read_options={**GERMAN, "amount": {"debit": "Soll", "credit": "Haben"}},
    )
    assert plain["status"] == "ready", plain
    assert plain["effective_mapping"]["amount"] == "amount"  # the signed column the convention built
    assert plain["column_stats"]["amount"] == {"column": "amount", "empty": 0, "unparseable": 0}
    assert _amounts(get, project, plain["id"]) == {"B1": "-1234.56", "B2": "99.90", "B3": "-0.01"}

    inverted = _ingest(
        upload,
        wait_dataset,
        user,
        project,
        SOLL_HABEN,
        filename="bank-account.csv",
        mapping=mapping,
        read_options={**GERMAN, "amount": {"debit": "Soll", "credit": "Haben", "invert": True}},
    )
    assert _amounts(get, project, inverted["id"]) == {"B1": "1234.56", "B2": "-99.90", "B3": "0.01"}

    signed = b"id,amount\nA,10.00\nB,-2.5\n"
    flipped = _ingest(
        upload,
        wait_dataset,
        user,
        project,
        signed,
        read_options={"amount": {"column": "amount", "invert": True}},
    )
    assert _amounts(get, project, flipped["id"]) == {"A": "-10.00", "B": "2.50"}


def test_empty_or_missing_amounts_fail_naming_the_mapping(
    upload: Upload, wait_dataset: Wait, make_project: Callable[..., Project], make_user: Callable[..., User]
) -> None:
    project = make_project()
    user = make_user(role="preparer", project=project)
    # the case: debit/credit columns typed, but the amount mapped to a column that is empty
    empty = b"id,Betrag,Soll,Haben\n1,,10,\n2,,,5\n3,,1,\n"
    failed = _ingest(upload, wait_dataset, user, project, empty, mapping={"amount": "Betrag"})
    assert failed["status"] == "failed"
    error = failed["error"]
    assert error.startswith("mapping.amount: column 'Betrag' has no usable amount in 3 of 3 rows (3 empty")
    assert "read_options.amount" in error and '"debit"' in error and '"invert": true' in error

    missing = _ingest(upload, wait_dataset, user, project, b"id,Soll,Haben\n1,10,\n2,,5\n")
    assert missing["status"] == "failed"
    assert missing["error"].startswith(
        "mapping.amount: no amount column was found or mapped (columns: id, Soll"
    )


def test_threshold_of_unusable_amounts(
    upload: Upload, wait_dataset: Wait, make_project: Callable[..., Project], make_user: Callable[..., User]
) -> None:
    project = make_project()
    user = make_user(role="preparer", project=project)
    mostly_bad = b"id,amount\n1,x\n2,y\n3,\n4,12.00\n"
    failed = _ingest(upload, wait_dataset, user, project, mostly_bad)
    assert failed["status"] == "failed"
    assert "3 of 4 rows (1 empty, 2 unparseable; at most 50% allowed" in failed["error"]

    some_bad = b"id,amount\n1,x\n2,\n3,1.00\n4,2.00\n5,3.00\n"
    ready = _ingest(upload, wait_dataset, user, project, some_bad, filename="b.csv")
    assert ready["status"] == "ready", ready
    assert ready["column_stats"]["amount"] == {"column": "amount", "empty": 1, "unparseable": 1}
    assert ready["column_stats"]["ext_id"]["empty"] == 0

    lenient = make_project(settings={"max_empty_amount_ratio": 1.0})
    other = make_user(role="preparer", project=lenient)
    allowed = _ingest(upload, wait_dataset, other, lenient, b"id,amount\n1,\n2,\n")
    assert allowed["status"] == "ready" and allowed["column_stats"]["amount"]["empty"] == 2


def test_an_amount_spec_without_columns_explains_the_choices(
    upload: Upload, make_project: Callable[..., Project], make_user: Callable[..., User]
) -> None:
    project = make_project()
    user = make_user(role="preparer", project=project)
    refused = upload(user, project, b"id,amount\n1,1\n", read_options={"amount": {"debit_sign": "positive"}})
    assert refused.status_code == 422, refused.text
    message = refused.json()["errors"][0]["message"]
    assert "'debit' and 'credit'" in message and "'indicator'" in message
