"""HTTP surface of instant reconciliation."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response

from recon.auth.dependencies import AppSettings, ProjectPreparer
from recon.core.db import DbSession
from recon.core.errors import fields_under
from recon.core.params import ProjectId
from recon.instant.schemas import IndexingAccepted, ReconcileRequest, ReconcileResponse
from recon.instant.service import InstantService

_pause = threading.Lock()
_paused = [0]  # requests of this route running: the collector is off while it is above 0


async def paused_gc() -> AsyncIterator[None]:
    """The cyclic garbage collector is off while an instant request runs (body validation included: a
    route-level dependency is solved before the body). Its 10,000 transactions, candidates and answer
    survive the young generations and set off a full collection in each request, which took a third of the
    request's time (docs/adr/0017-instant-reconciliation.md); reference counting still frees everything the
    request drops, and the collector runs again as soon as no instant request is in flight."""
    with _pause:
        _paused[0] += 1
        if _paused[0] == 1:
            gc.disable()
    try:
        yield
    finally:
        with _pause:
            _paused[0] -= 1
            if _paused[0] == 0:
                gc.enable()


router = APIRouter(tags=["instant"])


@router.post(
    "/projects/{project_id}/transactions:reconcile",
    response_model=ReconcileResponse,
    responses={202: {"model": IndexingAccepted, "description": "The open items are being indexed by a job"}},
    dependencies=[Depends(paused_gc)],
)
def reconcile_transactions(
    project_id: ProjectId,
    *,
    body: ReconcileRequest,
    access: ProjectPreparer,
    session: DbSession,
    settings: AppSettings,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key", max_length=200, description="A retry with the same key answers the same"
        ),
    ] = None,
) -> Response:
    """Match up to 10,000 transactions against the open items of `dataset_id` with the rule set and answer
    the matches, suggestions and leftovers; matched open items are closed in the same transaction. The first
    request for a dataset and rule-set version indexes its open items (the dataset's latest run's unmatched
    items, or all its records): inline up to INSTANT_INLINE_INDEX_ROWS records, else by a job (202 with its
    `job_id`; 409 `open-items-indexing` until it has finished). Send `transactions: []` once to do it
    ahead."""
    with fields_under("body"):
        answer = InstantService(session, settings).reconcile(access, body, idempotency_key or None)
    # Encoded once by the service (and kept as is for replays): not validated again by the response model.
    return Response(answer.content, status_code=answer.status, media_type="application/json")
