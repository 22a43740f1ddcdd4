"""`python -m recon.cli ...` runs the `recon` command line (used by the benchmark and tests)."""

from recon.cli.main import app

app(prog_name="recon")
