"""``parcours access``: travel-time matrices, isochrones and itineraries from the command line."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from parcours.cli._ui import console, err_console, guarded, progress_bar
from parcours.errors import InputError
from parcours.i18n import tr

__all__ = ["access_app"]

access_app = typer.Typer(
    help=tr(
        "Accessibilité : matrices de temps, isochrones, itinéraires.",
        "Accessibility: travel-time matrices, isochrones, itineraries.",
    ),
    no_args_is_help=True,
)

# Shared options (network, time, modes), declared once.
TerritoryOpt = Annotated[
    str | None, typer.Option("--territory", help=tr("Territoire chargé", "Loaded territory"))
]
OsmOpt = Annotated[
    Path | None, typer.Option("--osm", help=tr("OpenStreetMap .osm.pbf", "OpenStreetMap .osm.pbf"))
]
GtfsOpt = Annotated[
    list[Path] | None, typer.Option("--gtfs", help=tr("GTFS, répétable", "GTFS, repeatable"))
]
ModesOpt = Annotated[
    str,
    typer.Option(
        "--modes",
        help=tr(
            "walk, bike, car, transit (walk,transit)", "walk, bike, car, transit (walk,transit)"
        ),
    ),
]
WindowOpt = Annotated[
    int,
    typer.Option(
        "--window",
        help=tr(
            "Fenêtre de départ, minutes (1 = un seul départ)",
            "Departure window, minutes (1 = a single departure)",
        ),
    ),
]
PercentilesOpt = Annotated[
    str,
    typer.Option("--percentiles", help=tr("Centiles, ex. 5,50,95", "Percentiles, e.g. 5,50,95")),
]
MaxTimeOpt = Annotated[
    int, typer.Option("--max-time", help=tr("Durée maximale, minutes", "Maximum time, minutes"))
]
MaxWalkOpt = Annotated[
    int | None,
    typer.Option(
        "--max-walk",
        help=tr(
            "Marche maximale, minutes (défaut : --max-time)",
            "Maximum walk, minutes (default: --max-time)",
        ),
    ),
]
SpeedWalkOpt = Annotated[float, typer.Option("--speed-walking", help=tr("km/h", "km/h"))]
SpeedBikeOpt = Annotated[float, typer.Option("--speed-cycling", help=tr("km/h", "km/h"))]
RidesOpt = Annotated[
    int,
    typer.Option(
        "--max-rides", help=tr("Nombre maximal de montées", "Maximum number of boardings")
    ),
]
AccessOpt = Annotated[
    str | None,
    typer.Option(
        "--access",
        help=tr(
            "Pour rejoindre le premier arrêt : walk, bike, car, séparés par des virgules "
            "(défaut : walk)",
            "To reach the first stop: walk, bike, car, comma-separated (default: walk)",
        ),
    ),
]
EgressOpt = Annotated[
    str | None,
    typer.Option(
        "--egress",
        help=tr(
            "Après le dernier arrêt : walk, bike, car (défaut : walk)",
            "After the last stop: walk, bike, car (default: walk)",
        ),
    ),
]
EngineOpt = Annotated[
    str, typer.Option("--engine", help=tr("native (défaut) ou r5", "native (default) or r5"))
]
WheelchairOpt = Annotated[
    bool,
    typer.Option(
        "--wheelchair",
        help=tr(
            "Fauteuil roulant : sans marches ni arrêts inaccessibles",
            "Wheelchair: no steps nor inaccessible stops",
        ),
    ),
]
DepartureOpt = Annotated[
    str | None,
    typer.Option(
        "--departure",
        help=tr(
            "Départ, heure locale du réseau : 2019-05-13T14:00",
            "Departure, the network's local time: 2019-05-13T14:00",
        ),
    ),
]
ArriveByOpt = Annotated[
    str | None,
    typer.Option(
        "--arrive-by",
        help=tr(
            "Arriver au plus tard à : 2019-05-13T05:30", "Arrive at the latest at: 2019-05-13T05:30"
        ),
    ),
]


def _when(text: str | None, option: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        pass
    else:  # a date alone would silently mean midnight
        raise InputError(
            tr(
                f"« {text} » est une date sans heure : donnez aussi l'heure, "
                f"ex. {day.isoformat()}T08:00",
                f"'{text}' is a date without a time: give the time too, "
                f"e.g. {day.isoformat()}T08:00",
            ),
            field=option,
            code="input.time_missing",
        )
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(
            tr(
                f"date et heure invalides « {text} » (format 2019-05-13T14:00)",
                f"invalid date and time '{text}' (format 2019-05-13T14:00)",
            ),
            field=option,
        ) from exc
    if value.tzinfo is not None:
        raise InputError(
            tr(
                "heure locale sans fuseau attendue (celui du réseau)",
                "local time without timezone expected (the network's)",
            ),
            field=option,
        )
    return value


def _ints(text: str, option: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError as exc:
        raise InputError(
            tr(
                "entiers séparés par des virgules attendus", "integers separated by commas expected"
            ),
            field=option,
        ) from exc


#: Mode names of the itinerary table: the library's (r5py/GTFS) name -> (French, English).
MODE_NAMES: dict[str, tuple[str, str]] = {
    "walk": ("marche", "walk"),
    "bicycle": ("vélo", "bike"),
    "bike": ("vélo", "bike"),
    "car": ("voiture", "car"),
    "transit": ("transports en commun", "public transport"),
    "bus": ("bus", "bus"),
    "tram": ("tram", "tram"),
    "subway": ("métro", "metro"),
    "metro": ("métro", "metro"),
    "rail": ("train", "train"),
    "ferry": ("bateau", "ferry"),
    "cable_car": ("tramway à câble", "cable car"),
    "gondola": ("télécabine", "gondola"),
    "funicular": ("funiculaire", "funicular"),
    "trolleybus": ("trolleybus", "trolleybus"),
    "monorail": ("monorail", "monorail"),
    "on_demand": ("transport à la demande", "on-demand transport"),
    "air": ("avion", "plane"),
}


def mode_name(mode: str) -> str:
    """A mode's name in the language in force (unknown modes are shown as they are)."""
    names = MODE_NAMES.get(str(mode).lower())
    return str(mode) if names is None else str(tr(*names))


def _call(function: Callable[..., Any], *args: Any, progress: Any, **kwargs: Any) -> Any:
    """Call a library function, giving it the progress bar when its signature takes one."""
    try:
        takes_progress = "progress" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        takes_progress = False
    if takes_progress:
        kwargs["progress"] = progress
    return function(*args, **kwargs)


def _named_point(text: str, option: str, default_id: str) -> tuple[str, tuple[float, float]]:
    """``NAME=LON,LAT`` or ``LON,LAT`` (named ``default_id``)."""
    name, sep, coordinates = text.rpartition("=")
    if sep and not name.strip():
        raise InputError(
            tr(
                "nom vide avant « = » : NOM=LON,LAT, ex. gare=-1.542,47.217",
                "empty name before '=': NAME=LON,LAT, e.g. station=-1.542,47.217",
            ),
            field=option,
        )
    return (name.strip() if sep else default_id), _lonlat(coordinates, option)


def _lonlat(text: str, option: str) -> tuple[float, float]:
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise InputError(
            tr(
                f"LON,LAT attendu (WGS84), ex. -1.55,47.21, ou NOM=LON,LAT : « {text} »",
                f"LON,LAT expected (WGS84), e.g. -1.55,47.21, or NAME=LON,LAT: '{text}'",
            ),
            field=option,
        ) from exc
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(tr("coordonnées hors limites", "coordinates out of range"), field=option)
    return lon, lat


def _network(
    territory: str | None, osm: Path | None, gtfs: list[Path] | None, progress: Any
) -> Any:
    from parcours.accessibility import TransportNetwork
    from parcours.territories import Workspace

    if (territory is None) == (osm is None):
        raise InputError(
            tr(
                "donnez --territory NOM ou --osm FICHIER (un seul)",
                "give --territory NAME or --osm FILE (one of them)",
            ),
            field="--territory",
        )
    if territory is not None:
        if gtfs:
            raise InputError(
                tr(
                    "--gtfs va avec --osm ; un territoire a déjà ses réseaux",
                    "--gtfs goes with --osm; a territory has its feeds already",
                ),
                field="--gtfs",
            )
        return TransportNetwork.from_territory(territory, Workspace())
    assert osm is not None
    return TransportNetwork.from_files(osm, list(gtfs or []), progress=progress)


def _common(
    modes: str,
    window: int,
    percentiles: str,
    max_time: int,
    max_walk: int | None,
    speed_walking: float,
    speed_cycling: float,
    max_rides: int,
    wheelchair: bool,
) -> dict[str, Any]:
    if max_time <= 0 or window <= 0:
        raise InputError(
            tr(
                "--window et --max-time doivent être positifs",
                "--window and --max-time must be positive",
            ),
            field="--window",
        )
    return {
        "transport_modes": modes,
        "departure_time_window": dt.timedelta(minutes=window),
        "percentiles": _ints(percentiles, "--percentiles"),
        "max_time": dt.timedelta(minutes=max_time),
        "max_time_walking": None if max_walk is None else dt.timedelta(minutes=max_walk),
        "speed_walking": speed_walking,
        "speed_cycling": speed_cycling,
        "max_public_transport_rides": max_rides,
        "wheelchair": wheelchair,
    }


_OUTPUTS = (".parquet", ".gpkg", ".geojson", ".csv")


def _check_out(out: Path | None, allowed: tuple[str, ...] = _OUTPUTS) -> None:
    """Refuse an output extension before any work is done."""
    if out is not None and out.suffix.lower() not in allowed:
        raise InputError(
            tr(
                f"extension de sortie inconnue « {out.suffix} » : {', '.join(allowed)}",
                f"unknown output extension '{out.suffix}': {', '.join(allowed)}",
            ),
            field="--out",
        )


def _check_engine(engine: str) -> None:
    if engine not in ("native", "r5"):
        raise InputError(
            tr("moteur inconnu (native ou r5)", "unknown engine (native or r5)"), field="--engine"
        )


def _report_quality(frame: Any) -> None:
    for warning in frame.attrs.get("warnings", []):
        err_console.print(f"[yellow]{tr('Attention', 'Warning')}[/]{tr(' :', ':')} {warning}")
    for key, fr, en in (
        (
            "unsnapped_origins",
            "origines loin de toute rue (> 1,6 km), sans temps",
            "origins far from any street (> 1.6 km), no time",
        ),
        (
            "unsnapped_destinations",
            "destinations loin de toute rue (> 1,6 km), sans temps",
            "destinations far from any street (> 1.6 km), no time",
        ),
    ):
        ids = frame.attrs.get(key) or []
        if ids:
            shown = ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")
            err_console.print(
                f"[yellow]{tr('Attention', 'Warning')}[/]{tr(' :', ':')} "
                f"{len(ids)} {tr(fr, en)}{tr(' :', ':')} {shown}"
            )
    if "wheelchair_unknown_stops" in frame.attrs:
        stops = frame.attrs["wheelchair_unknown_stops"]
        trips = frame.attrs["wheelchair_unknown_trips"]
        err_console.print(
            tr(
                f"Accessibilité inconnue (GTFS 0) admise : {stops} arrêts, {trips} courses",
                f"Unknown accessibility (GTFS 0) allowed: {stops} stops, {trips} trips",
            )
        )


def _with_geometry(frame: Any, origins: Any, destinations: Any, *, lines: bool) -> Any:
    """The matrix as a layer for QGIS: each pair at its origin's point, or a straight line.

    The geometry is in the origins' CRS (WGS84 for a CSV ``id,lon,lat``).
    """
    import geopandas as gpd
    import shapely

    by_id = origins.set_index(origins["id"].astype(str)).geometry
    start = gpd.GeoSeries(frame["from_id"].astype(str).map(by_id), index=frame.index)
    if lines:
        targets = destinations.to_crs(origins.crs)
        to_geom = targets.set_index(targets["id"].astype(str)).geometry
        end = frame["to_id"].astype(str).map(to_geom)
        geometry = gpd.GeoSeries(
            [
                shapely.LineString([a, b]) if a is not None and b is not None else None
                for a, b in zip(start, end, strict=True)
            ],
            index=frame.index,
        )
    else:
        geometry = start
    result = gpd.GeoDataFrame(frame, geometry=geometry, crs=origins.crs)
    result.attrs = dict(frame.attrs)
    return result


@access_app.command(
    "matrix",
    help=tr(
        "Matrice de temps de parcours (schéma r5py : from_id, to_id, travel_time…).",
        "Travel-time matrix (r5py's schema: from_id, to_id, travel_time…).",
    ),
)
def matrix(
    origins: Annotated[
        Path,
        typer.Option(
            "--origins",
            help=tr("CSV id,lon,lat ou couche avec id", "CSV id,lon,lat or a layer with id"),
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help=tr(".parquet, .gpkg, .geojson ou .csv", ".parquet, .gpkg, .geojson or .csv"),
        ),
    ],
    destinations: Annotated[
        Path | None,
        typer.Option(
            "--destinations", help=tr("Par défaut : les origines", "Default: the origins")
        ),
    ] = None,
    territory: TerritoryOpt = None,
    osm: OsmOpt = None,
    gtfs: GtfsOpt = None,
    modes: ModesOpt = "walk,transit",
    departure: DepartureOpt = None,
    arrive_by: ArriveByOpt = None,
    window: WindowOpt = 10,
    percentiles: PercentilesOpt = "50",
    max_time: MaxTimeOpt = 120,
    max_walk: MaxWalkOpt = None,
    speed_walking: SpeedWalkOpt = 3.6,
    speed_cycling: SpeedBikeOpt = 12.0,
    max_rides: RidesOpt = 8,
    access: AccessOpt = None,
    egress: EgressOpt = None,
    engine: EngineOpt = "native",
    wheelchair: WheelchairOpt = False,
    lines: Annotated[
        bool,
        typer.Option(
            "--lines",
            help=tr(
                "GeoPackage/GeoJSON : une ligne droite par paire (défaut : le point d'origine)",
                "GeoPackage/GeoJSON: one straight line per pair (default: the origin point)",
            ),
        ),
    ] = False,
) -> None:
    """Matrice de temps de parcours (schéma r5py : from_id, to_id, travel_time…)."""
    with guarded():
        from parcours.accessibility import latest_departure_matrix, travel_time_matrix
        from parcours.geo import read_points, write_layer

        start = _when(departure, "--departure")
        deadline = _when(arrive_by, "--arrive-by")
        if (start is None) == (deadline is None):
            raise InputError(
                tr(
                    "donnez --departure ou --arrive-by (un seul)",
                    "give --departure or --arrive-by (one of them)",
                ),
                field="--departure",
            )
        _check_engine(engine)
        _check_out(out)
        if lines and out.suffix.lower() not in (".gpkg", ".geojson"):
            raise InputError(
                tr(
                    "--lines va avec une sortie .gpkg ou .geojson",
                    "--lines goes with a .gpkg or .geojson output",
                ),
                field="--lines",
            )
        if deadline is not None and (engine != "native" or window != 10 or percentiles != "50"):
            raise InputError(
                tr(
                    "--arrive-by cherche le dernier départ possible avec le moteur natif : "
                    "sans --engine r5, --window ni --percentiles",
                    "--arrive-by searches the latest possible departure with the native "
                    "engine: without --engine r5, --window or --percentiles",
                ),
                field="--arrive-by",
            )
        o = read_points(origins)
        d = read_points(destinations) if destinations is not None else None
        options = _common(
            modes,
            window,
            percentiles,
            max_time,
            max_walk,
            speed_walking,
            speed_cycling,
            max_rides,
            wheelchair,
        )
        with progress_bar() as progress:
            network_arg = (
                (osm, list(gtfs or []))
                if engine == "r5" and osm
                else _network(territory, osm, gtfs, progress)
            )
            progress(tr("calcul de la matrice", "computing the matrix"), None)
            if deadline is not None:
                if access is not None or egress is not None:
                    raise InputError(
                        tr(
                            "--access et --egress vont avec --departure",
                            "--access and --egress go with --departure",
                        ),
                        field="--access" if access is not None else "--egress",
                    )
                options.pop("departure_time_window")
                options.pop("percentiles")
                frame = _call(
                    latest_departure_matrix,
                    network_arg,
                    o,
                    d,
                    arrive_by=deadline,
                    progress=progress,
                    **options,
                )
            else:
                frame = _call(
                    travel_time_matrix,
                    network_arg,
                    o,
                    d,
                    departure=start,
                    engine=engine,
                    progress=progress,
                    access_modes=access,
                    egress_modes=egress,
                    **options,
                )
        _report_quality(frame)
        if out.suffix.lower() in (".gpkg", ".geojson"):
            frame = _with_geometry(frame, o, o if d is None else d, lines=lines)
        path = write_layer(frame, out, layer="travel_times")
        times = frame[[c for c in frame.columns if c.startswith("travel_time")]]
        reached = float(times.notna().any(axis=1).mean()) if len(frame) else 0.0
        err_console.print(
            tr(
                f"{len(frame)} paires, {reached:.1%} atteignables en {max_time} min : {path}",
                f"{len(frame)} pairs, {reached:.1%} reachable within {max_time} min: {path}",
            )
        )


@access_app.command(
    "isochrones",
    help=tr(
        "Isochrones (polygones) depuis un ou plusieurs points.",
        "Isochrones (polygons) from one or several points.",
    ),
)
def isochrones_command(
    origin: Annotated[
        list[str],
        typer.Option(
            "--from",
            help=tr(
                "NOM=LON,LAT ou LON,LAT (WGS84), répétable",
                "NAME=LON,LAT or LON,LAT (WGS84), repeatable",
            ),
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", help=tr(".gpkg, .geojson ou .parquet", ".gpkg, .geojson or .parquet")
        ),
    ],
    cutoffs: Annotated[
        str,
        typer.Option("--cutoffs", help=tr("Minutes, ex. 15,30,45,60", "Minutes, e.g. 15,30,45,60")),
    ] = "15,30,45,60",
    territory: TerritoryOpt = None,
    osm: OsmOpt = None,
    gtfs: GtfsOpt = None,
    modes: ModesOpt = "walk,transit",
    departure: DepartureOpt = None,
    window: WindowOpt = 10,
    percentiles: PercentilesOpt = "50",
    max_walk: MaxWalkOpt = None,
    speed_walking: SpeedWalkOpt = 3.6,
    speed_cycling: SpeedBikeOpt = 12.0,
    max_rides: RidesOpt = 8,
    engine: EngineOpt = "native",
    wheelchair: WheelchairOpt = False,
) -> None:
    """Isochrones (polygones) depuis un ou plusieurs points."""
    with guarded():
        import geopandas as gpd
        import shapely

        from parcours.accessibility import isochrones
        from parcours.geo import write_layer

        start = _when(departure, "--departure")
        if start is None:
            raise InputError(
                tr("--departure est obligatoire", "--departure is required"), field="--departure"
            )
        named = [_named_point(text, "--from", str(i + 1)) for i, text in enumerate(origin)]
        ids = [name for name, _ in named]
        if len(set(ids)) != len(ids):
            raise InputError(
                tr(
                    "deux points --from portent le même nom : donnez des noms distincts",
                    "two --from points have the same name: give distinct names",
                ),
                field="--from",
            )
        frame = gpd.GeoDataFrame(
            {"id": ids}, geometry=[shapely.Point(p) for _, p in named], crs=4326
        )
        _check_engine(engine)
        _check_out(out, (".gpkg", ".geojson", ".parquet"))
        cuts = _ints(cutoffs, "--cutoffs")
        if not cuts or min(cuts) <= 0 or max(cuts) > 24 * 60:
            raise InputError(
                tr(
                    "--cutoffs attend des minutes entre 1 et 1440, ex. 15,30,45,60",
                    "--cutoffs expects minutes between 1 and 1440, e.g. 15,30,45,60",
                ),
                field="--cutoffs",
            )
        options = _common(
            modes,
            window,
            percentiles,
            max(cuts) + 1,
            max_walk,
            speed_walking,
            speed_cycling,
            max_rides,
            wheelchair,
        )
        with progress_bar() as progress:
            network = (
                (osm, list(gtfs or []))
                if engine == "r5" and osm
                else _network(territory, osm, gtfs, progress)
            )
            progress(tr("calcul des isochrones", "computing isochrones"), None)
            result = _call(
                isochrones,
                network,
                frame,
                cutoffs=cuts,
                departure=start,
                engine=engine,
                progress=progress,
                **options,
            )
        _report_quality(result)
        for point_id in result.attrs.get("unsnapped_origins", []):
            err_console.print(
                tr(
                    f"[yellow]Attention[/] : le point {point_id} est à plus de 1,6 km de toute "
                    "rue : pas d'isochrone",
                    f"[yellow]Warning[/]: point {point_id} is more than 1.6 km from any "
                    "street: no isochrone",
                )
            )
        path = write_layer(result, out, layer="isochrones")
        for row in result.itertuples():
            console.print(
                tr(
                    f"point {row.id}, {row.cutoff} min : {row.area_km2:.2f} km²",
                    f"point {row.id}, {row.cutoff} min: {row.area_km2:.2f} km²",
                )
            )
        err_console.print(tr(f"Écrit : {path}", f"Written: {path}"))


@access_app.command(
    "itinerary",
    help=tr(
        "Itinéraire d'une personne, étape par étape (partir à… / arriver avant…).",
        "One person's itinerary, leg by leg (leave at… / arrive by…).",
    ),
)
def itinerary_command(
    origin: Annotated[
        str,
        typer.Option(
            "--from", help=tr("LON,LAT (WGS84) ou NOM=LON,LAT", "LON,LAT (WGS84) or NAME=LON,LAT")
        ),
    ],
    destination: Annotated[
        str,
        typer.Option(
            "--to", help=tr("LON,LAT (WGS84) ou NOM=LON,LAT", "LON,LAT (WGS84) or NAME=LON,LAT")
        ),
    ],
    departure: DepartureOpt = None,
    arrive_by: ArriveByOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help=tr(".gpkg, .geojson, .parquet", ".gpkg, .geojson, .parquet")),
    ] = None,
    territory: TerritoryOpt = None,
    osm: OsmOpt = None,
    gtfs: GtfsOpt = None,
    modes: ModesOpt = "walk,transit",
    max_time: MaxTimeOpt = 120,
    max_walk: MaxWalkOpt = None,
    speed_walking: SpeedWalkOpt = 3.6,
    speed_cycling: SpeedBikeOpt = 12.0,
    max_rides: RidesOpt = 8,
    engine: EngineOpt = "native",
    wheelchair: WheelchairOpt = False,
) -> None:
    """Itinéraire d'une personne, étape par étape (partir à… / arriver avant…)."""
    with guarded():
        import pandas as pd
        from rich.table import Table

        from parcours.accessibility import itinerary
        from parcours.geo import write_layer

        _check_engine(engine)
        _check_out(out, (".gpkg", ".geojson", ".parquet"))
        options = _common(
            modes, 1, "50", max_time, max_walk, speed_walking, speed_cycling, max_rides, wheelchair
        )
        options.pop("departure_time_window")
        options.pop("percentiles")
        start_point = _named_point(origin, "--from", "origin")[1]
        end_point = _named_point(destination, "--to", "destination")[1]
        start, deadline = _when(departure, "--departure"), _when(arrive_by, "--arrive-by")
        with progress_bar() as progress:
            # r5 with --osm: the native network (route and stop names) is built only
            # when the trip rides public transport.
            network = (
                (osm, list(gtfs or []))
                if engine == "r5" and osm
                else _network(territory, osm, gtfs, progress)
            )
            progress(tr("recherche de l'itinéraire", "searching the itinerary"), None)
            legs = _call(
                itinerary,
                network,
                start_point,
                end_point,
                progress=progress,
                departure=start,
                arrive_by=deadline,
                engine=engine,
                **options,
            )
        _report_quality(legs)
        if legs.empty:
            console.print(legs.attrs.get("reason", tr("aucun trajet", "no trip")))
            raise typer.Exit(0)
        table = Table(title=tr("Itinéraire", "Itinerary"))
        for header in (
            tr("Étape", "Leg"),
            tr("Mode", "Mode"),
            tr("Départ", "Departs"),
            tr("Arrivée", "Arrives"),
            tr("Attente", "Wait"),
            tr("Ligne", "Line"),
            tr("De", "From"),
            tr("À", "To"),
        ):
            table.add_column(header)

        def text(value: Any, default: str = "") -> str:
            return default if value is None or pd.isna(value) else str(value)

        for row in legs.itertuples():
            table.add_row(
                str(row.leg),
                mode_name(text(row.mode)),
                row.departure.strftime("%H:%M"),
                row.arrival.strftime("%H:%M"),
                f"{row.wait_min:.0f} min",
                text(row.route_short_name),
                text(row.from_name, tr("départ", "origin")),
                text(row.to_name, tr("destination", "destination")),
            )
        console.print(table)
        total = legs["arrival"].iloc[-1] - legs["departure"].iloc[0]
        console.print(
            tr(
                f"Durée totale : {int(total.total_seconds() // 60)} min",
                f"Total time: {int(total.total_seconds() // 60)} min",
            )
        )
        if out is not None:
            path = write_layer(legs, out, layer="itinerary")
            err_console.print(tr(f"Écrit : {path}", f"Written: {path}"))
