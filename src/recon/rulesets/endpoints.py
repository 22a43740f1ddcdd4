"""HTTP surface of rule sets: create, new versions, read, validate, dry run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request, Response, status

from recon.auth.dependencies import AppSettings, ProjectPreparer, ProjectViewer
from recon.core.db import DbSession
from recon.core.errors import fields_under
from recon.core.pagination import Page, Pagination
from recon.core.params import ProjectId, ResourceId
from recon.rulesets.dryrun import dry_run, dry_run_inputs
from recon.rulesets.schemas import (
    DryRunRequest,
    DryRunResult,
    RuleSetCreate,
    RuleSetOut,
    RuleSetWithLatest,
    RulesText,
    ValidationResult,
    VersionCreate,
    VersionOut,
    VersionSummary,
)
from recon.rulesets.service import RuleSetService, Saved

router = APIRouter(prefix="/projects", tags=["rulesets"])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key", max_length=200, description="Repeat a create safely: same key, same result."
    ),
]
VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647, description="Version number (1, 2, ...)")]


def _with_latest(saved: Saved) -> RuleSetWithLatest:
    fields = RuleSetOut.model_validate(saved.ruleset).model_dump()
    return RuleSetWithLatest.model_validate({**fields, "latest": VersionOut.model_validate(saved.version)})


def _created(saved: Saved, response: Response) -> None:
    # A replay (same Idempotency-Key) answers what the first request created, with 200 instead of 201.
    if saved.replayed:
        response.status_code = status.HTTP_200_OK


@router.post("/{project_id}/rulesets/validate", response_model=ValidationResult)
def validate_rules(project_id: ProjectId, body: RulesText, access: ProjectViewer) -> ValidationResult:
    """Check a rules text with the engine: `valid`, every problem with its location, and the plan."""
    return RuleSetService.validate(body.text)


@router.post("/{project_id}/rulesets", status_code=status.HTTP_201_CREATED, response_model=RuleSetWithLatest)
def create_ruleset(
    project_id: ProjectId,
    *,
    body: RuleSetCreate,
    access: ProjectPreparer,
    session: DbSession,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RuleSetWithLatest:
    """Create a rule set with its version 1. Invalid rules: 422 with one error per problem."""
    saved = RuleSetService(session).create(access, body, idempotency_key or None)
    _created(saved, response)
    return _with_latest(saved)


@router.get("/{project_id}/rulesets", response_model=Page[RuleSetOut])
def list_rulesets(
    project_id: ProjectId, access: ProjectViewer, session: DbSession, page: Pagination
) -> Page[RuleSetOut]:
    return RuleSetService(session).list(access, page).map(RuleSetOut.model_validate)


@router.get("/{project_id}/rulesets/{ruleset_id}", response_model=RuleSetWithLatest)
def get_ruleset(
    project_id: ProjectId, ruleset_id: ResourceId, access: ProjectViewer, session: DbSession
) -> RuleSetWithLatest:
    """The rule set with its latest version (text included)."""
    return _with_latest(RuleSetService(session).get_with_latest(access, ruleset_id))


@router.post(
    "/{project_id}/rulesets/{ruleset_id}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
)
def create_version(
    project_id: ProjectId,
    ruleset_id: ResourceId,
    *,
    body: VersionCreate,
    access: ProjectPreparer,
    session: DbSession,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> VersionOut:
    """Save a new immutable version (the next number). A text identical to the latest version: 409."""
    saved = RuleSetService(session).add_version(access, ruleset_id, body, idempotency_key or None)
    _created(saved, response)
    return VersionOut.model_validate(saved.version)


@router.get("/{project_id}/rulesets/{ruleset_id}/versions", response_model=Page[VersionSummary])
def list_versions(
    project_id: ProjectId, ruleset_id: ResourceId, access: ProjectViewer, session: DbSession, page: Pagination
) -> Page[VersionSummary]:
    """Versions, oldest first, without their text (GET one version for it)."""
    return RuleSetService(session).list_versions(access, ruleset_id, page).map(VersionSummary.model_validate)


@router.get("/{project_id}/rulesets/{ruleset_id}/versions/{version}", response_model=VersionOut)
def get_version(
    project_id: ProjectId,
    ruleset_id: ResourceId,
    version: VersionNumber,
    access: ProjectViewer,
    session: DbSession,
) -> VersionOut:
    return VersionOut.model_validate(RuleSetService(session).version(access, ruleset_id, version))


@router.post("/{project_id}/rulesets/{ruleset_id}/dry-run", response_model=DryRunResult)
def dry_run_ruleset(
    project_id: ProjectId,
    ruleset_id: ResourceId,
    *,
    body: DryRunRequest,
    access: ProjectPreparer,
    session: DbSession,
    settings: AppSettings,
    request: Request,
) -> DryRunResult:
    """Reconcile two ready datasets of the project with a version (default latest) and return the summary.
    Nothing is stored. Datasets above DRY_RUN_MAX_ROWS records: 422 (start a run instead). The engine runs
    on a worker while the request waits (up to DRY_RUN_TIMEOUT_S, then 503). Preparer+: it spends CPU."""
    with fields_under("body"):
        inputs = dry_run_inputs(session, access, ruleset_id, body, max_rows=settings.dry_run_max_rows)
    return dry_run(
        session,
        access,
        inputs,
        factory=request.app.state.session_factory,
        timeout_s=settings.dry_run_timeout_s,
    )
