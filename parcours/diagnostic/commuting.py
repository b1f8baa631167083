"""What people actually do: how the territory's workers go to work (INSEE MOBPRO).

:func:`modal_shares` turns the ``commuting`` table (one row per census record, see
:func:`parcours.territories.readers.read_mobpro`) into, for each residence commune of the
territory and for the whole territory, the weighted number of workers, the share of each
main means of transport and the shares working outside their commune and outside the
territory. These are declared practices (the census question is the means of transport
*most often* used), the counterpart of the accessibility the diagnostic computes.

Precision: the census records are a sample. A commune with fewer than
:data:`~parcours.diagnostic.secrecy.MOBPRO_MIN_WORKERS` weighted workers resident is
``fragile``: its shares are not given (NaN), its worker count is. The territory row sums
every resident, fragile communes included. This is INSEE's precision advice, not a
confidentiality rule, so no figure is hidden to prevent recovering another by difference.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from parcours.diagnostic.secrecy import MOBPRO_MIN_WORKERS
from parcours.errors import InputError
from parcours.i18n import tr
from parcours.territories.readers.mobpro import MOBPRO_MODES

__all__ = ["MODAL_SHARE_COLUMNS", "TERRITORY", "modal_shares"]

#: The ``level`` of the row that sums the whole territory.
TERRITORY = "territory"

#: The share columns, one per mode of :data:`~parcours.territories.readers.mobpro.MOBPRO_MODES`.
_MODE_SHARES: tuple[str, ...] = tuple(f"share_{mode}" for mode in MOBPRO_MODES.values())

#: The columns of :func:`modal_shares`' result, in order.
MODAL_SHARE_COLUMNS: tuple[str, ...] = (
    "level",
    "commune",
    "workers",
    *_MODE_SHARES,
    "share_work_outside",
    "share_work_outside_territory",
    "fragile",
)

_NEEDED = ("commune", "arm", "work_commune", "work_place", "mode", "weight")


def modal_shares(
    commuting: pd.DataFrame,
    communes: Sequence[str],
    *,
    min_workers: float = MOBPRO_MIN_WORKERS,
) -> pd.DataFrame:
    """Modal shares of home-to-work trips per residence commune, and for the territory.

    Parameters
    ----------
    commuting
        The ``commuting`` layer (columns ``commune``, ``arm``, ``work_commune``,
        ``work_place``, ``mode``, ``weight``).
    communes
        The territory's INSEE codes, in the order of the result. A code may be an
        arrondissement municipal (``75108``): its residents are those of that
        arrondissement, and working outside means outside the arrondissement.
    min_workers
        Below this many weighted residents a commune is ``fragile`` (workers).

    Returns
    -------
    pandas.DataFrame
        One row per commune of ``communes`` (``level`` ``"commune"``), then one row for
        the territory (``level`` :data:`TERRITORY`, ``commune`` null), columns
        :data:`MODAL_SHARE_COLUMNS`: ``workers`` (sum of ``IPONDI`` of the residents, in
        workers), ``share_none``, ``share_walk``, ``share_bike``, ``share_two_wheeler``,
        ``share_car``, ``share_transit`` (fractions of ``workers``, summing to 1),
        ``share_work_outside`` (working in another commune, or abroad),
        ``share_work_outside_territory`` (working in no commune of ``communes``, abroad
        included), ``fragile`` bool (``workers`` < ``min_workers``; its shares are NaN).
        A commune with no resident has 0 workers, NaN shares and is fragile.

    Raises
    ------
    InputError
        A missing column or a mode outside :data:`MOBPRO_MODES`.

    """
    missing = [c for c in _NEEDED if c not in commuting.columns]
    if missing:
        raise InputError(
            tr(
                f"table « commuting » sans la colonne {missing[0]} : rechargez le fichier MOBPRO",
                f"'commuting' table without the column {missing[0]}: load the MOBPRO file again",
            ),
            field=missing[0],
        )
    codes = [str(c).strip().upper() for c in communes]
    wanted = set(codes)
    modes = commuting["mode"].astype(object)
    unknown = ~modes.isin(list(MOBPRO_MODES.values())).to_numpy()
    if unknown.any():
        raise InputError(
            tr(
                f"mode inconnu « {modes.iloc[int(np.flatnonzero(unknown)[0])]} » dans la table "
                "« commuting »",
                f"unknown mode '{modes.iloc[int(np.flatnonzero(unknown)[0])]}' in the "
                "'commuting' table",
            ),
            field="mode",
        )

    commune = commuting["commune"].astype(object)
    arm = commuting["arm"].astype(object)
    by_commune = commune.isin(wanted).to_numpy()
    by_arm = arm.isin(wanted).to_numpy() & ~by_commune
    none = np.full(len(commuting), None, dtype=object)
    home = np.where(by_commune, commune.to_numpy(), np.where(by_arm, arm.to_numpy(), none))
    resident = by_commune | by_arm
    work_commune = commuting["work_commune"].astype(object).to_numpy()
    work_place = commuting["work_place"].astype(object).to_numpy()
    # An arrondissement's residents are compared with the place of work as given.
    work = np.where(by_arm, work_place, work_commune)
    outside = work != home
    outside_territory = ~(
        commuting["work_commune"].isin(wanted).to_numpy()
        | commuting["work_place"].isin(wanted).to_numpy()
    )

    weight = commuting["weight"].to_numpy(dtype="float64")
    table = pd.DataFrame(
        {
            "home": home[resident],
            "weight": weight[resident],
            "mode": modes.to_numpy()[resident],
            "outside": weight[resident] * outside[resident],
            "outside_territory": weight[resident] * outside_territory[resident],
        }
    )
    per_mode = table.pivot_table(
        index="home", columns="mode", values="weight", aggfunc="sum", fill_value=0.0
    ).reindex(columns=list(MOBPRO_MODES.values()), fill_value=0.0)
    sums = table.groupby("home")[["weight", "outside", "outside_territory"]].sum()
    sums = sums.join(per_mode).reindex(codes, fill_value=0.0)
    total = sums.sum(axis=0).to_frame().T

    rows = pd.concat([sums, total], ignore_index=True)
    workers = rows["weight"].to_numpy(dtype="float64")
    fragile = workers < float(min_workers)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = {
            f"share_{mode}": np.where(fragile, np.nan, rows[mode].to_numpy() / workers)
            for mode in MOBPRO_MODES.values()
        }
        share["share_work_outside"] = np.where(
            fragile, np.nan, rows["outside"].to_numpy() / workers
        )
        share["share_work_outside_territory"] = np.where(
            fragile, np.nan, rows["outside_territory"].to_numpy() / workers
        )
    result = pd.DataFrame(
        {
            "level": ["commune"] * len(codes) + [TERRITORY],
            "commune": pd.Series([*codes, None], dtype="str"),
            "workers": workers,
            **share,
            "fragile": fragile,
        }
    )
    return result.loc[:, list(MODAL_SHARE_COLUMNS)]
