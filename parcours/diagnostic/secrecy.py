"""The statistical secret of committee outputs (DESIGN.md, "Secrecy"), defined once.

Anything shown to a steering committee is aggregated: no grid or zone statistic over fewer
than :data:`MIN_HOUSEHOLDS` households (INSEE's statistical-secret rule), no caseload
statistic over fewer than :data:`MIN_PEOPLE` beneficiaries; no commuting share over fewer
than :data:`MOBPRO_MIN_WORKERS` weighted workers (a precision rule of INSEE's census).

The household threshold is INSEE's, which its sources already obey (Filosofi imputes its
small cells): its value lives in :mod:`parcours.territories.sources`, the lowest level that
every user may import, and is re-exported here, its public home.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from parcours.territories.sources import INSEE_SECRET_MIN_HOUSEHOLDS, SECRET_MIN_BENEFICIARIES

__all__ = [
    "MIN_HOUSEHOLDS",
    "MIN_PEOPLE",
    "MOBPRO_MIN_WORKERS",
    "Publication",
    "is_secret",
    "leaks",
    "publication",
]

#: No grid or zone figure is published over fewer households (INSEE's statistical secret).
MIN_HOUSEHOLDS: int = INSEE_SECRET_MIN_HOUSEHOLDS

#: No caseload figure is published over fewer beneficiaries.
MIN_PEOPLE: int = SECRET_MIN_BENEFICIARIES

#: No commuting share (INSEE MOBPRO) is published over fewer weighted workers. Not a
#: confidentiality rule but one of precision: the census's « exploitation complémentaire »
#: is a sample, and INSEE's documentation of the MOBPRO detail file says that counts above
#: 500 may be used with confidence while counts below 200 must be handled with care, being
#: possibly not significant (https://www.insee.fr/fr/information/2383243, « Conseils
#: d'utilisation »). Figures under it are marked fragile and their shares not given.
MOBPRO_MIN_WORKERS: int = 200


def is_secret(count: float, *, threshold: int = MIN_HOUSEHOLDS) -> bool:
    """Whether a figure resting on ``count`` units must be hidden (0 < count < threshold).

    A figure over nobody (0) reveals nothing about anyone and is published. Counts are
    rounded to 1e-6 first: a difference of decimal sums (Filosofi publishes decimals)
    that is zero up to rounding is zero.
    """
    return 0 < round(float(count), 6) < threshold


# --------------------------------------------------------------------------- publication


@dataclass
class Publication:
    """What may be published of cells grouped in areas, under the statistical secret.

    Attributes
    ----------
    cell_secret
        One flag per cell: its figures are not published.
    unit_secret
        Per area type (``"commune"``...), the codes of the areas not published.
    primary_cells, secondary_cells
        How many cells are hidden for resting on fewer than :data:`MIN_HOUSEHOLDS`
        households, and how many more so that no hidden figure can be recovered by
        difference.
    """

    cell_secret: npt.NDArray[np.bool_]
    unit_secret: dict[str, set[str]] = field(default_factory=dict)
    primary_cells: int = 0
    secondary_cells: int = 0


def _groups(codes: npt.ArrayLike) -> dict[str, npt.NDArray[np.int64]]:
    values = pd.Series(codes, dtype="string")
    out: dict[str, npt.NDArray[np.int64]] = {}
    for code, rows in values.groupby(values, dropna=True).indices.items():
        out[str(code)] = np.asarray(rows, dtype=np.int64)
    return out


def _containment(
    types: Mapping[str, npt.NDArray[np.object_]],
    groups: Mapping[str, Mapping[str, npt.NDArray[np.int64]]],
) -> dict[tuple[str, str], dict[str, list[str]]]:
    """Per (parent type, child type), the child areas lying wholly inside each parent area.

    A child equal to its parent (same cells) is left out: their difference is empty.
    """
    out: dict[tuple[str, str], dict[str, list[str]]] = {}
    for parent, parent_codes in types.items():
        for child, by_code in groups.items():
            if child == parent:
                continue
            inside: dict[str, list[str]] = {}
            for code, rows in by_code.items():
                owners = pd.Series(parent_codes[rows], dtype="string")
                if owners.isna().any() or owners.nunique() != 1:
                    continue
                owner = str(owners.iloc[0])
                if len(rows) < len(groups[parent][owner]):
                    inside.setdefault(owner, []).append(code)
            out[parent, child] = inside
    return out


def publication(
    households: npt.ArrayLike,
    areas: Mapping[str, npt.ArrayLike],
    *,
    threshold: int = MIN_HOUSEHOLDS,
) -> Publication:
    """Hide cells and areas so that no published figure rests on too few households.

    Parameters
    ----------
    households
        Households of each cell (Filosofi's ``men``; decimals allowed).
    areas
        Per area type (``"commune"``, ``"epci"``, ``"employment_zone"``...), the code of
        each cell's area (missing: none). The territory as a whole is added.
    threshold
        Fewest households a published figure may rest on.

    Returns
    -------
    Publication
        The cells and areas to hide.

    Notes
    -----
    The rules, applied until nothing changes:

    1. **primary**: a cell or an area with ``0 < households < threshold`` is hidden;
    2. **cells by difference**: in every published area, the hidden cells together hold
       none or at least ``threshold`` households (an area's total minus its published
       cells would give them): otherwise the smallest published cell of the area is
       hidden too;
    3. **areas by difference**: for every published area and the published areas of
       another type lying wholly inside it, the area minus any one of them, and minus
       all of them, rests on none or at least ``threshold`` households (an EPCI minus
       one of its communes or minus all its published communes, an employment zone
       minus a commune inside it): otherwise that inner area (for the union, the
       smallest) is hidden too. The territory counts as an area.

    Shares are published with their complement only when both rest on enough
    households (:func:`is_secret` on each side, by the caller).
    """
    hh = np.nan_to_num(np.asarray(households, dtype=np.float64), nan=0.0)
    n = len(hh)
    types = {
        name: np.asarray(pd.Series(codes, dtype="string").to_numpy())
        for name, codes in areas.items()
    }
    types["territory"] = np.full(n, "territory", dtype=object)
    groups = {name: _groups(codes) for name, codes in types.items()}
    totals = {
        name: {code: float(hh[rows].sum()) for code, rows in by_code.items()}
        for name, by_code in groups.items()
    }
    containment = _containment(types, groups)
    cell_secret = np.array([is_secret(v, threshold=threshold) for v in hh], dtype=bool)
    primary = int(cell_secret.sum())
    unit_secret: dict[str, set[str]] = {name: set() for name in types}
    for name, by_code in groups.items():
        for code, rows in by_code.items():
            if is_secret(hh[rows].sum(), threshold=threshold):
                unit_secret[name].add(code)
    changed = True
    while changed:
        changed = False
        for name, by_code in groups.items():
            for code, rows in by_code.items():
                if code in unit_secret[name]:
                    continue
                while is_secret(hh[rows][cell_secret[rows]].sum(), threshold=threshold):
                    open_rows = rows[~cell_secret[rows]]
                    if not len(open_rows):
                        break
                    cell_secret[open_rows[np.argmin(hh[open_rows])]] = True
                    changed = True
        for parent, child in containment:
            for code in groups[parent]:
                if code in unit_secret[parent]:
                    continue
                inside = [
                    b
                    for b in containment[parent, child].get(code, ())
                    if b not in unit_secret[child]
                ]
                # The parent minus one of the areas inside it, then minus all of them.
                for b in inside:
                    if is_secret(totals[parent][code] - totals[child][b], threshold=threshold):
                        unit_secret[child].add(b)
                        changed = True
                inside = [b for b in inside if b not in unit_secret[child]]
                rest = totals[parent][code] - sum(totals[child][b] for b in inside)
                if inside and is_secret(rest, threshold=threshold):
                    unit_secret[child].add(min(inside, key=lambda b: (totals[child][b], b)))
                    changed = True
    if not unit_secret["territory"]:
        del unit_secret["territory"]
    return Publication(
        cell_secret=cell_secret,
        unit_secret=unit_secret,
        primary_cells=primary,
        secondary_cells=int(cell_secret.sum()) - primary,
    )


def leaks(
    households: npt.ArrayLike,
    areas: Mapping[str, npt.ArrayLike],
    published: Publication,
    *,
    threshold: int = MIN_HOUSEHOLDS,
) -> list[str]:
    """Every way a hidden figure could be recovered from what is published (empty: none).

    Checked independently of :func:`publication`: each published cell and area rests on
    at least ``threshold`` households; the difference between a published area and its
    published cells, and between a published area and the published areas of another
    type inside it, rests on none or at least ``threshold``; and so does the difference
    between two published areas when one contains the other.
    """
    hh = np.nan_to_num(np.asarray(households, dtype=np.float64), nan=0.0)
    out: list[str] = []
    open_cells = ~published.cell_secret
    for i in np.flatnonzero(open_cells & (hh > 0) & (hh < threshold)):
        out.append(f"cell {i}: {hh[i]:g} households")
    sets: list[tuple[str, str, npt.NDArray[np.bool_]]] = [
        ("territory", "territory", np.ones(len(hh), bool))
    ]
    for name, codes in areas.items():
        values = pd.Series(codes, dtype="string")
        for code in values.dropna().unique():
            if str(code) not in published.unit_secret.get(name, set()):
                sets.append((name, str(code), (values == code).fillna(False).to_numpy()))
    if published.unit_secret.get("territory"):
        sets = sets[1:]
    for name, code, member in sets:
        total = hh[member].sum()
        if is_secret(total, threshold=threshold):
            out.append(f"{name} {code}: {total:g} households")
        hidden = hh[member & ~open_cells].sum()
        if is_secret(hidden, threshold=threshold):
            out.append(f"{name} {code} minus its published cells: {hidden:g} households")
    for a_name, a_code, a in sets:
        for b_name in {name for name, _, _ in sets if name != a_name}:
            covered = np.zeros(len(hh), dtype=bool)
            for name, _, member in sets:
                if name == b_name and not (member & ~a).any():
                    covered |= member
            if covered.any():
                rest = hh[a & ~covered].sum()
                if is_secret(rest, threshold=threshold):
                    out.append(
                        f"{a_name} {a_code} minus its published {b_name}: {rest:g} households"
                    )
        for b_name, b_code, b in sets:
            if b_name != a_name and b.any() and not (b & ~a).any() and (a & ~b).any():
                rest = hh[a & ~b].sum()
                if is_secret(rest, threshold=threshold):
                    out.append(f"{a_name} {a_code} minus {b_name} {b_code}: {rest:g} households")
    return out
