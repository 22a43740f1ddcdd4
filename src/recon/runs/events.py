"""Server-sent events of a run: its progress until it reaches a final status.

The stream outlives the request's session, so each poll opens its own (in the threadpool); comments keep
idle connections (proxies) alive.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from recon.core.db import SessionFactory, session_scope
from recon.models.jobs import Job
from recon.models.runs import Run, RunStatus

POLL_S = 0.5
HEARTBEAT_S = 15.0


def snapshot(factory: SessionFactory, project_id: str, run_id: str) -> dict[str, Any] | None:
    with session_scope(factory) as session:
        row = session.execute(
            select(Run, Job)
            .outerjoin(Job, Job.id == Run.job_id)
            .where(Run.id == run_id, Run.project_id == project_id)
        ).first()
        if row is None:
            return None
        run, job = row.tuple()
        return {
            "run_id": run.id,
            "status": run.status,
            "attempt": run.attempt,
            "progress": run.progress or {},
            "error": run.error,
            "job": None
            if job is None
            else {"id": job.id, "status": job.status, "progress": job.progress, "message": job.message},
        }


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def run_events(request: Request, project_id: str, run_id: str) -> AsyncIterator[str]:
    """`progress` events on every change, then one `end` event with the final state."""
    factory: SessionFactory = request.app.state.session_factory
    last: dict[str, Any] | None = None
    beat = time.monotonic()
    while not await request.is_disconnected():
        state = await run_in_threadpool(snapshot, factory, project_id, run_id)
        if state is None:
            yield _event("end", {"run_id": run_id, "status": None, "error": "the run no longer exists"})
            return
        if RunStatus(state["status"]).is_final:
            yield _event("end", state)
            return
        if state != last:
            yield _event("progress", state)
            last, beat = state, time.monotonic()
        elif time.monotonic() - beat >= HEARTBEAT_S:
            yield ": heartbeat\n\n"
            beat = time.monotonic()
        await asyncio.sleep(POLL_S)
