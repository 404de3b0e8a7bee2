"""Class breaks of a choropleth: quantiles and Fisher-Jenks, as mapclassify computes them, in numpy.

mapclassify's ``Quantiles`` and ``FisherJenks`` give the breaks the maps have always used, but importing
mapclassify imports ``scipy.stats`` (about 2.5 s of CPU, more than writing a whole city's map), and its
Fisher-Jenks without numba runs three nested Python loops. These two functions give the very same breaks
— the same floating-point operations in the same order (tests compare them with mapclassify's) — in a few
milliseconds.

Examples
--------
>>> quantile_bins(np.arange(1000.0), 4).tolist()
[249.75, 499.5, 749.25, 999.0]
>>> fisher_jenks_bins(np.array([1.0, 2, 3, 10, 11, 12, 30]), 3).tolist()
[3.0, 12.0, 30.0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["quantile_bins", "fisher_jenks_bins"]


def quantile_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Return the upper bounds of ``k`` quantile classes, repeats dropped (``mapclassify.Quantiles().bins``).

    Each break is scipy's ``scoreatpercentile`` of the sorted values (linear interpolation between the two
    values around the rank, as ``(a * (j - idx) + b * (idx - i)) / ((j - idx) + (idx - i))``).
    """
    ordered = np.sort(np.asarray(values, dtype=float).ravel())
    step = 100.0 / k
    percents = np.arange(step, 100 + step, step)
    if percents[-1] > 100.0:
        percents[-1] = 100.0
    breaks = []
    for percent in percents.tolist():
        idx = percent / 100.0 * (len(ordered) - 1)
        i = int(idx)
        if i == idx:
            breaks.append(ordered[i] * 1.0 / 1.0)
        else:
            low, high = i + 1 - idx, idx - i
            breaks.append((ordered[i] * low + ordered[i + 1] * high) / (low + high))
    return np.unique(np.array(breaks))


def fisher_jenks_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Return the upper bounds of ``k`` Fisher-Jenks classes (``mapclassify.FisherJenks(values, k).bins``).

    The dynamic programme of mapclassify's ``_fisher_jenks_means`` (single precision, like it), with the
    loops over the first value of the last class and over the number of classes done by numpy: for each
    end ``n`` and class count ``j`` the best split is the smallest ``v(m) + cost(n - m, j - 1)``, ties going
    to the longest last class, as mapclassify's ``>=`` gives.
    """
    x = np.sort(np.asarray(values, dtype=float).ravel())
    n = len(x)
    split = np.zeros((n + 1, k + 1), dtype=np.int32)
    cost = np.zeros((n + 1, k + 1), dtype=np.float32)
    split[1, 1:] = 1
    cost[2:, 1:] = np.inf
    single = x.astype(np.float32)
    for end in range(2, n + 1):
        tail = single[:end][::-1]  # the last class's values, from the end backwards (m = 1, 2, ...)
        s1 = np.cumsum(tail, dtype=np.float32)
        s2 = np.cumsum(tail * tail, dtype=np.float32)
        w = np.arange(1, end + 1, dtype=np.float32)
        v = s2 - (s1 * s1) / w  # within-class variance sum of the last m values
        if end > 1 and k > 1:
            before = end - np.arange(1, end)  # i4 = end - m, for m = 1 .. end - 1
            candidates = v[:end - 1, None] + cost[before, 1:k]  # classes 2 .. k: cost of the rest with j - 1
            best = candidates.min(axis=0)
            last = end - 2 - np.argmax((candidates == best)[::-1], axis=0)  # the largest m reaching it
            better = best <= cost[end, 2:]
            cost[end, 2:] = np.where(better, best, cost[end, 2:])
            split[end, 2:] = np.where(better, end - last, split[end, 2:])  # i3 = end - m + 1, m = last + 1
        split[end, 1] = 1
        cost[end, 1] = v[-1]
    out = np.zeros(k + 1, dtype=x.dtype)
    out[k] = x[n - 1]
    out[0] = x[0]
    at = n
    for count in range(k, 1, -1):
        pivot = split[at, count]
        out[count - 1] = x[int(pivot - 2)]
        at = int(pivot - 1)
    return np.delete(out, 0)
