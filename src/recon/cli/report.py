"""Rich rendering of a run summary (the content of summary.json) and of the progress of a run."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from rich.console import Console, Group
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from recon.cli.match import Stage

STATUSES = ("matched", "suggested", "break", "unmatched", "rejected")


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value if value is not None else "-")


def _money(value: Any) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value if value is not None else "-")


def sides_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Records and amounts per side", title_justify="left")
    table.add_column("side")
    table.add_column("", style="dim")
    for name in ("rows/total", *STATUSES):
        table.add_column(name, justify="right")
    for side in ("left", "right"):
        figures = summary.get(side) or {}
        amounts = figures.get("amounts") or {}  # None when the rules name no amount column
        table.add_row(side, "records", *(_count(figures.get(k)) for k in ("rows", *STATUSES)))
        if amounts:
            table.add_row("", "amount", *(_money(amounts.get(k)) for k in ("total", *STATUSES)))
        table.add_section()
    return table


def passes_table(summary: dict[str, Any]) -> Table:
    table = Table(title="Passes", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("pass")
    table.add_column("kind")
    for name in ("groups", "left", "right", "matched", "suggested", "break"):
        table.add_column(name, justify="right")
    for index, item in enumerate(summary.get("passes", []), start=1):
        figures = (item.get(k) for k in ("groups", "left", "right", "matched", "suggested", "break"))
        table.add_row(str(index), item.get("name", "?"), item.get("kind", ""), *(_count(v) for v in figures))
    return table


def _reasons(summary: dict[str, Any]) -> str:
    parts = []
    for side, reasons in summary.get("unmatched_reasons", {}).items():
        listed = ", ".join(f"{reason} {_count(n)}" for reason, n in sorted(reasons.items()) if n)
        parts.append(f"{side}: {listed or 'none'}")
    return "unmatched reasons — " + "; ".join(parts) if parts else ""


def _footer(summary: dict[str, Any], out_dir: str) -> str:
    checks = summary.get("checks", {})
    marks = ", ".join(f"{name} {'ok' if ok else 'FAILED'}" for name, ok in checks.items())
    elapsed = summary.get("elapsed_s")
    took = f" in {elapsed:.2f} s" if isinstance(elapsed, (int, float)) else ""
    return f"checks: {marks or '-'}; engine {summary.get('engine_version', '?')}; written to {out_dir}{took}"


PLAIN_WIDTH = 120  # for pipes and logs, where Rich would assume 80 columns and truncate cells


def render_summary(console: Console, summary: dict[str, Any], out_dir: str) -> None:
    if not console.is_terminal and console.width < PLAIN_WIDTH:
        console = Console(file=console.file, width=PLAIN_WIDTH, highlight=False)
    console.print(Group(sides_table(summary), passes_table(summary)))
    reasons = _reasons(summary)
    if reasons:
        console.print(reasons, soft_wrap=True)
    console.print(_footer(summary, out_dir), soft_wrap=True)


def render_profile(console: Console, profile: dict[str, Any]) -> None:
    """The stages of a run in the order they ended: wall and CPU seconds, the thread that ran them."""
    if not console.is_terminal and console.width < PLAIN_WIDTH:
        console = Console(file=console.file, width=PLAIN_WIDTH, highlight=False)
    table = Table(title=f"Profile: {profile['total_s']:.2f} s in total", title_justify="left")
    table.add_column("stage")
    for name in ("start s", "wall s", "cpu s", "RSS MB", "peak MB"):
        table.add_column(name, justify="right")
    table.add_column("thread", style="dim")
    for item in profile["stages"]:
        table.add_row(
            item["name"],
            f"{item['started_s']:.2f}",
            f"{item['wall_s']:.3f}",
            f"{item['cpu_s']:.3f}",
            f"{item.get('rss_mb', 0):.0f}",
            f"{item.get('peak_mb', 0):.0f}",
            item["thread"],
        )
    console.print(table)


class RunProgress:
    """A Rich progress display: one line per reading/writing step and one bar per pass of the waterfall."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(None, None, None)

    def __call__(self, event: Any) -> None:
        if isinstance(event, Stage):
            self._step(event.name, event.state, event.detail)
            return
        label = f"pass {event.pass_index + 1}/{event.passes} {event.pass_name}"
        detail = f"{event.groups:,} groups, {event.left:,} left, {event.right:,} right"
        self._step(label, event.stage, detail if event.stage == "done" else "")

    def _step(self, name: str, state: str, detail: str) -> None:
        if state == "start" or name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=1, detail=detail)
        if state == "done":
            self.progress.update(self.tasks[name], completed=1, detail=detail)
