"""Band keys: blocking on a tolerance by bucketing values (see recon.engine.planner)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from recon.engine import sql

_BUCKET_LIMIT = 4.0e18  # within BIGINT (9.2e18) with room for the neighbour buckets' +-1


@dataclass(frozen=True)
class Band:
    """A bucket key from a tolerance: |left - right| <= tol implies shared bucket (see module doc)."""

    kind: str  # abs | pct | days (dates) | units (whole numbers, e.g. business-day numbers)
    tol: Decimal | int
    label: str

    def bucket(self, value: str) -> str:
        if self.kind == "pct":
            return f"CASE WHEN {value} = 0 THEN 0 ELSE {self._floor(self._scaled(value))} END"
        return self._floor(self._scaled(value))

    def low(self, value: str) -> str:
        if self.kind == "abs":
            return self._floor(self._scaled(f"({value} - {sql.literal(self.tol)})"))
        if self.kind in ("days", "units"):
            return self._floor(self._scaled(f"({value} - {int(self.tol)})"))
        return self._pct_edge(value, -1)

    def high(self, value: str) -> str:
        if self.kind == "abs":
            return self._floor(self._scaled(f"({value} + {sql.literal(self.tol)})"))
        if self.kind in ("days", "units"):
            return self._floor(self._scaled(f"({value} + {int(self.tol)})"))
        return self._pct_edge(value, 1)

    def sign(self, value: str) -> str | None:
        return f"sign({value})" if self.kind == "pct" else None

    def _width(self) -> float:
        if self.kind == "abs":
            return 2 * float(self.tol)
        if self.kind in ("days", "units"):
            return float(2 * int(self.tol) + 1)
        return -2 * math.log(1 - float(self.tol) / 100)

    def _scaled(self, value: str) -> str:
        if self.kind == "days":
            return f"(({value} - DATE '1970-01-01') / {self._width()!r})"
        if self.kind in ("abs", "units"):
            return f"(CAST({value} AS DOUBLE) / {self._width()!r})"
        return f"(ln(abs(CAST({value} AS DOUBLE))) / {self._width()!r})"

    def _floor(self, scaled: str) -> str:
        # Saturating: a tiny tolerance against a huge value (abs 1e-10, amount 1e14) would leave BIGINT's
        # range. Clamping is monotone, so pairs within the tolerance still share or neighbour a bucket; the
        # values beyond the clamp merely share the edge bucket (the exact condition is checked after).
        return f"CAST(floor(least(greatest({scaled}, {-_BUCKET_LIMIT!r}), {_BUCKET_LIMIT!r})) AS BIGINT)"

    def _pct_edge(self, value: str, direction: int) -> str:
        # ln|y| lies within ln|x| -+ -ln(1 - q); 1e-9 bucket slack absorbs floating-point rounding.
        shift = -math.log(1 - float(self.tol) / 100) / self._width()
        edge = self._floor(f"{self._scaled(value)} + {direction * shift + direction * 1e-9!r}")
        return f"CASE WHEN {value} = 0 THEN 0 ELSE {edge} END"

    def describe(self) -> str:
        width = {
            "abs": f"buckets of {2 * Decimal(self.tol)}",
            "days": f"buckets of {2 * int(self.tol) + 1} days",
            "units": f"buckets of {2 * int(self.tol) + 1} business days",
        }
        return f"band {self.label} ({width.get(self.kind, 'log-scale buckets')})"
