"""A run created with "backend": "spark" is executed by the worker on Spark and lands in the database exactly
what the same run on DuckDB lands (groups, statuses, scores, explanations, items, summary)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from recon.core.db import SessionFactory, session_scope
from recon.models import Run
from runs.run_helpers import FINAL, Scene, scene_fixture, stored_results, wait_until

pytestmark = pytest.mark.spark


scene = scene_fixture()


def _run(client: TestClient, scene: Scene, **body: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/projects/{scene.project.id}/runs", json=scene.run_body(**body), headers=scene.headers
    )
    assert response.status_code == 202, response.text
    run_id = response.json()["id"]

    def final() -> dict[str, Any] | None:
        found: dict[str, Any] = client.get(f"/api/v1/runs/{run_id}", headers=scene.headers).json()
        return found if found["status"] in FINAL else None

    done: dict[str, Any] = wait_until(final, f"run {run_id} to finish", timeout=900)
    assert done["status"] == "succeeded", done
    return done


def test_a_spark_run_lands_what_a_duckdb_run_lands(
    spark, client: TestClient, scene: Scene, session_factory: SessionFactory
) -> None:
    duck = _run(client, scene)
    there = _run(client, scene, backend="spark")
    assert (duck["backend"], there["backend"]) == ("duckdb", "spark")
    with session_scope(session_factory) as session:
        stored = session.get(Run, there["id"])
        assert stored is not None and stored.backend == "spark"
    kinds = {p["kind"] for p in there["summary"]["passes"]}
    assert {"one_to_one", "many_to_one"} <= kinds  # the demo's grouped pass ran on Spark
    assert there["summary"]["checks"] == {"exactly_once": True, "control_totals": True}
    for key in ("left", "right", "passes", "unmatched_reasons"):
        assert there["summary"][key] == duck["summary"][key], key
    groups, items = stored_results(session_factory, there["id"])
    assert groups and items
    assert (groups, items) == stored_results(session_factory, duck["id"])
    assert there["results_sha256"] == duck["results_sha256"]


def test_the_backend_field_is_checked(client: TestClient, scene: Scene) -> None:
    url = f"/api/v1/projects/{scene.project.id}/runs"
    response = client.post(url, json=scene.run_body(backend="flink"), headers=scene.headers)
    assert response.status_code == 422, response.text
    assert "backend" in response.text


def test_spark_is_refused_where_it_is_not_installed(
    client: TestClient, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recon.runs import service

    monkeypatch.setattr(service, "spark_available", lambda: False)
    url = f"/api/v1/projects/{scene.project.id}/runs"
    response = client.post(url, json=scene.run_body(backend="spark"), headers=scene.headers)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["body.backend"]
