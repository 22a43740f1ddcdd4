"""Business-day numbers of dates, for `within_business_days` (weekends and public holidays skipped).

A date's number is the count of business days from Monday 1970-01-05 up to (not including) the date, so
two dates are n business days apart when their numbers differ by n: Friday to Monday is 1, a Saturday or a
holiday counts as the next business day. Holidays come from the `holidays` package for a country code
(`DE`) or a country and subdivision (`DE-BY`), for the years the data covers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EPOCH = np.datetime64("1970-01-05", "D")  # a Monday


def holiday_dates(calendar: str, years: list[int]) -> np.ndarray:
    import holidays  # loaded only by rules that name a calendar

    country, _, subdivision = calendar.partition("-")
    table = holidays.country_holidays(country, subdiv=subdivision or None, years=years)
    return np.array(sorted(table.keys()), dtype="datetime64[D]")


def business_day_numbers(values: pa.Array | pa.ChunkedArray, calendar: str | None) -> pa.Array:
    """int64 business-day number per date (null stays null); timestamps count by their date."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_date32(values.type):
        values = (
            values.cast(pa.timestamp("us")).cast(pa.date32())
            if not pa.types.is_date(values.type)
            else (values.cast(pa.date32()))
        )
    days = np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    holidays = np.zeros(0, dtype="datetime64[D]")
    if calendar and len(days):
        present = days[np.asarray(pc.is_valid(values).to_numpy(zero_copy_only=False), bool)]
        if len(present):
            first, last = present.min().astype(object).year, present.max().astype(object).year
            holidays = holiday_dates(calendar, list(range(first - 1, last + 2)))
    numbers = np.busday_count(EPOCH, days, holidays=holidays).astype(np.int64)
    return pa.array(numbers, pa.int64(), mask=np.asarray(pc.is_null(values).to_numpy(False), bool))
