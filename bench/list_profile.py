"""Where a list request's CPU goes, in process, on a kept database (the state file of
`api_run_bench.py --keep-db`): the app served in this process (TestClient), process CPU and wall per request,
optionally a cProfile of the requests, and the steps of a group page timed one by one (query of the page,
its members, JSON) outside HTTP.

    uv run python bench/list_profile.py --reuse bench/out/api_run_bench_sqlite_kept.json \
        --path groups --params status=matched --limit 1000 --requests 30 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from recon.app import create_app
from recon.config import Settings
from recon.core.pagination import PageParams

ADMIN_EMAIL = "run-bench@example.com"


def _parse(pairs: list[str]) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs)


def time_steps(app: Any, run_id: str, params: dict[str, str], limit: int, repeat: int) -> dict[str, float]:
    """Median process-CPU ms of each step of a group page (outside HTTP)."""
    from recon.models.runs import GroupStatus
    from recon.results.repository import GROUP_ID, GroupFilters, ResultsRepository
    from recon.results.schemas import GroupSort
    from recon.results.service import group_page_json

    status = tuple(GroupStatus(s) for s in params.get("status", "").split(",") if s)
    filters = GroupFilters(status=status, pass_name=params.get("pass"))
    sort = GroupSort(params.get("sort", "seq"))
    steps: dict[str, list[float]] = {"page": [], "members": [], "json": []}
    today = time.gmtime()
    import datetime as dt

    day = dt.date(today.tm_year, today.tm_mon, today.tm_mday)
    for _ in range(repeat):
        with app.state.session_factory() as session:
            repo = ResultsRepository(session)
            t0 = time.process_time()
            page = repo.group_page(run_id, filters, sort, PageParams(limit=limit), day)
            t1 = time.process_time()
            members = repo.members(run_id, [g[GROUP_ID] for g in page.items])
            t2 = time.process_time()
            group_page_json(page.items, members, day, page.next_cursor)
            t3 = time.process_time()
        steps["page"].append(t1 - t0)
        steps["members"].append(t2 - t1)
        steps["json"].append(t3 - t2)
    return {k: round(statistics.median(v) * 1000, 2) for k, v in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reuse", type=Path, required=True, help="state file of a kept run")
    parser.add_argument("--path", default="groups", help="groups, unmatched, or /api/v1/... (auth/me)")
    parser.add_argument("--params", nargs="*", default=[], help="query parameters, name=value")
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="cProfile the requests (top 35 by tottime)")
    parser.add_argument("--sort", default="tottime", help="profile order (tottime, cumulative)")
    parser.add_argument("--top", type=int, default=35, help="profile lines")
    parser.add_argument("--steps", action="store_true", help="also time a group page's steps")
    args = parser.parse_args()
    kept = json.loads(args.reuse.read_text())
    os.environ.setdefault("RATE_LIMIT_ENABLED", "false")
    os.environ.setdefault("LOG_LEVEL", "INFO")
    settings = Settings(
        _env_file=None,
        database_url=kept["url"],
        data_dir=Path(kept["work"]) / "data",
        environment="development",
        embedded_worker=False,
        rate_limit_enabled=False,
        auto_migrate=False,
    )
    app = create_app(settings)
    params = _parse(args.params)
    with TestClient(app) as client:  # log in first: the password hash is not what is profiled
        token = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": kept["password"]})
        token.raise_for_status()
    # The app runs on the test client's event loop thread and its sync dependencies and endpoints on worker
    # threads: each thread the second client starts gets its own profiler (merged below).
    thread_profilers: list[cProfile.Profile] = []

    def profile_thread(*_: Any) -> None:
        sys.setprofile(None)
        thread_profiler = cProfile.Profile()
        thread_profilers.append(thread_profiler)
        thread_profiler.enable()

    if args.profile:
        threading.setprofile(profile_thread)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        url = args.path if args.path.startswith("/") else f"/api/v1/runs/{kept['run_id']}/{args.path}"
        query = {**params, "limit": args.limit} if not args.path.startswith("/") else params
        for _ in range(3):  # warm the caches and the pool
            client.get(url, params=query).raise_for_status()
        profiler = cProfile.Profile() if args.profile else None
        walls, cpus, size = [], [], 0
        for _ in range(args.requests):
            c0, w0 = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            response = client.get(url, params=query)
            if profiler:
                profiler.disable()
            cpus.append(time.process_time() - c0)
            walls.append(time.perf_counter() - w0)
            response.raise_for_status()
            size = len(response.content)
        print(
            f"{url} {query}: {args.requests} requests, {size} bytes; wall median "
            f"{statistics.median(walls) * 1000:.2f} ms, process CPU median "
            f"{statistics.median(cpus) * 1000:.2f} ms "
            f"(load {os.getloadavg()[0]:.1f})"
        )
        if args.steps and args.path == "groups":
            steps = time_steps(app, kept["run_id"], params, args.limit, args.requests)
            print("steps (CPU ms, median):", steps)
        if profiler:
            threading.setprofile(None)
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            for thread_profiler in thread_profilers:
                thread_profiler.disable()
                stats.add(thread_profiler)
            stats.sort_stats(args.sort).print_stats(args.top)
            print(out.getvalue())


if __name__ == "__main__":
    main()
