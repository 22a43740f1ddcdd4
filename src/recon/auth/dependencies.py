"""Who is calling, and may they touch this project?

- `CurrentPrincipal` / `CurrentUser`: resolve `Authorization: Bearer <jwt>` (or an API key:
  `X-API-Key: rk_...` or `Bearer rk_...`) to an active user, else 401 problem.
- `require_project_role(minimum)`: load the project through the caller's membership. Not a member (or another
  tenant's project, or deleted) -> 404; member below `minimum` -> 403. Aliases: `ProjectViewer`,
  `ProjectPreparer`, `ProjectApprover`, `ProjectAdmin`, `ProjectOwner`.
Every route's dependencies also declare its policy for the authorisation matrix (see recon.auth.policy).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

import structlog
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from recon.auth import api_keys
from recon.auth.security import decode_token
from recon.auth.sessions import session_is_active
from recon.config import Settings
from recon.core.db import DbSession
from recon.core.errors import Forbidden, NotFound, Unauthorized
from recon.models import Project, ProjectMember, Role, User

API_KEY_PREFIX = api_keys.API_KEY_PREFIX

_bearer = HTTPBearer(auto_error=False, description="Access token (JWT) or API key (rk_...)")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (rk_...)")


@dataclass(frozen=True)
class Principal:
    user: User
    method: Literal["jwt", "api_key"]
    api_key_id: str | None = None
    # An API key may be restricted to one project (None: acts for all of its user's projects).
    project_id: str | None = None


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings_dep)]


def authenticate_api_key(session: Session, raw_key: str) -> Principal:
    """Resolve an API key (`rk_...`, see recon.auth.api_keys) to its principal, else 401."""
    api_key, user = api_keys.authenticate(session, raw_key)
    return Principal(user=user, method="api_key", api_key_id=api_key.id, project_id=api_key.project_id)


def authenticate_access_token(session: Session, settings: Settings, token: str) -> Principal:
    """A valid JWT of an active user whose login session (claim `sid`, when present) has not ended."""
    claims = decode_token(settings, token)
    session_id = claims.get("sid")
    if session_id is not None and not session_is_active(session, str(session_id)):
        raise Unauthorized("this session has ended (logged out or revoked); log in again")
    return Principal(user=_active_user(session, str(claims["sub"])), method="jwt")


def _active_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("the user of this token no longer exists or is disabled")
    return user


def get_principal(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    if api_key is not None:
        principal = authenticate_api_key(session, api_key)
    elif bearer is not None and bearer.credentials.startswith(API_KEY_PREFIX):
        principal = authenticate_api_key(session, bearer.credentials)
    elif bearer is not None:
        principal = authenticate_access_token(session, settings, bearer.credentials)
    else:
        raise Unauthorized("send `Authorization: Bearer <access token>` or `X-API-Key: <key>`")
    request.state.principal = principal
    structlog.contextvars.bind_contextvars(user_id=principal.user.id)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_superuser(user: CurrentUser) -> User:
    if not user.is_superuser:
        raise Forbidden("this action needs an organisation administrator")
    return user


Superuser = Annotated[User, Depends(require_superuser)]


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    member: ProjectMember
    user: User

    @property
    def role(self) -> Role:
        return Role(self.member.role)


# (session, path params) -> project id of the addressed resource, or None when it does not exist.
ProjectIdResolver = Callable[[Session, Mapping[str, str]], str | None]


def load_project_access(
    session: Session, principal: Principal, project_id: str | None, minimum: Role
) -> ProjectAccess:
    """The project seen through the caller's membership: 404 when not visible, 403 when the role is low."""
    user = principal.user
    if project_id is None or (principal.project_id is not None and principal.project_id != project_id):
        raise NotFound("project not found")
    row = session.execute(
        select(Project, ProjectMember)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(
            Project.id == project_id,
            Project.org_id == user.org_id,
            Project.deleted_at.is_(None),
            ProjectMember.user_id == user.id,
        )
    ).first()
    if row is None:
        raise NotFound("project not found")
    project, member = row.tuple()
    access = ProjectAccess(project=project, member=member, user=user)
    if not access.role.at_least(minimum):
        raise Forbidden(f"this action needs the {minimum.value} role or higher (you are {access.role.value})")
    return access


class RequireProjectRole:
    """Dependency: the caller's access to the addressed project, with at least `minimum` role.

    By default the project id is the `{project_id}` path parameter; for resources addressed without it
    (e.g. /runs/{run_id}) pass `project_id_from` to look the project up from the resource.
    """

    def __init__(self, minimum: Role | str, project_id_from: ProjectIdResolver | None = None) -> None:
        self.minimum = Role(minimum)
        self.project_id_from = project_id_from

    def __call__(self, request: Request, session: DbSession, principal: CurrentPrincipal) -> ProjectAccess:
        params = request.path_params
        if self.project_id_from is None:
            project_id = params.get("project_id")
        else:
            project_id = self.project_id_from(session, params)
        access = load_project_access(session, principal, project_id, self.minimum)
        structlog.contextvars.bind_contextvars(project_id=access.project.id)
        return access


def require_project_role(
    minimum: Role | str, *, project_id_from: ProjectIdResolver | None = None
) -> RequireProjectRole:
    return RequireProjectRole(minimum, project_id_from)


ProjectViewer = Annotated[ProjectAccess, Depends(require_project_role(Role.VIEWER))]
ProjectPreparer = Annotated[ProjectAccess, Depends(require_project_role(Role.PREPARER))]
ProjectApprover = Annotated[ProjectAccess, Depends(require_project_role(Role.APPROVER))]
ProjectAdmin = Annotated[ProjectAccess, Depends(require_project_role(Role.ADMIN))]
ProjectOwner = Annotated[ProjectAccess, Depends(require_project_role(Role.OWNER))]
