"""HTTP surface of instant reconciliation."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, Response

from recon.auth.dependencies import AppSettings, ProjectPreparer
from recon.core.db import DbSession
from recon.core.params import ProjectId
from recon.instant.schemas import IndexingAccepted, ReconcileRequest, ReconcileResponse
from recon.instant.service import InstantService

router = APIRouter(tags=["instant"])


@router.post(
    "/projects/{project_id}/transactions:reconcile",
    response_model=ReconcileResponse,
    responses={202: {"model": IndexingAccepted, "description": "The open items are being indexed by a job"}},
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
    answer = InstantService(session, settings).reconcile(access, body, idempotency_key or None)
    # Built as JSON data already (10,000 items): sent as is rather than validated again by the response model.
    content = json.dumps(answer.response, separators=(",", ":"))
    return Response(content, status_code=answer.status, media_type="application/json")
