"""Route policies: every /api/v1 route declares who may call it, through its dependencies.

- `require_project_role(role)` / `ProjectViewer` ... `ProjectOwner`  -> policy "<role>" (project-scoped)
- `Superuser`                                                      -> "superuser"
- `CurrentUser` / `CurrentPrincipal`                               -> "authenticated"
- `dependencies=[PUBLIC]`                                          -> "public" (login, health, ...)

`api_routes(app)` lists every route with the policy read back from its dependency tree (so the declaration
is the enforcement); the OpenAPI operation carries it as `x-required-role`, and the authorisation-matrix test
generates its cases from it: a route with no policy fails that test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from recon.auth.dependencies import RequireProjectRole, get_principal, require_superuser
from recon.models import Role

POLICY_PUBLIC = "public"
POLICY_AUTHENTICATED = "authenticated"
POLICY_SUPERUSER = "superuser"


def public_route() -> None:
    """Marker dependency: this route needs no credentials."""


PUBLIC = Depends(public_route)


def _calls(dependant: Dependant) -> list[object]:
    calls: list[object] = []
    for sub in dependant.dependencies:
        calls.append(sub.call)
        calls.extend(_calls(sub))
    return calls


def dependant_policy(dependant: Dependant) -> str | None:
    calls = _calls(dependant)
    roles = [c.minimum for c in calls if isinstance(c, RequireProjectRole)]
    if roles:
        return max(roles, key=lambda r: r.rank).value
    if require_superuser in calls:
        return POLICY_SUPERUSER
    if get_principal in calls:
        return POLICY_AUTHENTICATED
    if public_route in calls:
        return POLICY_PUBLIC
    return None


@dataclass(frozen=True)
class RouteInfo:
    path: str  # full template, e.g. /api/v1/projects/{project_id}
    methods: frozenset[str]
    policy: str | None  # public | authenticated | superuser | viewer ... owner | None (undeclared)
    route: Any  # fastapi RouteContext (has .dependant, .endpoint, .name)

    @property
    def project_role(self) -> Role | None:
        return Role(self.policy) if self.policy in {r.value for r in Role} else None


def api_routes(app: FastAPI) -> Iterator[RouteInfo]:
    """Every API route with its full path (FastAPI keeps included routers nested; this flattens them)."""
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        yield RouteInfo(
            path=str(context.path),
            methods=frozenset(context.methods or ()),
            policy=dependant_policy(context.dependant),
            route=context,
        )
