"""HTTP surface of runs: create, list, read, cancel, retry, rerun, progress events (SSE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from recon.auth.dependencies import ProjectPreparer, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import fields_under
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.models.runs import RunStatus
from recon.runs.access import RunPreparer, RunViewer
from recon.runs.events import run_events
from recon.runs.schemas import PeriodUpdate, RunCreate, RunOut
from recon.runs.service import RunService

router = APIRouter(tags=["runs"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=200, description="Repeat a create safely: same key, same result."
    ),
]


@router.post(
    "/projects/{project_id}/runs",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    responses={200: {"description": "A repeated request (same Idempotency-Key): the run it created"}},
)
def create_run(
    project_id: ProjectId,
    *,
    body: RunCreate,
    access: ProjectPreparer,
    session: DbSession,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RunOut:
    """Start a run: both datasets must be ready datasets of the project (else 422/409 naming the field).
    The inputs' sha256 and the rule-set version are pinned; execution is a job (poll GET /runs/{id} or
    stream /runs/{id}/events). Optional: the period (`period_start`, `period_end`, `bank_side`, balances) and
    `carry_forward_from`, the previous period's signed-off run whose reconciling items become open records."""
    service = RunService(session)
    with fields_under("body"):
        created = service.create(access, body, idempotency_key or None)
    if created.replayed:
        response.status_code = status.HTTP_200_OK
    return service.out(created.run)


@router.get("/projects/{project_id}/runs", response_model=Page[RunOut])
def list_runs(
    project_id: ProjectId,
    *,
    access: ProjectViewer,
    session: DbSession,
    page: Pagination,
    status: Annotated[RunStatus | None, Query(description="Only runs in this state")] = None,
    ruleset_id: Annotated[str | None, Query(max_length=64, description="Only runs of this rule set")] = None,
    dataset_id: Annotated[
        str | None, Query(max_length=64, description="Only runs with this dataset on either side")
    ] = None,
) -> Page[RunOut]:
    """The project's runs, newest first (keyset paginated)."""
    service = RunService(session)
    runs = service.page(access, page, status=status, ruleset_id=ruleset_id, dataset_id=dataset_id)
    return Page[RunOut](items=service.out_many(runs.items), next_cursor=runs.next_cursor)


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: ResourceId, access: RunViewer, session: DbSession) -> RunOut:
    """Status, progress per pass, summary (control totals, input hashes, rule version), inputs and job."""
    service = RunService(session)
    return service.out(service.get(access, run_id))


@router.patch("/runs/{run_id}/period", response_model=RunOut)
def update_period(run_id: ResourceId, body: PeriodUpdate, access: RunPreparer, session: DbSession) -> RunOut:
    """Set the period dates and the opening or closing balances (per currency: bank and books) of a run not
    signed off; the statement uses them. Only the fields sent change; `version` guards against lost
    updates."""
    service = RunService(session)
    with fields_under("body"):
        run = service.update_period(access, run_id, body)
    return service.out(run)


@router.post("/runs/{run_id}/cancel", response_model=RunOut)
def cancel_run(run_id: ResourceId, access: RunPreparer, session: DbSession) -> RunOut:
    """Cancel a queued run, or ask a running one to stop (it ends `cancelled` shortly). 409 when final."""
    service = RunService(session)
    return service.out(service.cancel(access, run_id))


@router.post("/runs/{run_id}/retry", status_code=status.HTTP_202_ACCEPTED, response_model=RunOut)
def retry_run(run_id: ResourceId, access: RunPreparer, session: DbSession) -> RunOut:
    """Run a failed or cancelled run again with the same pinned inputs (a new attempt). 409 otherwise."""
    service = RunService(session)
    return service.out(service.retry(access, run_id))


@router.post("/runs/{run_id}/rerun", status_code=status.HTTP_202_ACCEPTED, response_model=RunOut)
def rerun_run(run_id: ResourceId, access: RunPreparer, session: DbSession) -> RunOut:
    """Re-execute a succeeded run's pinned inputs as a new run; once it has finished,
    `identical_to_original` tells whether the results are identical."""
    service = RunService(session)
    return service.out(service.rerun(access, run_id))


@router.get(
    "/runs/{run_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "progress events, then `end`"}},
)
def stream_run_events(run_id: ResourceId, request: Request, access: RunViewer) -> StreamingResponse:
    """Server-sent events: `progress` on every change of status or progress, comments as heartbeats, and
    a final `end` event once the run succeeded, failed or was cancelled."""
    return StreamingResponse(
        run_events(request, access.project.id, run_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
