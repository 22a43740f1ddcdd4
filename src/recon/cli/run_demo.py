"""What `make run` does until the web platform exists: demo data (10k rows) into var/demo, match, summary.

Usable on its own: `python -m recon.cli.run_demo [--rows N] [--dir var/demo]`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from recon.cli import console
from recon.cli.console import BadInput
from recon.cli.match import MatchRequest, run_match
from recon.cli.report import RunProgress, render_summary


def main(argv: list[str] | None = None) -> int:
    from recon.demo import generate

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000, help="ledger rows (default 10000)")
    parser.add_argument(
        "--dir", type=Path, default=Path("var/demo"), help="where to write (default var/demo)"
    )
    args = parser.parse_args(argv)

    console.err.print(f"Generating {args.rows:,} demo ledger rows into {args.dir} ...")
    files = generate(args.rows, args.dir)
    request = MatchRequest(files.left, files.right, files.rules, args.dir / "out")
    try:
        with RunProgress(console.err) as progress:
            summary = run_match(request, progress)
    except BadInput as exc:
        for line in exc.lines:
            console.err.print(f"error: {line}", markup=False, soft_wrap=True)
        return console.EXIT_BAD_INPUT
    render_summary(console.out, summary, str(request.out))
    console.out.print(
        f"Try it yourself: uv run recon match {files.left} {files.right} --rules {files.rules} --out DIR",
        markup=False,
        soft_wrap=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
