"""Regenerate migrations/versions/0001_initial.py from the complete model metadata.

While the project is young there is one initial migration. After adding or changing models (and importing them
in recon/models/__init__.py), run:  uv run python scripts/regen_initial_migration.py
It autogenerates against an empty temporary SQLite database (render_as_batch) and leaves later migrations
(0002_..., which build on "0001") untouched. Then run the parity test:
    uv run pytest tests/api/test_migrations.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from recon.config import Settings
from recon.core.migrations import alembic_config

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ROOT / "migrations" / "versions"
INITIAL = VERSIONS / "0001_initial.py"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        parked = tmp_path / "parked"
        parked.mkdir()
        # Later migrations point at 0001; park them while 0001 is regenerated.
        later = [p for p in VERSIONS.glob("*.py") if p.name != INITIAL.name]
        for path in later:
            shutil.move(path, parked / path.name)
        INITIAL.unlink(missing_ok=True)
        try:
            settings = Settings(
                database_url=f"sqlite:///{tmp_path / 'empty.db'}",
                data_dir=tmp_path,
                migrations_dir=ROOT / "migrations",
            )
            command.revision(alembic_config(settings), message="initial", autogenerate=True, rev_id="0001")
            generated = next(VERSIONS.glob("0001_*.py"))
            generated.rename(INITIAL)
            # Stable output: the same models give the same file (no timestamp churn in diffs).
            text = re.sub(
                r"^Create Date: .*$",
                "Create Date: (regenerated from the models)",
                INITIAL.read_text(),
                count=1,
                flags=re.M,
            )
            INITIAL.write_text(text)
        finally:
            for path in parked.iterdir():
                shutil.move(path, VERSIONS / path.name)
    subprocess.run(["ruff", "format", str(INITIAL)], check=False, cwd=ROOT)  # noqa: S603, S607
    print(f"wrote {INITIAL.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
