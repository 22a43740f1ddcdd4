"""Constants and small helpers shared by the dataset tests (fixtures live in conftest.py)."""

from __future__ import annotations

from recon.models import Project

WAIT_S = 60.0  # a deadline for ingestion jobs, not a timing assertion

LEDGER_CSV = (
    b"id,date,amount,currency,reference,counterparty,description,branch\n"
    b"L1,2024-01-02,100.00,EUR,INV-1,Acme,first,north\n"
    b"L2,2024-01-03,-25.50,EUR,INV-2,Beta,second,south\n"
    b"L3,2024-01-04,7.25,USD,INV-3,Gamma,third,\n"
)


def datasets_url(project: Project | str) -> str:
    project_id = project if isinstance(project, str) else project.id
    return f"/api/v1/projects/{project_id}/datasets"
