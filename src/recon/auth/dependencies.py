"""Who is calling, and may they touch this project?

- `CurrentPrincipal` / `CurrentUser`: resolve `Authorization: Bearer <jwt>` (or an API key:
  `X-API-Key: rk_...` or `Bearer rk_...`) to an active user, else 401 problem.
- `require_project_role(minimum)`: load the project through the caller's membership. Not a member (or another
  tenant's project, or deleted) -> 404; member below `minimum` -> 403. Aliases: `ProjectViewer`,
  `ProjectPreparer`, `ProjectApprover`, `ProjectAdmin`, `ProjectOwner`.
Every route's dependencies also declare its policy for the authorisation matrix (see recon.auth.policy).
What they resolve (`Principal`, `ProjectAccess`) and how lives in recon.auth.access, free of FastAPI.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from recon.auth import api_keys
from recon.auth.access import (
    Principal,
    ProjectAccess,
    ProjectIdResolver,
    ResourceProject,
    authenticate_access_token,
    authenticate_api_key,
    load_project_access,
)
from recon.config import Settings
from recon.core.db import DbSession
from recon.core.errors import Forbidden, Unauthorized
from recon.models import Role, User

API_KEY_PREFIX = api_keys.API_KEY_PREFIX

_bearer = HTTPBearer(auto_error=False, description="Access token (JWT) or API key (rk_...)")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key (rk_...)")


async def get_settings_dep(request: Request) -> Settings:  # async: no thread hop
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(get_settings_dep)]


Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
ApiKeyHeader = Annotated[str | None, Depends(_api_key_header)]


def resolve_principal(
    request: Request,
    session: Session,
    settings: Settings,
    bearer: HTTPAuthorizationCredentials | None,
    api_key: str | None,
) -> Principal:
    """The caller of this request, resolved once per request (kept in `request.state.principal`)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None:
        return principal
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


def get_principal(
    request: Request, session: DbSession, settings: AppSettings, bearer: Bearer, api_key: ApiKeyHeader
) -> Principal:
    return resolve_principal(request, session, settings, bearer, api_key)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_superuser(principal: CurrentPrincipal) -> User:
    if not principal.user.is_superuser:
        raise Forbidden("this action needs an organisation administrator")
    if principal.project_id is not None:  # organisation-wide actions reach beyond the key's project
        raise Forbidden(
            "this API key is restricted to one project; organisation administration needs another"
        )
    return principal.user


Superuser = Annotated[User, Depends(require_superuser)]


class RequireProjectRole:
    """Dependency: the caller's access to the addressed project, with at least `minimum` role.

    By default the project id is the `{project_id}` path parameter; for resources addressed without it
    (e.g. /jobs/{job_id}) pass `project_id_from` to look the project up from the resource, or `resource`
    to read the resource's project and the caller's membership in one statement (/runs/{run_id}).
    """

    def __init__(
        self,
        minimum: Role | str,
        project_id_from: ProjectIdResolver | None = None,
        resource: ResourceProject | None = None,
    ) -> None:
        self.minimum = Role(minimum)
        self.project_id_from = project_id_from
        self.resource = resource

    # The caller is resolved here rather than through `CurrentPrincipal`: the credentials and the project
    # are checked in one worker-thread call instead of two (a thread hop per sync dependency, costly on a
    # loaded machine; docs/adr/0026, fourth pass). Same checks, same order, same security schemes.
    def __call__(
        self,
        request: Request,
        session: DbSession,
        settings: AppSettings,
        bearer: Bearer,
        api_key: ApiKeyHeader,
    ) -> ProjectAccess:
        principal = resolve_principal(request, session, settings, bearer, api_key)
        params = request.path_params
        if self.resource is not None:
            access = self.resource.access(session, principal, params, self.minimum)
        else:
            if self.project_id_from is None:
                project_id = params.get("project_id")
            else:
                project_id = self.project_id_from(session, params)
            access = load_project_access(session, principal, project_id, self.minimum)
        structlog.contextvars.bind_contextvars(project_id=access.project.id)
        return access


def require_project_role(
    minimum: Role | str,
    *,
    project_id_from: ProjectIdResolver | None = None,
    resource: ResourceProject | None = None,
) -> RequireProjectRole:
    return RequireProjectRole(minimum, project_id_from, resource)


ProjectViewer = Annotated[ProjectAccess, Depends(require_project_role(Role.VIEWER))]
ProjectPreparer = Annotated[ProjectAccess, Depends(require_project_role(Role.PREPARER))]
ProjectApprover = Annotated[ProjectAccess, Depends(require_project_role(Role.APPROVER))]
ProjectAdmin = Annotated[ProjectAccess, Depends(require_project_role(Role.ADMIN))]
ProjectOwner = Annotated[ProjectAccess, Depends(require_project_role(Role.OWNER))]
