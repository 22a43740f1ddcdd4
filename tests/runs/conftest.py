"""Fixtures of the runs tests: a project with a preparer and the demo datasets and rule set uploaded."""

from __future__ import annotations

from run_helpers import scene_fixture

scene = scene_fixture()
