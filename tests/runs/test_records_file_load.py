"""A run loads its inputs from the ingestion's Arrow files (recon.datasets.records_file) and, without them,
from the database rows: the same results either way, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from run_helpers import Scene, finish_run, stored_results

from recon.config import Settings
from recon.core.db import SessionFactory
from recon.datasets import records_file
from recon.storage import get_store


def _run(client: TestClient, scene: Scene) -> dict[str, Any]:
    run = finish_run(client, scene)
    assert run["status"] == "succeeded", run
    return run


def test_same_results_from_the_files_and_from_the_database(
    client: TestClient,
    scene: Scene,
    session_factory: SessionFactory,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = get_store(settings)
    assert [o.key for o in store.list_objects(f"records/{scene.left_id}")]  # written by the ingestion
    reads: list[bool] = []
    real_read = records_file.read_records_file

    def counted(*args: Any) -> Any:
        table = real_read(*args)
        reads.append(table is not None)
        return table

    monkeypatch.setattr("recon.runs.execute.read_records_file", counted)
    from_files = _run(client, scene)
    assert reads == [True, True]

    for dataset_id in (scene.left_id, scene.right_id):
        records_file.delete_records_files(store, dataset_id)
    from_database = _run(client, scene)
    assert reads == [True, True, False, False]

    assert from_files["results_sha256"] == from_database["results_sha256"]
    assert from_files["summary"]["left"] == from_database["summary"]["left"]
    assert stored_results(session_factory, from_files["id"]) == stored_results(
        session_factory, from_database["id"]
    )
