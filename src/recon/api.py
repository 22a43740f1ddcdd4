"""All /api/v1 routers. A new domain adds one `api_router.include_router(...)` line here."""

from __future__ import annotations

from fastapi import APIRouter

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

api_router = APIRouter(prefix=API_PREFIX, responses=PROBLEM_RESPONSES)
api_router.include_router(build_health_router(include_in_schema=True))
api_router.include_router(projects_router)
api_router.include_router(auth_router)
api_router.include_router(audit_router)
api_router.include_router(jobs_router)
api_router.include_router(datasets_router)
api_router.include_router(rulesets_router)
api_router.include_router(exports_router)
api_router.include_router(review_router)
api_router.include_router(runs_router)
api_router.include_router(results_router)
api_router.include_router(dashboard_router)
api_router.include_router(users_router)
api_router.include_router(feeds_router)
api_router.include_router(schedules_router)
api_router.include_router(instant_router)
