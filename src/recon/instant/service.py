"""Instant reconciliation: one request matches up to 10,000 transactions against a dataset's open items and
closes the matched ones in the request's transaction. No HTTP, no commits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

import structlog
from pydantic_core import to_json
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from recon.audit.service import record_event
from recon.auth.access import ProjectAccess
from recon.config import Settings
from recon.core.errors import (
    Conflict,
    FieldError,
    IdempotencyKeyReused,
    ProblemError,
    Unprocessable,
    problem_type,
)
from recon.core.money import MONEY_CONTEXT, minor_units
from recon.core.repository import updated_rows
from recon.core.time import utcnow
from recon.engine import RulesError, parse_rules
from recon.instant.book import create_book, drop_book_rows, fill_book, find_book, stale
from recon.instant.match import Outcome, Pairing, reconcile, row_source
from recon.instant.plan import InstantPlan, build_plan
from recon.instant.schemas import ReconcileRequest
from recon.jobs import enqueue
from recon.jobs.names import INSTANT_INDEX_BOOK
from recon.models import (
    Dataset,
    DatasetStatus,
    InstantRequest,
    OpenItemBook,
    RuleSetVersion,
    Run,
)
from recon.models.base import new_id
from recon.models.instant import BookStatus
from recon.models.types import UTCDateTime
from recon.rulesets.service import pinned_version

log = structlog.get_logger("recon.instant")


@dataclass(frozen=True)
class Answer:
    content: str  # the JSON text of a ReconcileResponse (202: of an IndexingAccepted)
    replayed: bool = False
    status: int = 200


def _encode(data: dict[str, Any]) -> str:
    """Compact JSON text (pydantic-core's encoder: about 3 times json.dumps on a 10,000-item answer; the data
    is plain str/int/float/None/list/dict, amounts already decimal text; non-ASCII text is sent as UTF-8)."""
    return to_json(data).decode()


def _indexing(book: OpenItemBook) -> dict[str, Any]:
    return {
        "status": "indexing",
        "book_id": book.id,
        "job_id": book.job_id,
        "detail": "the open items are being indexed by a job; send the request again when it has finished",
    }


def _invalid(field: str, message: str) -> Unprocessable:
    return Unprocessable(f"{field}: {message}", errors=[FieldError(field=field, message=message)])


@lru_cache(maxsize=64)
def plan_of(text: str, item_side: str) -> InstantPlan:
    """Parsed and planned once per rule-set text and side (versions are immutable)."""
    return build_plan(parse_rules(text, "rules"), item_side)


class InstantService:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    def reconcile(self, access: ProjectAccess, body: ReconcileRequest, idempotency_key: str | None) -> Answer:
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        if (earlier := self._replayed(access, idempotency_key, digest)) is not None:
            return earlier
        _refuse_duplicate_ids(body)
        dataset = self._dataset(access.project.id, body.dataset_id)
        ruleset, version = pinned_version(
            self.session, access.project.id, body.ruleset_id, body.ruleset_version
        )
        item_side = "left" if body.side.value == "right" else "right"
        try:
            plan = plan_of(version.text, item_side)
        except RulesError as exc:  # stored versions are valid; a text from an older language version is not
            raise _invalid("ruleset_id", str(exc)) from None
        book = find_book(self.session, dataset.id, version.id, item_side)
        newer = stale(self.session, book) if book is not None and book.status == BookStatus.READY else None
        if book is None or book.status == BookStatus.FAILED or newer is not None:
            book = self._start_book(book, dataset, version, item_side, plan, access, newer)
            if book.status == BookStatus.BUILDING:  # a job indexes it: answer 202 now (book and job commit)
                return Answer(_encode(_indexing(book)), status=202)
        elif book.status == BookStatus.BUILDING:
            raise ProblemError(
                f"the open items of this dataset are being indexed (job {book.job_id}); send the request "
                "again when it has finished",
                status=409,
                type=problem_type("open-items-indexing"),
                title="Open items being indexed",
            )
        self._lock(book)
        # A twin sent concurrently may have committed while we waited.
        if (earlier := self._replayed(access, idempotency_key, digest)) is not None:
            return earlier
        txns = [t.__dict__ for t in body.transactions]  # the validated fields, not copied
        outcome = reconcile(self.session, book.id, plan, txns)
        request_id = new_id()
        self._close(book, request_id, outcome.matches)
        response = _response(request_id, body, ruleset.id, version.version, book, plan, outcome, txns)
        content = _encode(response)
        self.session.add(
            InstantRequest(
                id=request_id,
                project_id=access.project.id,
                user_id=access.user.id,
                idempotency_key=idempotency_key,
                request_sha256=digest,
                book_id=book.id,
                # only a keyed request can be replayed: keep its answer, as sent
                response=content if idempotency_key is not None else "",
                created_at=utcnow(),
            )
        )
        record_event(
            self.session,
            action="instant.reconciled",
            actor_id=access.user.id,
            project_id=access.project.id,
            entity_type="dataset",
            entity_id=dataset.id,
            data={
                "request_id": request_id,
                "ruleset_version_id": version.id,
                **response["summary"],
            },
        )
        log.info("instant_reconciled", book_id=book.id, **response["summary"])
        return Answer(content)

    def _start_book(  # noqa: PLR0917 - one call site
        self,
        earlier: OpenItemBook | None,
        dataset: Dataset,
        version: RuleSetVersion,
        side: str,
        plan: InstantPlan,
        access: ProjectAccess,
        newer: Run | None,
    ) -> OpenItemBook:
        """Index inline up to INSTANT_INLINE_INDEX_ROWS records, else in an `instant_index_book` job: a new
        book, a failed one (started over), or a ready one a newer run of the dataset replaces (refreshed in
        place: its closes stay)."""
        inline = dataset.rows <= self.settings.instant_inline_index_rows
        status = BookStatus.READY if inline else BookStatus.BUILDING
        if earlier is not None and newer is not None:
            book = earlier
            self._lock(book)
            if book.seeded_from_run_id == newer.id:  # a concurrent request refreshed it while we waited
                return book
            book.seeded_from_run_id, book.status = newer.id, status
            log.info("open_item_book_refresh", book_id=book.id, run_id=newer.id)
        else:
            if earlier is not None:  # a failed job's book starts over
                drop_book_rows(self.session, earlier.id)
                self.session.delete(earlier)
                self.session.flush()
            book = create_book(self.session, dataset, version, side, status)
        if inline:
            fill_book(self.session, book, plan)
            return book
        job = enqueue(
            self.session,
            INSTANT_INDEX_BOOK,
            {"book_id": book.id},
            project_id=dataset.project_id,
            created_by=access.user.id,
        )
        book.job_id = job.id
        self.session.flush()
        return book

    def _replayed(self, access: ProjectAccess, key: str | None, digest: str) -> Answer | None:
        """The answer an earlier request with this Idempotency-Key got (None: no key, or a new one); 422 when
        that request's body was another (`digest`: the SHA-256 of this one)."""
        if key is None:
            return None
        earlier = self.session.scalar(
            select(InstantRequest).where(
                InstantRequest.project_id == access.project.id,
                InstantRequest.user_id == access.user.id,
                InstantRequest.idempotency_key == key,
            )
        )
        if earlier is None:
            return None
        if earlier.request_sha256 != digest:
            raise IdempotencyKeyReused()
        return Answer(earlier.response, replayed=True)

    def _dataset(self, project_id: str, dataset_id: str) -> Dataset:
        dataset = self.session.scalar(
            select(Dataset).where(Dataset.id == dataset_id, Dataset.project_id == project_id)
        )
        if dataset is None:
            raise _invalid("dataset_id", f"no dataset {dataset_id!r} in this project")
        if dataset.status != DatasetStatus.READY:
            raise _invalid("dataset_id", f"dataset {dataset.name!r} is {dataset.status}, not ready")
        return dataset

    def _lock(self, book: OpenItemBook) -> None:
        """Serialise requests on one book: a row lock on PostgreSQL, the write lock on SQLite, taken before
        any open item is read, so two requests never close the same item."""
        self.session.execute(
            update(OpenItemBook).where(OpenItemBook.id == book.id).values(updated_at=utcnow())
        )
        self.session.refresh(book)

    def _close(self, book: OpenItemBook, request_id: str, matches: list[Pairing]) -> None:
        """One INSERT of all the request's closes; an item closed already (by a request that got past the
        book lock, which cannot happen) is a conflict and nothing of this request closes."""
        rows = sorted(p.item["row_no"] for p in matches)
        if not rows:
            return
        source, values = row_source(self.session, rows)
        stmt = text(
            "INSERT INTO open_item_closes (book_id, row_no, request_id, closed_at) "
            f"SELECT :book_id, row_no, :request_id, :now FROM {source} WHERE true "
            "ON CONFLICT DO NOTHING"
        ).bindparams(bindparam("now", type_=UTCDateTime()))
        params = {"now": utcnow(), "request_id": request_id, "book_id": book.id, "values": values}
        closed = updated_rows(self.session, stmt, params)
        if closed != len(rows):  # never close half a request
            raise Conflict("open items changed during the request; send it again")
        book.open_items -= closed
        self.session.flush()


def _refuse_duplicate_ids(body: ReconcileRequest) -> None:
    if len({txn.id for txn in body.transactions}) == len(body.transactions):  # the usual case, in one pass
        return
    seen: dict[str, int] = {}
    for index, txn in enumerate(body.transactions):
        if txn.id in seen:
            raise _invalid(
                f"transactions.{index}.id",
                f"duplicate id {txn.id!r} (also transactions[{seen[txn.id]}])",
            )
        seen[txn.id] = index


_places: dict[str | None, int] = {}  # minor_units by currency code, as sent (a handful of codes)


def _amount(value: Decimal | None, currency: str | None) -> str | None:
    """recon.core.money.render_amount's text (exact, at least the currency's minor units), without its
    per-call context switch: 10,000 of these are in one answer."""
    if value is None:
        return None
    places = _places.get(currency)
    if places is None:
        places = minor_units(currency)
        if len(_places) < 1000:  # item currencies are the dataset's text: bounded
            _places[currency] = places
    if value:  # already the currency's digits (most amounts): str() is that text (no exponent form)
        text = str(value)
        dot = text.find(".")
        if (dot > 0 and len(text) - dot - 1 == places) or (places == 0 and dot < 0 and "E" not in text):
            return text
    normalized = (value or Decimal(0)).normalize(MONEY_CONTEXT)
    exponent = normalized.as_tuple().exponent
    places = max(places, -exponent if isinstance(exponent, int) else 0)
    return f"{normalized:.{places}f}"


def _item_out(item: dict[str, Any]) -> dict[str, Any]:
    """The answer's item; its dates stay date objects (the encoder writes them in ISO form, as isoformat)."""
    return {
        "row": item["row_no"],
        "id": item["ext_id"],
        "date": item["date"],
        "value_date": item["value_date"],
        "amount": _amount(item["amount"], item["currency"]),
        "currency": item["currency"],
        "reference": item["reference"],
        "counterparty": item["counterparty"],
        "description": item["description"],
    }


def _response(  # noqa: PLR0917 - one call site, the parts of the answer
    request_id: str,
    body: ReconcileRequest,
    ruleset_id: str,
    version: int,
    book: OpenItemBook,
    plan: InstantPlan,
    outcome: Outcome,
    txns: list[dict[str, Any]],
) -> dict[str, Any]:
    """The answer as plain JSON data (the shape of ReconcileResponse; built directly, not through 10,000
    model instances)."""
    matches = [
        {
            "transaction_id": txns[p.txn]["id"],
            "status": p.status,
            "pass_name": p.pass_name,
            "score": round(p.score, 6),
            "item": _item_out(p.item),
            "differences": p.differences,
        }
        for p in sorted(outcome.matches, key=lambda p: p.txn)
    ]
    suggestions = [
        {
            "transaction_id": txns[p.txn]["id"],
            "pass_name": p.pass_name,
            "score": round(p.score, 6),
            "item": _item_out(p.item),
            "rival": p.rival,
        }
        for p in sorted(outcome.suggestions, key=lambda p: p.txn)
    ]
    decided = {p.txn for p in outcome.matches}
    suggested = {p.txn for p in outcome.suggestions}
    leftovers = [
        {
            "transaction_id": txn["id"],
            "reason": "ambiguous"
            if t in outcome.ambiguous
            else "suggested"
            if t in suggested
            else "no_candidate",
        }
        for t, txn in enumerate(txns)
        if t not in decided
    ]
    breaks = sum(1 for m in matches if m["status"] == "break")
    return {
        "request_id": request_id,
        "dataset_id": body.dataset_id,
        "ruleset_id": ruleset_id,
        "ruleset_version": version,
        "book_id": book.id,
        "seeded_from_run_id": book.seeded_from_run_id,
        "matches": matches,
        "suggestions": suggestions,
        "leftovers": leftovers,
        "skipped_passes": [{"pass_name": name, "reason": why} for name, why in plan.skipped],
        "summary": {
            "transactions": len(txns),
            "matched": len(matches) - breaks,
            "breaks": breaks,
            "suggested": len(suggestions),
            "leftovers": len(leftovers),
            "open_items": book.open_items,
        },
    }
