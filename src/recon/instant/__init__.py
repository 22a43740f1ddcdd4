"""Instant reconciliation: transactions pushed in one request are matched against the open items of a
dataset and answered in the same response (docs/adr/0017-instant-reconciliation.md)."""
