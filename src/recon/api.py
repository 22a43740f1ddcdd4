"""All /api/v1 routers. A new domain adds its router to `API_ROUTERS` here.

The routers are included in the app one by one under the /api/v1 prefix rather than through one /api/v1
router: FastAPI looks a request's route up through every level of nested routers twice (to find the
matching branch, then again inside it), so one level less halves the route matching of every API request
(docs/adr/0039). The routes, their order, the OpenAPI document and the policies are the same."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from recon.audit.endpoints import router as audit_router
from recon.auth.endpoints import router as auth_router
from recon.core.errors import PROBLEM_RESPONSES
from recon.dashboard.endpoints import router as dashboard_router
from recon.datasets.endpoints import router as datasets_router
from recon.exports.endpoints import router as exports_router
from recon.feeds.endpoints import router as feeds_router
from recon.instant.endpoints import router as instant_router
from recon.jobs.endpoints import router as jobs_router
from recon.observability.health import build_health_router
from recon.projects.endpoints import router as projects_router
from recon.results.endpoints import router as results_router
from recon.review.endpoints import router as review_router
from recon.rulesets.endpoints import router as rulesets_router
from recon.runs.endpoints import router as runs_router
from recon.schedules.endpoints import router as schedules_router
from recon.users.endpoints import router as users_router

API_PREFIX = "/api/v1"

API_ROUTERS: tuple[APIRouter, ...] = (
    build_health_router(include_in_schema=True),
    projects_router,
    auth_router,
    audit_router,
    jobs_router,
    datasets_router,
    rulesets_router,
    exports_router,
    review_router,
    runs_router,
    results_router,
    dashboard_router,
    users_router,
    feeds_router,
    schedules_router,
    instant_router,
)


def include_api(app: FastAPI) -> None:
    """Every /api/v1 route, in `API_ROUTERS` order, each router with the problem responses."""
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
