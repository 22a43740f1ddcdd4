"""What must be identical across backends: groups (ids sorted), statuses, scores, reasons, the summary."""

from __future__ import annotations

import json
from typing import Any


def outcome(result: Any) -> dict[str, Any]:
    groups: dict[int, dict[str, Any]] = {}
    for row in result.matches.to_pylist():
        group = groups.setdefault(row["group_id"], {"left": [], "right": []})
        group[row["side"]].append(row["id"])
        group["key"] = (row["pass"], row["status"], round(row["score"], 9), row["explanation"] is not None)
    found = sorted((*g["key"], tuple(sorted(g["left"])), tuple(sorted(g["right"]))) for g in groups.values())
    reasons = {
        side: sorted(
            zip(
                getattr(result, f"unmatched_{side}").column("id").to_pylist(),
                getattr(result, f"unmatched_{side}").column("reason").to_pylist(),
                strict=True,
            )
        )
        for side in ("left", "right")
    }
    summary = json.loads(json.dumps(result.summary, sort_keys=True, default=str))
    return {"groups": found, "reasons": reasons, "summary": summary}


def explanations(result: Any) -> dict[tuple[str, ...], Any]:
    """Per group (its ids sorted) the explanation, parsed; scores in it to 4 places (Jaro-Winkler's last bit
    may differ across backends)."""
    found: dict[int, dict[str, Any]] = {}
    for row in result.matches.to_pylist():
        group = found.setdefault(row["group_id"], {"ids": [], "e": row["explanation"]})
        group["ids"].append(f"{row['side']}:{row['id']}")
    return {tuple(sorted(g["ids"])): json.loads(g["e"]) if g["e"] else None for g in found.values()}


def texts(result: Any) -> dict[tuple[str, ...], str | None]:
    """Per group (its ids sorted) the explanation as written (the bytes, not parsed)."""
    found: dict[int, dict[str, Any]] = {}
    for row in result.matches.to_pylist():
        group = found.setdefault(row["group_id"], {"ids": [], "e": row["explanation"]})
        group["ids"].append(f"{row['side']}:{row['id']}")
    return {tuple(sorted(g["ids"])): g["e"] for g in found.values()}
