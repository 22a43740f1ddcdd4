"""HTTP surface of runs: create, list, read, cancel, retry, rerun, progress events (SSE)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.auth.dependencies import ProjectAccess, ProjectPreparer, ProjectViewer, require_project_role
from recon.core.db import DbSession
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.models import Role
from recon.models.runs import Run, RunStatus
from recon.runs.events import run_events
from recon.runs.schemas import RunCreate, RunOut
from recon.runs.service import RunService

router = APIRouter(tags=["runs"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=200, description="Repeat a create safely: same key, same result."
    ),
]


def run_project(session: Session, params: Mapping[str, str]) -> str | None:
    """The project of the addressed run (None: unknown run -> 404)."""
    return session.scalar(select(Run.project_id).where(Run.id == params["run_id"]))


RunViewer = Annotated[ProjectAccess, Depends(require_project_role(Role.VIEWER, project_id_from=run_project))]
RunPreparer = Annotated[
    ProjectAccess, Depends(require_project_role(Role.PREPARER, project_id_from=run_project))
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
    stream /runs/{id}/events)."""
    service = RunService(session)
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
