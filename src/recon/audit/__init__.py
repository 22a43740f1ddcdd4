"""Audit trail: append-only, hash-chained events (`recon.audit.service.record_event`)."""
