"""Backups of the platform's database: `recon backup create | list | restore | prune`.

PostgreSQL: `pg_dump --format=custom` (compressed) taken in an exported snapshot, so the row counts and
table checksums recorded in the manifest describe exactly the dumped data. SQLite (embedded mode): the online
backup API, gzip-compressed. Each backup is two objects under `<prefix>/<backup id>/`: the dump and
`manifest.json` (written last: a backup without a manifest is incomplete and ignored). A restore goes into an
empty database and is verified by the file's sha256, every table's row count and checksum, and the audit
chains (intact, with the heads recorded at backup time).
"""
