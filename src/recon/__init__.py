"""Reconciliation platform: ingest, match, review, prove."""

__version__ = "0.1.0"
