"""Bank statements through the upload API on SQLite and PostgreSQL: recognised from the content and ingested
with no mapping step; a malformed statement fails naming the line or element with nothing stored; a statement
imported twice into a project is refused with a clear message."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from recon.core.db import SessionFactory, session_scope
from recon.models import BankStatement, DatasetRecord, DatasetRejection, Project, User
from recon.models.types import money_sum

BANKS = Path(__file__).resolve().parents[1] / "data" / "banks"
Upload = Callable[..., Any]
Wait = Callable[..., dict[str, Any]]


def _stored(session_factory: SessionFactory, dataset_id: str) -> tuple[int, int, int]:
    with session_scope(session_factory) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model).where(model.dataset_id == dataset_id))
            for model in (DatasetRecord, DatasetRejection, BankStatement)
        )


@pytest.mark.parametrize(
    ("name", "fmt", "rows", "statements"),
    [
        ("mt940_swift_blocks.sta", "mt940", 6, 2),
        ("camt053_v02.xml", "camt053", 4, 2),
        ("bai2_multi.bai", "bai2", 6, 3),
        ("ofx_sgml_bank.ofx", "ofx", 4, 2),
    ],
)
def test_statement_upload_needs_no_mapping(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Upload,
    wait_dataset: Wait,
    client: Any,
    auth_headers: Callable[[User | str], dict[str, str]],
    session_factory: SessionFactory,
    name: str,
    fmt: str,
    rows: int,
    statements: int,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    # A misleading name: the content decides.
    response = upload(preparer, project, (BANKS / name).read_bytes(), filename="export.csv")
    assert response.status_code == 202, response.text
    assert response.json()["format"] == fmt
    ready = wait_dataset(preparer, project.id, response.json()["id"])
    assert ready["status"] == "ready", ready
    assert ready["rows"] == rows and ready["rejected"] == 0
    assert ready["effective_mapping"] == {
        "ext_id": "id",
        "date": "date",
        "value_date": "value_date",
        "amount": "amount",
        "currency": "currency",
        "reference": "reference",
        "counterparty": "counterparty",
        "description": "description",
    }
    assert ready["extra_columns"][:2] == ["account", "statement_id"]
    assert ready["detected"]["statements"] == str(statements)
    preview = client.get(
        f"/api/v1/projects/{project.id}/datasets/{ready['id']}/preview", headers=auth_headers(preparer)
    ).json()
    first = preview["items"][0]
    assert first["ext_id"].endswith("/1") and first["extra"]["statement_id"] in first["ext_id"]
    listed = client.get(
        f"/api/v1/projects/{project.id}/datasets/{ready['id']}/statements?limit=1",
        headers=auth_headers(preparer),
    ).json()
    assert listed["items"][0]["seq"] == 1 and (listed["next_cursor"] is not None) == (statements > 1)
    expected = json.loads((BANKS / f"{name.rsplit('.', 1)[0]}.expected.json").read_text("utf-8"))["inspect"]
    first = expected["statements"][0]
    item = listed["items"][0]
    assert (item["statement_id"], item["account"], item["entries"]) == (
        first["id"],
        first["account"],
        first["entries"],
    )
    assert item["closing_balance"] == first["closing_balance"] and item["format"] == fmt
    with session_scope(session_factory) as session:
        kept = session.scalars(
            select(BankStatement)
            .where(BankStatement.dataset_id == ready["id"])
            .order_by(BankStatement.period_start)
        ).all()
        assert len(kept) == statements
        total = session.scalar(
            select(money_sum(DatasetRecord.amount)).where(DatasetRecord.dataset_id == ready["id"])
        )
        assert sum((s.amount_sum for s in kept), Decimal(0)) == total


def test_malformed_statement_fails_naming_the_line_and_stores_nothing(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Upload,
    wait_dataset: Wait,
    session_factory: SessionFactory,
) -> None:
    project = make_project()
    preparer = make_user(role="preparer", project=project)
    cases = {
        "bad.sta": (
            (BANKS / "mt940_swift_blocks.sta").read_bytes().replace(b"C3200,50N166", b"C3200,5,0N166"),
            "bad.sta, line 10: :61: amount '3200,5,0' is not a valid amount",
        ),
        "bad.xml": (
            (BANKS / "camt053_v02.xml")
            .read_bytes()
            .replace(b'<Amt Ccy="CHF">10.05', b'<Amt Ccy="CHF">10.50'),
            "bad.xml, line 104: Stmt[2]: statement 'STMT-CHF-0402' (account CH-123-456) does not balance",
        ),
        "bad.bai": (
            (BANKS / "bai2_multi.bai").read_bytes().replace(b"99,2299640,2,20/", b"99,2299640,2,21/"),
            "bad.bai, line 20: file 42: the trailer counts 21 records, there are 20",
        ),
        "bad.ofx": (
            (BANKS / "ofx_sgml_bank.ofx").read_bytes().replace(b"<TRNAMT>3000.00", b"<TRNAMT>3,000.00"),
            "bad.ofx, line 59: <STMTTRN/TRNAMT> '3,000.00' is not a valid amount",
        ),
    }
    for filename, (data, message) in cases.items():
        response = upload(preparer, project, data, filename=filename)
        assert response.status_code == 202, response.text
        failed = wait_dataset(preparer, project.id, response.json()["id"])
        assert failed["status"] == "failed", failed
        assert message in failed["error"], failed["error"]
        assert _stored(session_factory, failed["id"]) == (0, 0, 0)


def test_a_statement_imported_twice_is_refused(
    make_project: Callable[..., Project],
    make_user: Callable[..., User],
    upload: Upload,
    wait_dataset: Wait,
    client: Any,
    auth_headers: Callable[[User | str], dict[str, str]],
    session_factory: SessionFactory,
) -> None:
    project, other = make_project(), make_project()
    preparer = make_user(role="preparer", project=project)
    data = (BANKS / "mt940_swift_blocks.sta").read_bytes()
    first = wait_dataset(
        preparer, project.id, upload(preparer, project, data, filename="dec.sta").json()["id"]
    )
    assert first["status"] == "ready"

    # The second statement alone, re-sent in a file of its own: the same statement, refused.
    second_only = data[data.index(b"{1:F01COBADEFFAXXX0000000000}{2:O9401200240103") :]
    again = upload(preparer, project, second_only, filename="resend.sta")
    refused = wait_dataset(preparer, project.id, again.json()["id"])
    assert refused["status"] == "failed"
    assert refused["error"] == (
        "statement 'STARTUMS/00253/001' of account 37040044/0532013000, 2024-01-02 to 2024-01-03 was already "
        f"imported with dataset 'dec.sta' ({first['id']}); a statement is imported once per project: delete "
        "that dataset to import it again"
    )
    assert _stored(session_factory, refused["id"]) == (0, 0, 0)
    assert _stored(session_factory, first["id"]) == (6, 0, 2)

    # Another project may import it; after deleting the first dataset, this project may again.
    owner = make_user(role="preparer", project=other)
    elsewhere = wait_dataset(owner, other.id, upload(owner, other, data).json()["id"])
    assert elsewhere["status"] == "ready"
    deleted = client.delete(
        f"/api/v1/projects/{project.id}/datasets/{first['id']}", headers=auth_headers(preparer)
    )
    assert deleted.status_code == 204, deleted.text
    assert _stored(session_factory, first["id"]) == (0, 0, 0)
    retry = wait_dataset(
        preparer, project.id, upload(preparer, project, data, filename="dec2.sta").json()["id"]
    )
    assert retry["status"] == "ready" and retry["rows"] == 6
