"""Aggregates of cell indicators over areas, and the equity measures of access.

* **Weighted means.** An area's value of an indicator is the mean over its cells
  weighted by population (``_pop``) and by poor households (``_poor``, Filosofi's
  ``men_pauv``): what the average resident, and the average poor household, can reach.
  Cells whose value is unknown (off the street network; a service out of reach for the
  minutes indicators) are left out of the mean, and the share of population they hold
  is given for the minutes (``_unreached``).
* **Gini** of an access indicator across residents (each cell's value counted once per
  resident): 0 when everyone has the same access, towards 1 when a few have it all.
* **Palma ratio**: the mean access of the richest 10 % of residents over that of the
  poorest 40 %, residents ranked by their cell's standard of living (Filosofi
  ``ind_snv / ind``); above 1, the better-off reach more. (The transport-equity use of
  the income measure; see Guzman and Oviedo, 2018.)
* **Poor vs all**: the poor-household-weighted mean over the population-weighted mean
  (below 1: the poor reach less).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["area_means", "gini", "palma_ratio", "weighted_mean"]

FloatArray = npt.NDArray[np.float64]


def weighted_mean(values: npt.ArrayLike, weights: npt.ArrayLike) -> float:
    """Mean of the known ``values`` weighted by ``weights`` (NaN without weight)."""
    v = np.asarray(values, dtype=np.float64)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)
    known = np.isfinite(v) & (w > 0)
    total = w[known].sum()
    return float((v[known] * w[known]).sum() / total) if total > 0 else float("nan")


def gini(values: npt.ArrayLike, weights: npt.ArrayLike) -> float:
    """Weighted Gini coefficient of the known ``values`` (NaN when undefined).

    The area under the Lorenz curve of the values sorted ascending, each with its
    weight: ``1 - sum_i w_i (L_{i-1} + L_i)`` with ``L`` the cumulative share of the
    total and ``w`` the weight shares.
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)
    known = np.isfinite(v) & (w > 0)
    v, w = v[known], w[known]
    if not len(v) or (v * w).sum() <= 0:
        return float("nan")
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order] / w.sum()
    lorenz = np.cumsum(v * w) / (v * w).sum()
    previous = np.concatenate([[0.0], lorenz[:-1]])
    return float(1.0 - (w * (previous + lorenz)).sum())


def palma_ratio(values: npt.ArrayLike, income: npt.ArrayLike, weights: npt.ArrayLike) -> float:
    """Mean value of the richest 10 % of ``weights`` over that of the poorest 40 %.

    Residents are ranked by ``income`` (per person); a cell straddling a threshold is
    split by weight. NaN when a group has no known value or the poorest have none.
    """
    v = np.asarray(values, dtype=np.float64)
    y = np.asarray(income, dtype=np.float64)
    w = np.nan_to_num(np.asarray(weights, dtype=np.float64), nan=0.0)
    known = np.isfinite(v) & np.isfinite(y) & (w > 0)
    v, y, w = v[known], y[known], w[known]
    if not len(v):
        return float("nan")
    order = np.argsort(y, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w) / w.sum()
    start = cum - w / w.sum()

    def group_mean(lo: float, hi: float) -> float:
        share = np.clip(np.minimum(cum, hi) - np.maximum(start, lo), 0.0, None)
        return float((share * v).sum() / share.sum()) if share.sum() > 0 else float("nan")

    poorest = group_mean(0.0, 0.4)
    richest = group_mean(0.9, 1.0)
    return richest / poorest if poorest > 0 else float("nan")


def area_means(
    cells: pd.DataFrame,
    indicators: Sequence[str],
    by: str | None,
    *,
    minutes: Sequence[str] = (),
) -> pd.DataFrame:
    """Per area of column ``by`` (``None``: the whole territory), the weighted means.

    Parameters
    ----------
    cells
        ``population``, ``households``, ``poor_households`` and the indicators.
    indicators
        Columns to average (``<name>_pop``, ``<name>_poor``).
    by
        The area column (``commune``...).
    minutes
        Among the indicators, those in minutes: also ``<name>_unreached``, the share of
        the population whose value is unknown (out of reach), and
        ``<name>_unreached_households``, the households it rests on.

    Returns
    -------
    pandas.DataFrame
        ``area``, ``cells``, ``population``, ``households``, ``poor_households`` and the
        means, one row per area.
    """
    key = pd.Series("territory", index=cells.index) if by is None else cells[by]
    rows = []
    for area, part in cells.groupby(key.astype("string"), dropna=True, sort=True):
        row: dict[str, object] = {
            "area": str(area),
            "cells": len(part),
            "population": float(part["population"].sum()),
            "households": float(part["households"].sum()),
            "poor_households": float(part["poor_households"].sum()),
        }
        for name in indicators:
            values = part[name].to_numpy(dtype=np.float64)
            row[f"{name}_pop"] = weighted_mean(values, part["population"])
            row[f"{name}_poor"] = weighted_mean(values, part["poor_households"])
            if name in minutes:
                pop = part["population"].to_numpy(dtype=np.float64)
                hh = part["households"].to_numpy(dtype=np.float64)
                out = ~np.isfinite(values)
                row[f"{name}_unreached"] = (
                    float(pop[out].sum() / pop.sum()) if pop.sum() else np.nan
                )
                # Both sides of a share must rest on enough households (the caller checks).
                row[f"{name}_unreached_households"] = float(hh[out].sum())
        rows.append(row)
    return pd.DataFrame(rows)
