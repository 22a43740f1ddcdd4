"""Exports of a run's results (groups, unmatched, breaks, audit trail) as CSV, XLSX or JSON lines.

Produced by the `export_run` job into object storage and downloaded through the API; small sections can also
be streamed directly as CSV. Text cells are neutralised against spreadsheet formula injection.
"""
