"""The exact problem texts a bad run request answers with: the detail and the `errors` list (field and
message). The services name the command's fields and the endpoint places them under `body.`; these pin that
the API reads as it did when the services wrote `body.` themselves."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from run_helpers import Scene

from recon.core.db import SessionFactory, session_scope
from recon.models import Dataset, RuleSet

Problem = tuple[int, str, list[dict[str, str]]]


def _problem(response: Any) -> Problem:
    problem = response.json()
    return response.status_code, problem["detail"], problem["errors"]


def test_create_run_problems_name_the_body_fields(
    client: TestClient, scene: Scene, session_factory: SessionFactory
) -> None:
    url = f"/api/v1/projects/{scene.project.id}/runs"

    def post(**body: Any) -> Problem:
        return _problem(client.post(url, json=scene.run_body(**body), headers=scene.headers))

    with session_scope(session_factory) as session:
        ruleset = session.get(RuleSet, scene.ruleset_id)
        assert ruleset is not None
        name = ruleset.name
    assert post(left_dataset_id="nope") == (
        422,
        "a dataset of a run does not exist in this project",
        [{"field": "body.left_dataset_id", "message": "no dataset 'nope' in this project"}],
    )
    assert post(ruleset_version=9) == (
        422,
        f"rule set {name!r} has no version 9 (latest is 1)",
        [{"field": "body.ruleset_version", "message": "no version 9"}],
    )
    assert post(ruleset_id="x") == (
        422,
        "the rule set does not exist in this project",
        [{"field": "body.ruleset_id", "message": "no rule set 'x' here"}],
    )
    assert post(carry_forward_from="gone") == (
        422,
        "the run to carry forward from does not exist in this project",
        [{"field": "body.carry_forward_from", "message": "run 'gone'"}],
    )
    with session_scope(session_factory) as session:
        dataset = session.get(Dataset, scene.right_id)
        assert dataset is not None
        dataset.status = "ingesting"
    message = "dataset 'bank.csv' is ingesting; a run needs ready datasets"
    # The detail names the bare field: it always has (the errors list places it).
    assert post() == (
        409,
        f"right_dataset_id: {message}",
        [{"field": "body.right_dataset_id", "message": message}],
    )
