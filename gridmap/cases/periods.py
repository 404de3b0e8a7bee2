"""Periods of cases and patrols, labelled one way in every table: 2025-03-01, 2025-W09, 2025-03.

The labels are those :func:`gridmap.stats.summarize` writes and the case engines, the patrol summaries and
the satisfaction rates repeat, so tables of one city join on ``period``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridmap.io._columns import STRING_DTYPE
from gridmap.schema import PERIODS

__all__ = ["period_labels"]


def period_labels(periods: pd.Series | np.ndarray, period: str) -> pd.Series:
    """Label periods: a day as 2025-03-01, an ISO week as 2025-W09 (its Monday's ISO year), a month 2025-03.

    Parameters
    ----------
    periods : pandas.Series or numpy.ndarray
        A Series of pandas Periods (its index is kept), or their int64 ordinals at the frequency of
        ``period`` (the labels then have a RangeIndex).
    period : {"day", "week", "month"}
        One of :data:`gridmap.schema.PERIODS`.

    Returns
    -------
    pandas.Series
        Text labels, one per period.

    Examples
    --------
    >>> import pandas as pd
    >>> weeks = pd.Series(pd.period_range("2024-12-29", periods=2, freq="W-SUN"))
    >>> period_labels(weeks, "week").tolist()  # the week of 2024-12-30 is ISO 2025's first
    ['2024-W52', '2025-W01']
    >>> period_labels(pd.period_range("2025-03", periods=2, freq="M").asi8, "month").tolist()  # ordinals
    ['2025-03', '2025-04']
    """
    if isinstance(periods, np.ndarray):
        periods = pd.Series(pd.arrays.PeriodArray(periods, dtype=pd.PeriodDtype(PERIODS[period][0])))
    if period == "week":
        iso = periods.dt.start_time.dt.isocalendar()
        return (iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)).astype(STRING_DTYPE)
    return periods.astype(str).astype(STRING_DTYPE)
