"""FICTIONAL people for the demo territory: a caseload CSV and carpool driver offers.

:func:`write_demo_caseload` draws people from the loaded demo territory: homes from its
population grid (weighted by inhabitants, a point inside the 200 m cell; half of them
written as the nearest address of the ``addresses`` layer when it is loaded, to exercise
the geocoder), destinations from its establishments (weighted by jobs) and a tenth going
to the training centre of the neighbouring town; four shift patterns
(:data:`SHIFT_PATTERNS`); profiles in proportions typical of a platform's public
(mostly no licence, often no car). Nobody here exists. The same seed writes the same file.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Final, cast

import geopandas as gpd
import numpy as np
import shapely

from parcours.geo.crs import WGS84
from parcours.territories import Territory

__all__ = ["SHIFT_PATTERNS", "demo_driver_offers", "synthetic_people", "write_demo_caseload"]

#: The demo's shift patterns (logistics mornings and afternoons, office, Saturday shop).
SHIFT_PATTERNS: Final = (
    "lun-ven 05:30-13:00",
    "lun-ven 13:00-21:00",
    "lun-ven 08:30-17:00",
    "lun-sam 06:00-12:00",
)
_COLUMNS = (
    "id", "adresse", "lon", "lat", "destination_nom", "destination_lon", "destination_lat",
    "motif", "horaires", "age", "statut", "inscrit_depuis_mois", "permis", "voiture",
    "deux_roues", "velo_sait_rouler", "velo_possede", "velo_electrique", "velo_roule_de_nuit",
    "transports_seul", "lit_carte_horaires", "fauteuil_roulant", "marche_max_min",
    "budget_mois_eur",
)  # fmt: skip


def _homes(territory: Territory, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    pop = territory.layer("population")
    weights = pop["population"].to_numpy(dtype=float)
    cells = rng.choice(len(pop), size=n, p=weights / weights.sum())
    centres = shapely.centroid(pop.geometry.to_numpy()[cells])
    x = shapely.get_x(centres) + rng.uniform(-90, 90, n)
    y = shapely.get_y(centres) + rng.uniform(-90, 90, n)
    wgs = gpd.GeoSeries(shapely.points(x, y), crs=territory.crs).to_crs(WGS84)
    return wgs.x.to_numpy(), wgs.y.to_numpy()


def _jobs(
    territory: Territory, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    jobs = cast(gpd.GeoDataFrame, territory.layer("jobs"))
    jobs = jobs[jobs["jobs"] > 0]
    inside = jobs[jobs.within(territory.perimeter.union_all())]
    weights = inside["jobs"].to_numpy(dtype=float)
    picks = rng.choice(len(inside), size=n, p=weights / weights.sum())
    wgs = inside.geometry.to_crs(WGS84).to_numpy()[picks]
    names = [str(s).title()[:60] for s in inside["name"].fillna("Employeur").to_numpy()[picks]]
    return shapely.get_x(wgs), shapely.get_y(wgs), names


def synthetic_people(
    territory: Territory, n: int, *, seed: int = 2026, training: tuple[float, float] | None = None
) -> list[dict[str, object]]:
    """``n`` fictional caseload rows (the CSV's columns), drawn as the module says."""
    rng = np.random.default_rng(seed)
    hx, hy = _homes(territory, n, rng)
    dx, dy, names = _jobs(territory, n, rng)
    rows: list[dict[str, object]] = []
    for i in range(n):
        permis = str(
            rng.choice(
                ["aucun", "B", "AM", "B_en_cours", "B_suspendu"], p=[0.45, 0.33, 0.07, 0.1, 0.05]
            )
        )
        wheel = bool(rng.uniform() < 0.02)
        rides = bool(rng.uniform() < 0.75) and not wheel
        status = str(
            rng.choice(
                ["demandeur_emploi", "rsa", "jeune", "salarie", "travailleur_handicape", "senior"],
                p=[0.45, 0.2, 0.15, 0.1, 0.05, 0.05],
            )
        )
        age = (
            int(rng.integers(18, 26))
            if status == "jeune"
            else int(rng.integers(60, 71))
            if status == "senior"
            else int(rng.integers(26, 60))
        )
        dest = (float(dx[i]), float(dy[i]), names[i], "emploi")
        if training is not None and rng.uniform() < 0.1:
            dest = (training[0], training[1], "Centre de formation de Pontreval", "formation")
        rows.append(
            {
                "id": f"D{i + 1:04d}",
                "lon": round(float(hx[i]), 6),
                "lat": round(float(hy[i]), 6),
                "destination_nom": dest[2],
                "destination_lon": round(dest[0], 6),
                "destination_lat": round(dest[1], 6),
                "motif": dest[3],
                "horaires": SHIFT_PATTERNS[int(rng.integers(len(SHIFT_PATTERNS)))]
                if dest[3] == "emploi"
                else "lun-ven 08:30-17:00",
                "age": age,
                "statut": status,
                "inscrit_depuis_mois": int(rng.integers(0, 36))
                if status in ("demandeur_emploi", "rsa")
                else "",
                "permis": permis,
                "voiture": "oui" if permis == "B" and rng.uniform() < 0.5 else "non",
                "deux_roues": "oui" if permis in ("AM", "B") and rng.uniform() < 0.3 else "non",
                "velo_sait_rouler": "oui" if rides else "non",
                "velo_possede": "oui" if rides and rng.uniform() < 0.5 else "non",
                "velo_electrique": "non",
                "velo_roule_de_nuit": "oui" if rides and rng.uniform() < 0.4 else "non",
                "transports_seul": "oui" if rng.uniform() < 0.85 else "non",
                "lit_carte_horaires": "oui" if rng.uniform() < 0.85 else "non",
                "fauteuil_roulant": "oui" if wheel else "non",
                "marche_max_min": int(rng.choice([10, 15, 20, 30])),
                "budget_mois_eur": int(rng.choice([20, 30, 40, 60, 100])),
            }
        )
    return rows


def write_demo_caseload(
    territory: Territory,
    path: Path,
    *,
    n: int = 300,
    seed: int = 2026,
    training: tuple[float, float] | None = None,
) -> Path:
    """Write the demo caseload CSV (``;``-separated, UTF-8) and return its path.

    Half of the homes are written as the label of the nearest address of the territory's
    ``addresses`` layer (when loaded) instead of coordinates.
    """
    rows = synthetic_people(territory, n, seed=seed, training=training)
    if territory.has_layer("addresses"):
        addresses = territory.layer("addresses")
        pts = gpd.GeoSeries(
            shapely.points([r["lon"] for r in rows], [r["lat"] for r in rows]), crs=WGS84
        ).to_crs(territory.crs)
        nearest = addresses.sindex.nearest(pts.to_numpy(), return_all=False)[1]
        wgs = addresses.geometry.to_crs(WGS84)
        for k, (row, hit) in enumerate(zip(rows, nearest, strict=True)):
            if k % 2 == 0:
                row["adresse"] = str(addresses["label"].iloc[int(hit)])
                row["lon"] = row["lat"] = ""
                _ = wgs  # the address is the home
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(_COLUMNS), delimiter=";")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in _COLUMNS})
    return path


def demo_driver_offers(
    territory: Territory, n: int = 40, *, seed: int = 7
) -> list[dict[str, object]]:
    """``n`` fictional drivers: home, workplace, weekdays, arrival and departure times."""
    rng = np.random.default_rng(seed)
    hx, hy = _homes(territory, n, rng)
    dx, dy, _ = _jobs(territory, n, rng)
    offers = []
    for i in range(n):
        pattern = SHIFT_PATTERNS[int(rng.integers(len(SHIFT_PATTERNS)))]
        times = pattern.split()[1].split("-")
        offers.append(
            {
                "id": f"C{i + 1:03d}",
                "home": (float(hx[i]), float(hy[i])),
                "destination": (float(dx[i]), float(dy[i])),
                "days": frozenset(range(6) if pattern.startswith("lun-sam") else range(5)),
                "arrive_by": dt.time.fromisoformat(times[0]),
                "leave_at": dt.time.fromisoformat(times[1]),
            }
        )
    return offers
