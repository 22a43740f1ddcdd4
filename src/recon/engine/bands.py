"""Band keys: blocking on a tolerance by bucketing values (see recon.engine.planner)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from recon.engine import sql


@dataclass(frozen=True)
class Band:
    """A bucket key from a tolerance: |left - right| <= tol implies shared bucket (see module doc)."""

    kind: str  # abs | pct | days
    tol: Decimal | int
    label: str

    def bucket(self, value: str) -> str:
        if self.kind == "pct":
            return f"CASE WHEN {value} = 0 THEN 0 ELSE {self._floor(self._scaled(value))} END"
        return self._floor(self._scaled(value))

    def low(self, value: str) -> str:
        if self.kind == "abs":
            return self._floor(self._scaled(f"({value} - {sql.literal(self.tol)})"))
        if self.kind == "days":
            return self._floor(self._scaled(f"({value} - {int(self.tol)})"))
        return self._pct_edge(value, -1)

    def high(self, value: str) -> str:
        if self.kind == "abs":
            return self._floor(self._scaled(f"({value} + {sql.literal(self.tol)})"))
        if self.kind == "days":
            return self._floor(self._scaled(f"({value} + {int(self.tol)})"))
        return self._pct_edge(value, 1)

    def sign(self, value: str) -> str | None:
        return f"sign({value})" if self.kind == "pct" else None

    def _width(self) -> float:
        if self.kind == "abs":
            return 2 * float(self.tol)
        if self.kind == "days":
            return float(2 * int(self.tol) + 1)
        return -2 * math.log(1 - float(self.tol) / 100)

    def _scaled(self, value: str) -> str:
        if self.kind == "days":
            return f"(({value} - DATE '1970-01-01') / {self._width()!r})"
        if self.kind == "abs":
            return f"(CAST({value} AS DOUBLE) / {self._width()!r})"
        return f"(ln(abs(CAST({value} AS DOUBLE))) / {self._width()!r})"

    def _floor(self, scaled: str) -> str:
        return f"CAST(floor({scaled}) AS BIGINT)"

    def _pct_edge(self, value: str, direction: int) -> str:
        # ln|y| lies within ln|x| -+ -ln(1 - q); 1e-9 bucket slack absorbs floating-point rounding.
        shift = -math.log(1 - float(self.tol) / 100) / self._width()
        edge = f"CAST(floor({self._scaled(value)} + {direction * shift + direction * 1e-9!r}) AS BIGINT)"
        return f"CASE WHEN {value} = 0 THEN 0 ELSE {edge} END"

    def describe(self) -> str:
        width = {
            "abs": f"buckets of {2 * Decimal(self.tol)}",
            "days": f"buckets of {2 * int(self.tol) + 1} days",
        }
        return f"band {self.label} ({width.get(self.kind, 'log-scale buckets')})"
