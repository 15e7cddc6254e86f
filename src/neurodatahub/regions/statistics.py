"""The two statistic tiers, computed for every region at once from voxels grouped by region.

`extended` reproduces qsiparc 0.1.2, whose numbers come from parcellate 0.4.2 (docs/kinds/regions.md):
nan-aware mean, median, sum; std with ddof 0; scipy's biased skewness and excess kurtosis with NaN
omitted; linear percentiles; z, IQR and MAD filtered means and stds with parcellate's fall-backs; cv and
robust_cv that turn NaN as soon as a region holds one. Each quantity is computed with the same
floating-point operations in the same order as those libraries, so the numbers are identical.
`basic` is the documented spec: std with ddof 1 and bias-corrected skewness and kurtosis.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from neurodatahub.regions.segments import Segments

CV_EPSILON = 1e-10  # parcellate's guard against a zero denominator in cv and robust_cv
Z_LIMIT = 3.0
IQR_FACTOR = 1.5
MAD_SCALE = 0.6745
MAD_LIMIT = 3.5
EPS = np.finfo(np.float64).eps

Columns = dict[str, np.ndarray]


def _per_region(function: Callable[..., float], *columns: np.ndarray) -> np.ndarray:
    """A scalar formula applied region by region, with Python floats as scipy does on 0-d results."""
    rows = zip(*(column.tolist() for column in columns), strict=True)
    return np.fromiter((function(*row) for row in rows), np.float64, len(columns[0]))


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN where the denominator is not positive (numpy's nan-function rule)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


@dataclass(frozen=True)
class Moments:
    """Mean and sum of squared deviations of grouped, NaN-free values, as np.mean and np.var form them."""

    values: np.ndarray
    segments: Segments

    @cached_property
    def count(self) -> np.ndarray:
        return self.segments.counts

    @cached_property
    def total(self) -> np.ndarray:
        return self.segments.sum(self.values)

    @cached_property
    def mean(self) -> np.ndarray:
        return _divide(self.total, self.count)

    def deviations(self) -> np.ndarray:
        """Per-voxel deviations from the segment mean; recomputed, not kept, so memory stays bounded."""
        return self.values - self.segments.spread(self.mean)

    @cached_property
    def sum_squares(self) -> np.ndarray:
        deviations = self.deviations()
        return self.segments.sum(deviations * deviations)

    @cached_property
    def m2(self) -> np.ndarray:
        return _divide(self.sum_squares, self.count)

    def std(self, ddof: int = 0) -> np.ndarray:
        return np.sqrt(_divide(self.sum_squares, self.count - ddof))

    @cached_property
    def m3_m4(self) -> tuple[np.ndarray, np.ndarray]:
        """Third and fourth central moments, formed as scipy forms them: d*d*d and (d*d)*(d*d)."""
        deviations = self.deviations()
        squares = deviations * deviations
        third = self.segments.sum(squares * deviations)
        squares *= squares
        return _divide(third, self.count), _divide(self.segments.sum(squares), self.count)

    @cached_property
    def constant(self) -> np.ndarray:
        """scipy's test for data too close to constant to have a shape (its skew and kurtosis are NaN)."""
        with np.errstate(invalid="ignore"):
            return self.m2 <= (EPS * self.mean) ** 2

    def skewness(self, bias: bool) -> np.ndarray:
        def one(n: int, m2: float, m3: float, constant: bool) -> float:
            if constant or n == 0:
                return np.nan
            if not bias and n > 2:
                return ((n - 1.0) * n) ** 0.5 / (n - 2.0) * m3 / m2**1.5
            return m3 / m2**1.5

        return _per_region(one, self.count, self.m2, self.m3_m4[0], self.constant)

    def excess_kurtosis(self, bias: bool) -> np.ndarray:
        def one(n: int, m2: float, m4: float, constant: bool) -> float:
            if constant or n == 0:
                return np.nan
            if not bias and n > 3:
                corrected = 1.0 / (n - 2) / (n - 3) * ((n**2 - 1.0) * m4 / m2**2.0 - 3 * (n - 1) ** 2.0)
                return (corrected + 3.0) - 3
            return m4 / m2**2.0 - 3

        return _per_region(one, self.count, self.m2, self.m3_m4[1], self.constant)


def percentile(ordered: np.ndarray, segments: Segments, q: float) -> np.ndarray:
    """numpy's linear percentile of every (sorted, NaN-free) segment; NaN for an empty one."""
    n = segments.counts
    virtual = (n - 1) * (q / 100)
    last = virtual >= n - 1
    below = np.where(last, -1, np.floor(virtual)).astype(np.int64)
    gamma = virtual - below
    filled = n > 0
    at = np.where(last, segments.ends - 1, segments.starts + below)
    at = np.where(filled, at, 0)
    if not ordered.size:
        return np.full(len(segments), np.nan)
    low = ordered[at]
    high = ordered[np.where(last | ~filled, at, at + 1)]
    with np.errstate(invalid="ignore"):
        diff = high - low
        value = np.where(gamma >= 0.5, high - diff * (1 - gamma), low + diff * gamma)
    return np.where(filled, value, np.nan)


def median(ordered: np.ndarray, segments: Segments) -> np.ndarray:
    """np.median of every (sorted, NaN-free) segment: the middle value, or the mean of the two."""
    n = segments.counts
    if not ordered.size:
        return np.full(len(segments), np.nan)
    upper = np.where(n > 0, segments.starts + n // 2, 0)
    lower = np.where(n % 2 == 0, np.maximum(upper - 1, 0), upper)
    return np.where(n > 0, (ordered[lower] + ordered[upper]) / 2, np.nan)


def median_deviation(ordered: np.ndarray, segments: Segments, centre: np.ndarray) -> np.ndarray:
    """The median of |x - centre| in every (sorted, NaN-free) segment, without sorting the deviations.

    The sorted values already give them as two ascending runs: centre - x for the values below the
    centre, read backwards, and x - centre from there on (the same numbers as |x - centre|: a - b is
    exactly -(b - a) in floating point). The middle of two sorted runs is found by a binary search on
    how many to take from each, every region at once: a few dozen passes over one number per region
    instead of sorting every voxel's deviation again.
    """
    n = segments.counts
    if not ordered.size:
        return np.full(len(segments), np.nan)
    starts = segments.starts
    bounds = zip(starts.tolist(), segments.ends.tolist(), centre.tolist(), strict=True)
    below = np.array([np.searchsorted(ordered[start:end], value) for start, end, value in bounds], np.int64)
    last = ordered.size - 1

    def under(taken: np.ndarray) -> np.ndarray:  # the deviation of the `taken`-th value below the centre
        return centre - ordered[np.clip(starts + below - 1 - taken, 0, last)]

    def over(taken: np.ndarray) -> np.ndarray:  # the deviation of the `taken`-th value from it on
        return ordered[np.clip(starts + below + taken, 0, last)] - centre

    def smallest(rank: np.ndarray) -> np.ndarray:  # the rank-th smallest deviation (0-based)
        wanted, runs_below, runs_over = rank + 1, below, n - below
        low = np.maximum(0, wanted - runs_over)
        high = np.minimum(wanted, runs_below)
        while (active := low < high).any():
            taken = (low + high) // 2
            rest = wanted - taken
            more = active & (taken < runs_below) & (rest > 0) & (under(taken) < over(rest - 1))
            low = np.where(more, taken + 1, low)
            high = np.where(active & ~more, taken, high)
        rest = wanted - low
        with np.errstate(invalid="ignore"):
            return np.maximum(
                np.where(low > 0, under(low - 1), -np.inf), np.where(rest > 0, over(rest - 1), -np.inf)
            )

    upper = n // 2
    lower = np.where(n % 2 == 0, np.maximum(upper - 1, 0), upper)
    return np.where(n > 0, (smallest(lower) + smallest(upper)) / 2, np.nan)


@dataclass(frozen=True)
class Grouped:
    """One scalar's values grouped by region, and what both tiers derive from them."""

    values: np.ndarray  # grouped, NaN where the scalar is missing
    segments: Segments

    @cached_property
    def finite(self) -> np.ndarray:
        return ~np.isnan(self.values)

    @cached_property
    def clean(self) -> Moments:
        """The non-NaN values (what scipy's nan_policy='omit' keeps)."""
        if self.finite.all():
            return Moments(self.values, self.segments)
        return Moments(*self.segments.select(self.values, self.finite))

    @cached_property
    def nan_aware(self) -> Moments:
        """np.nanmean and np.nanvar: NaN replaced by 0, summed over the whole segment, then corrected."""
        if self.finite.all():
            return self.clean
        zeroed = np.where(self.finite, self.values, 0.0)
        return _NanAware(zeroed, self.segments, self.finite, self.clean.count)

    @cached_property
    def ordered(self) -> np.ndarray:
        return self.clean.segments.sorted(self.clean.values)

    def percentile(self, q: float) -> np.ndarray:
        return percentile(self.ordered, self.clean.segments, q)

    @cached_property
    def median(self) -> np.ndarray:
        return median(self.ordered, self.clean.segments)

    @cached_property
    def mad(self) -> np.ndarray:
        """Median absolute deviation from the median, unscaled."""
        return median_deviation(self.ordered, self.clean.segments, self.median)

    @cached_property
    def coverage(self) -> np.ndarray:
        return _divide(self.clean.count.astype(np.float64), self.segments.counts)

    @cached_property
    def has_nan(self) -> np.ndarray:
        return self.clean.count < self.segments.counts

    def filtered(self, keep: np.ndarray) -> Moments:
        return Moments(*self.segments.select(self.values, keep))


@dataclass(frozen=True)
class _NanAware(Moments):
    """Moments over whole segments whose NaNs were replaced by 0, divided by the non-NaN count."""

    finite: np.ndarray
    valid: np.ndarray

    @cached_property
    def count(self) -> np.ndarray:
        return self.valid

    def deviations(self) -> np.ndarray:
        return np.where(self.finite, self.values - self.segments.spread(self.mean), 0.0)


def basic(grouped: Grouped) -> Columns:
    """The documented columns: std ddof 1, bias-corrected shape, n_voxels and coverage."""
    nan_aware, clean = grouped.nan_aware, grouped.clean
    return {
        "mean": nan_aware.mean,
        "median": grouped.median,
        "std": nan_aware.std(ddof=1),
        "iqr": grouped.percentile(75) - grouped.percentile(25),
        "skewness": clean.skewness(bias=False),
        "kurtosis": clean.excess_kurtosis(bias=False),
        "n_voxels": clean.count,
        "coverage": grouped.coverage,
    }


def extended(grouped: Grouped, voxel_volume: np.float32) -> Columns:
    """parcellate 0.4.2's extended tier (under the hub's field names: kurtosis is excess kurtosis)."""
    nan_aware, clean, values = grouped.nan_aware, grouped.clean, grouped.values
    mean, std = nan_aware.mean, nan_aware.std()
    p25, p75 = grouped.percentile(25), grouped.percentile(75)
    spread = grouped.segments.spread
    with np.errstate(invalid="ignore", divide="ignore"):
        z_kept = grouped.filtered(np.abs((values - spread(mean)) / spread(std)) <= Z_LIMIT)
        iqr = p75 - p25
        fences = (values >= spread(p25 - IQR_FACTOR * iqr)) & (values <= spread(p75 + IQR_FACTOR * iqr))
        iqr_kept = grouped.filtered(fences)
        mad = grouped.mad
        robust_kept = grouped.filtered(
            np.abs(MAD_SCALE * (values - spread(grouped.median)) / spread(mad)) <= MAD_LIMIT
        )
        cv = np.where(grouped.has_nan, np.nan, std / (mean + CV_EPSILON))
        robust_cv = np.where(grouped.has_nan, np.nan, iqr / (grouped.median + CV_EPSILON))
    z_empty, iqr_empty, robust_empty = (kept.count == 0 for kept in (z_kept, iqr_kept, robust_kept))
    return {
        "volume_mm3": (clean.count.astype(np.float32) * voxel_volume).astype(np.float64),
        "voxel_count": np.bincount(grouped.segments.ids[values != 0], minlength=len(grouped.segments)),
        "z_filtered_mean": np.where((std == 0) | z_empty, mean, z_kept.mean),
        "z_filtered_std": np.where(std == 0, 0.0, np.where(z_empty, std, z_kept.std())),
        "iqr_filtered_mean": np.where(iqr_empty, mean, iqr_kept.mean),
        "iqr_filtered_std": np.where(iqr_empty, std, iqr_kept.std()),
        "robust_mean": np.where(mad == 0, mean, np.where(robust_empty, grouped.median, robust_kept.mean)),
        "robust_std": np.where((mad == 0) | robust_empty, std, robust_kept.std()),
        "mad_median": mad,
        "mean": mean,
        "std": std,
        "median": grouped.median,
        "sum": nan_aware.total,
        "cv": cv,
        "robust_cv": robust_cv,
        "skewness": clean.skewness(bias=True),
        "kurtosis": clean.excess_kurtosis(bias=True),
        "percentile_5": grouped.percentile(5),
        "percentile_25": p25,
        "percentile_75": p75,
        "percentile_95": grouped.percentile(95),
        "coverage": grouped.coverage,
    }


def voxel_volume(affine: np.ndarray) -> np.float32:
    """mm3 per voxel as parcellate gets it: the affine's voxel sizes as float32, multiplied in float32."""
    zooms = np.sqrt(np.sum(affine[:3, :3] * affine[:3, :3], axis=0)).astype(np.float32)
    return np.multiply.reduce(zooms)
