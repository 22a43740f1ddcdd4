"""Runs: one reconciliation of two ready datasets with a pinned rule-set version, executed as a job."""
