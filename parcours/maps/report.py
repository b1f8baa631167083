"""The steering committee's report: one self-contained ``rapport.html``.

:func:`write_report` renders a :class:`~parcours.diagnostic.Diagnostic` as one HTML file
with everything inside it (styles, charts as inline SVG, the maps' scripts and Leaflet
itself when maps are given), so that it opens offline, can be e-mailed and printed. It
holds: the key figures, the maps, the charts, the tables per commune, the equity measures,
the priority list, the public transport offer, the method, the data sources with their
dates and the statistical-secret note. Only published figures appear (the diagnostic's
``published_cells`` and ``areas``); the labels are French, or English with ``lang="en"``.

:func:`write_outputs` writes the report with the GIS files beside it (``diagnostic.gpkg``
and ``tables/*.csv``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

import jinja2
import markupsafe
import numpy as np
import pandas as pd

from parcours import __version__
from parcours.diagnostic import Diagnostic, run_diagnostic
from parcours.diagnostic.indicators import CUTOFFS_MIN, MODES
from parcours.diagnostic.run import CELLS_PER_PART, JOBS_PER_PART
from parcours.diagnostic.secrecy import MIN_HOUSEHOLDS
from parcours.i18n import language, tr
from parcours.maps.charts import bar_chart
from parcours.maps.exports import staged, write_geopackage, write_tables
from parcours.maps.labels import CATEGORY_LABELS, band_label, label, mode_label
from parcours.maps.render import render_maps
from parcours.maps.themes import Tiles, report_maps
from parcours.progress import ProgressFn
from parcours.territories import Territory

__all__ = [
    "COMPARED",
    "MapSection",
    "Outputs",
    "comparison_table",
    "diagnose",
    "map_sections",
    "render_report",
    "write_comparison",
    "write_outputs",
    "write_report",
]


@dataclass(frozen=True)
class MapSection:
    """A map placed in a report: its title, an intro and its HTML (a ``<div>`` + script).

    ``head`` is what the page's ``<head>`` needs once for every map (Leaflet inlined).
    """

    title: str
    intro: str
    body: str
    head: str = ""


@dataclass
class Outputs:
    """The files a diagnostic wrote."""

    report: Path
    geopackage: Path
    tables: list[Path] = field(default_factory=list)


def _fmt_int(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(number):
        return "–"
    return f"{number:,.0f}".replace(",", "\u202f")


def _fmt_pct(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(number):
        return "–"
    return f"{number * 100:.0f}\u202f%"


def _fmt_min(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    return (
        f"{number:.0f} min" if math.isfinite(number) else str(tr("hors d'atteinte", "out of reach"))
    )


def _fmt_ratio(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    decimal = "," if str(tr("fr", "en")) == "fr" else "."
    return f"{number:.2f}".replace(".", decimal) if math.isfinite(number) else "–"


def _headline(diagnostic: Diagnostic) -> list[str]:
    """Key indicators, one per mode and band: share of jobs within 45 minutes (median)."""
    out = []
    for mode in diagnostic.modes:
        if mode == "transit":
            out += [f"share_jobs_45_transit_{band.key}_p50" for band in diagnostic.bands]
        else:
            out.append(f"share_jobs_45_{mode}")
    return out


def _short(column: str) -> str:
    """A short row label for charts and tables: the mode, and the band for transit."""
    parts = column.split("_")
    mode = parts[3] if len(parts) > 3 else column
    if mode == "transit" and len(parts) > 4:
        return f"{tr('TC', 'PT')}, {band_label(parts[4]).split(' (')[0]}"
    return mode_label(mode)


def _table(
    frame: pd.DataFrame, columns: Sequence[tuple[str, str, Callable[[Any], str]]]
) -> dict[str, Any]:
    return {
        "header": [title for _, title, _ in columns],
        "rows": [[fmt(row.get(col)) for col, _, fmt in columns] for _, row in frame.iterrows()],
    }


def _sources(diagnostic: Diagnostic) -> list[dict[str, str]]:
    rows = []
    for entry in diagnostic.sources:
        files = entry.get("sources") or []
        names = sorted({Path(str(f.get("path", ""))).name for f in files if isinstance(f, dict)})
        dates = sorted(
            {str(f.get("modified", ""))[:10] for f in files if isinstance(f, dict)} - {""}
        )
        rows.append(
            {
                "layer": str(entry.get("layer", "")),
                "files": ", ".join(names) or "–",
                "dates": ", ".join(dates) or "–",
                "rows": _fmt_int(entry.get("rows")),
            }
        )
    return rows


def _context(diagnostic: Diagnostic, maps: Sequence[MapSection]) -> dict[str, Any]:
    summary = diagnostic.summary
    key = [c for c in _headline(diagnostic) if c in diagnostic.published_cells.columns]
    equity = diagnostic.equity.set_index("indicator")
    figures = [
        (tr("habitants", "residents"), _fmt_int(summary.get("population"))),
        (tr("emplois", "jobs"), _fmt_int(summary.get("jobs"))),
        (
            tr("carreaux habités publiés", "populated cells published"),
            f"{_fmt_int(summary.get('published_cells'))} / {_fmt_int(summary.get('cells'))}",
        ),
    ]
    for column in key:
        figures.append(
            (
                tr(
                    f"des emplois à moins de 45 min {_short(column)}",
                    f"of jobs within 45 min {_short(column)}",
                ),
                _fmt_pct(summary.get(column)),
            )
        )
    if summary.get("share_no_service") is not None:
        figures.append(
            (
                tr("des habitants en zone sans desserte", "of residents with no service"),
                _fmt_pct(summary.get("share_no_service")),
            )
        )
    rows = [c for c in key if c in equity.index]
    means = equity[["mean_population", "mean_poor_households"]].astype(float)
    chart_modes = bar_chart(
        [_short(c) for c in rows],
        {
            str(tr("tous les habitants", "all residents")): [
                means["mean_population"].get(c, np.nan) for c in rows
            ],
            str(tr("ménages pauvres", "poor households")): [
                means["mean_poor_households"].get(c, np.nan) for c in rows
            ],
        },
        title=str(
            tr(
                "Part des emplois du territoire à moins de 45 min (moyenne)",
                "Share of the territory's jobs within 45 min (mean)",
            )
        ),
        decimal="," if str(tr("fr", "en")) == "fr" else ".",
    )
    communes = diagnostic.areas.get("commune", pd.DataFrame())
    peak = "share_jobs_45_transit_peak_p50_pop"
    commune_columns: list[tuple[str, str, Callable[[Any], str]]] = [
        ("name", str(tr("commune", "commune")), str),
        ("population", str(tr("habitants", "residents")), _fmt_int),
        ("poor_households", str(tr("ménages pauvres", "poor households")), _fmt_int),
    ]
    for column in key:
        commune_columns.append((f"{column}_pop", _short(column), _fmt_pct))
    if "share_no_service" in communes.columns:
        commune_columns.append(
            ("share_no_service", str(tr("sans desserte", "no service")), _fmt_pct)
        )
    for category in ("france_travail", "mission_locale"):
        column = f"{category}_transit_pop"
        if column in communes.columns:
            commune_columns.append(
                (
                    column,
                    str(
                        tr(
                            f"{CATEGORY_LABELS[category]} en TC (min)",
                            f"{CATEGORY_LABELS[category]} by PT (min)",
                        )
                    ),
                    _fmt_min,
                )
            )
    chart_communes = ""
    if peak in communes.columns and len(communes):
        ordered = communes.sort_values(peak, na_position="first")
        chart_communes = bar_chart(
            [str(n) for n in ordered["name"]],
            {
                str(tr("tous les habitants", "all residents")): list(ordered[peak]),
                str(tr("ménages pauvres", "poor households")): list(
                    ordered["share_jobs_45_transit_peak_p50_poor"]
                ),
            },
            title=str(
                tr(
                    "Emplois à moins de 45 min en TC, heure de pointe (médiane)",
                    "Jobs within 45 min by PT, peak hours (median)",
                )
            ),
            decimal="," if str(tr("fr", "en")) == "fr" else ".",
        )
    equity_table = _table(
        diagnostic.equity.assign(indicator=[label(c) for c in diagnostic.equity["indicator"]]),
        [
            ("indicator", str(tr("indicateur", "indicator")), str),
            ("mean_population", str(tr("moyenne, habitants", "mean, residents")), _fmt_pct),
            (
                "mean_poor_households",
                str(tr("moyenne, ménages pauvres", "mean, poor households")),
                _fmt_pct,
            ),
            ("poor_vs_all", str(tr("pauvres / tous", "poor / all")), _fmt_ratio),
            ("gini", "Gini", _fmt_ratio),
            ("palma", "Palma", _fmt_ratio),
        ],
    )
    priority = diagnostic.priority
    access = next((c for c in priority.columns if c.startswith("share_")), None)
    priority_columns: list[tuple[str, str, Callable[[Any], str]]] = [
        ("commune_name", str(tr("commune", "commune")), str),
        ("population", str(tr("habitants", "residents")), _fmt_int),
        ("poor_households", str(tr("ménages pauvres", "poor households")), _fmt_int),
        ("qpv", "QPV", lambda v: str(tr("oui", "yes")) if bool(v) else ""),
    ]
    if access is not None:
        priority_columns.append((access, _short(access), _fmt_pct))
    priority_table = _table(priority, priority_columns)
    territory = diagnostic.areas["territory"]
    no_service = [
        (
            band_label(band.key) if band else str(tr("toute la journée", "all day")),
            _fmt_pct(territory.iloc[0].get(f"share_no_service{'_' + band.key if band else ''}"))
            if len(territory)
            else "–",
        )
        for band in (None, *diagnostic.bands)
    ]
    services = [(str(CATEGORY_LABELS.get(c, c)), c) for c in summary.get("service_categories", [])]
    service_rows = []
    if len(territory):
        row = territory.iloc[0]
        for text, category in services:
            service_rows.append(
                [text] + [_fmt_min(row.get(f"{category}_{mode}_pop")) for mode in diagnostic.modes]
            )
    commuting = None
    if diagnostic.commuting is not None:
        frame = diagnostic.commuting.copy()
        is_territory = frame["level"] != "commune"
        frame["where"] = frame["commune_name"].astype("string").fillna(frame["commune"])
        frame.loc[is_territory, "where"] = str(tr("territoire", "territory"))
        fragile = frame["fragile"].fillna(False).astype(bool)

        def share(value: Any) -> str:
            return _fmt_pct(value)

        columns: list[tuple[str, str, Callable[[Any], str]]] = [
            ("where", str(tr("commune de résidence", "commune of residence")), str),
            ("workers", str(tr("actifs occupés", "workers")), _fmt_int),
        ]
        for mode, fr, en in (
            ("car", "voiture", "car"),
            ("transit", "transports en commun", "public transport"),
            ("walk", "marche", "walking"),
            ("bike", "vélo", "cycling"),
            ("two_wheeler", "deux-roues motorisé", "motorised two-wheeler"),
            ("none", "pas de transport", "no transport"),
        ):
            columns.append((f"share_{mode}", str(tr(fr, en)), share))
        columns.append(
            (
                "share_work_outside",
                str(tr("travaillent hors de leur commune", "work outside their commune")),
                share,
            )
        )
        commuting = _table(frame, columns)
        commuting["fragile"] = int(fragile[~is_territory].sum())
    shifts = None
    if diagnostic.shifts is not None and len(diagnostic.shifts):
        frame = diagnostic.shifts
        cuts = sorted(frame["within_min"].unique())
        header = [str(tr("arrivée avant", "arrive by")), str(tr("mode", "mode"))] + [
            f"≤ {c} min" for c in cuts
        ]
        rows_s = []
        for (start, shift_mode), group in frame.groupby(["arrive_by", "mode"], sort=False):
            by_cut = group.set_index("within_min")
            rows_s.append(
                [str(start), mode_label(str(shift_mode))]
                + [
                    str(tr("< 11 ménages", "< 11 households"))
                    if bool(by_cut.loc[c, "secret"])
                    else _fmt_pct(by_cut.loc[c, "share"])
                    for c in cuts
                ]
            )
        shifts = {"header": header, "rows": rows_s}
    caseload = None
    if diagnostic.caseload is not None and len(diagnostic.caseload):
        frame = diagnostic.caseload.assign(
            where=diagnostic.caseload["nom"].where(
                diagnostic.caseload["nom"].astype(str) != "", diagnostic.caseload["commune"]
            )
        )
        caseload = _table(
            frame,
            [
                ("where", str(tr("commune de résidence", "commune of residence")), str),
                ("personnes", str(tr("personnes suivies", "people followed")), _fmt_int),
                ("faisable_pct", str(tr("trajets faisables", "trips feasible")), _fmt_share),
                (
                    "avec_solution_pct",
                    str(tr("faisables avec une solution", "feasible with a solution")),
                    _fmt_share,
                ),
                ("infaisable_pct", str(tr("sans solution", "no solution")), _fmt_share),
            ],
        )
    secrecy = diagnostic.secrecy
    return {
        "caseload": caseload,
        "shifts": shifts,
        "commuting": commuting,
        "lang": "fr" if str(tr("fr", "en")) == "fr" else "en",
        "t": lambda fr, en: str(tr(fr, en)),
        "territory": diagnostic.territory,
        "weekday": diagnostic.weekday.isoformat(),
        "saturday": diagnostic.saturday.isoformat(),
        "generated": dt.date.today().isoformat(),
        "version": __version__,
        "figures": [(str(a), b) for a, b in figures],
        "chart_modes": chart_modes,
        "chart_communes": chart_communes,
        "communes": _table(communes, commune_columns),
        "equity": equity_table,
        "priority": priority_table,
        "no_service": no_service,
        "service_header": [mode_label(m) for m in diagnostic.modes],
        "service_rows": service_rows,
        "bands": [(str(b.label), b.window_min, b.direction) for b in diagnostic.bands],
        "modes": [mode_label(m) for m in diagnostic.modes],
        "cutoffs": ", ".join(str(c) for c in CUTOFFS_MIN),
        "sources": _sources(diagnostic),
        "maps": list(maps),
        "maps_head": "".join(dict.fromkeys(m.head for m in maps if m.head)),
        "secret": {
            "threshold": MIN_HOUSEHOLDS,
            "primary": _fmt_int(secrecy.primary_cells),
            "secondary": _fmt_int(secrecy.secondary_cells),
            "people": _fmt_int(summary.get("hidden_population")),
            "areas": sum(len(v) for v in secrecy.unit_secret.values()),
        },
    }


def _template_text(name: str) -> str:
    return resources.files("parcours.maps").joinpath(f"templates/{name}").read_text("utf-8")


def _environment() -> jinja2.Environment:
    """The reports' templates (``parcours/maps/templates``), autoescaped."""
    return jinja2.Environment(
        loader=jinja2.DictLoader(
            {
                "report": _template_text("report.html.j2"),
                "compare": _template_text("compare.html.j2"),
            }
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_report(
    diagnostic: Diagnostic, *, maps: Sequence[MapSection] = (), lang: str = "fr"
) -> str:
    """The report's HTML text (see :func:`write_report`)."""
    with language(lang):
        context = _context(diagnostic, maps)
        return _render("report", context)


def _render(name: str, context: dict[str, Any]) -> str:
    context = {
        **context,
        "safe": lambda text: markupsafe.Markup(text),
        "style": _template_text("style.css"),
    }
    return _environment().get_template(name).render(**context)


def write_report(
    diagnostic: Diagnostic, path: Path, *, maps: Sequence[MapSection] = (), lang: str = "fr"
) -> Path:
    """Write ``rapport.html`` (self-contained) for a diagnostic, atomically.

    Parameters
    ----------
    diagnostic
        The diagnostic (only its published figures are shown).
    path
        The file to write (replaced at the end, never left half-written).
    maps
        The maps to place in the report (``parcours.maps.themes``).
    lang
        ``"fr"`` (default) or ``"en"``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(render_report(diagnostic, maps=maps, lang=lang), "utf-8")
    tmp.replace(path)
    return path


def _fmt_share(value: Any) -> str:
    """A percentage already in 0..100 (the caseload table's)."""
    return "–" if value is None or pd.isna(value) else f"{float(value):.0f} %"


def write_outputs(
    diagnostic: Diagnostic,
    folder: Path,
    *,
    maps: Sequence[MapSection] = (),
    lang: str = "fr",
) -> Outputs:
    """Write ``rapport.html``, ``diagnostic.gpkg`` and ``tables/*.csv`` in ``folder``.

    Everything is first written to a staging folder inside ``folder``, then renamed into
    place (:func:`~parcours.maps.exports.staged`): an interrupted run (an error, a
    killed process) leaves the previous outputs as they were, never half-written files.
    """
    folder = Path(folder)
    with staged(folder, ["diagnostic.gpkg", "tables", "rapport.html"]) as staging:
        write_geopackage(diagnostic, staging / "diagnostic.gpkg")
        written = write_tables(diagnostic, staging / "tables")
        write_report(diagnostic, staging / "rapport.html", maps=maps, lang=lang)
    tables = [folder / "tables" / path.name for path in written]
    return Outputs(
        report=folder / "rapport.html", geopackage=folder / "diagnostic.gpkg", tables=tables
    )


def map_sections(
    diagnostic: Diagnostic, territory: Territory, *, tiles: Tiles = None, lang: str = "fr"
) -> list[MapSection]:
    """The report's maps (:func:`~parcours.maps.themes.report_maps`) ready for the page."""
    with language(lang):
        maps = report_maps(diagnostic, territory, tiles=tiles, lang=lang)
        head, bodies = render_maps([m for _, _, m in maps])
    return [
        MapSection(title=title, intro=intro, body=body, head=head)
        for (title, intro, _), body in zip(maps, bodies, strict=True)
    ]


def diagnose(
    territory: Territory,
    folder: Path,
    *,
    date: dt.date | None = None,
    modes: Sequence[str] | None = None,
    lang: str = "fr",
    tiles: Tiles = None,
    progress: ProgressFn | None = None,
    cells_per_part: int = CELLS_PER_PART,
    jobs_per_part: int = JOBS_PER_PART,
) -> tuple[Diagnostic, Outputs]:
    """Run the diagnostic of a territory and write its files (``parcours diagnose``).

    Parameters
    ----------
    territory
        A loaded territory.
    folder
        Where ``rapport.html``, ``diagnostic.gpkg`` and ``tables/`` are written.
    date
        The study weekday (default: the first Tuesday every feed serves).
    modes
        Among ``walk``, ``bike``, ``transit``, ``car`` (default: all).
    lang
        The report's language.
    tiles
        Online tiles under the maps (``"osm"``, ``"ign"``); default none: the base map
        is drawn from the territory's own layers and the report works offline.
    progress
        Called with ``(label, fraction)``.
    cells_per_part, jobs_per_part
        The parts' sizes (:class:`~parcours.diagnostic.run.DiagnosticPlan`).
    """
    with language(lang):  # the landmarks' names are in the report's language
        diagnostic = run_diagnostic(
            territory,
            date=date,
            modes=tuple(modes) if modes else MODES,
            progress=progress,
            cells_per_part=cells_per_part,
            jobs_per_part=jobs_per_part,
        )
    if progress is not None:
        progress(str(tr("rapport et fichiers SIG", "report and GIS files")), None)
    maps = map_sections(diagnostic, territory, tiles=tiles, lang=lang)
    return diagnostic, write_outputs(diagnostic, folder, maps=maps, lang=lang)


#: What ``parcours compare`` puts side by side: territory means per resident, then shares.
COMPARED: Final = (
    "population",
    "households",
    "poor_households",
    "share_jobs_45_walk_pop",
    "share_jobs_45_bike_pop",
    "share_jobs_45_transit_peak_p50_pop",
    "share_jobs_45_transit_peak_p80_pop",
    "share_jobs_45_transit_early_p50_pop",
    "share_jobs_45_transit_late_p50_pop",
    "share_jobs_45_transit_saturday_p50_pop",
    "share_jobs_45_car_pop",
    "share_jobs_45_transit_peak_p50_poor",
    "france_travail_transit_pop",
    "mission_locale_transit_pop",
    "gp_transit_pop",
    "departures_500m_pop",
    "share_no_service",
    "share_frequent_stop_500m",
    "car_dependency_pop",
)


def comparison_table(diagnostics: Sequence[Diagnostic]) -> pd.DataFrame:
    """One row per compared indicator (:data:`COMPARED`), one column per territory.

    Only indicators at least one territory has; the territory means are published
    figures (their secret already applied).
    """
    columns = {}
    for diagnostic in diagnostics:
        territory = diagnostic.areas["territory"]
        row = territory.iloc[0] if len(territory) else pd.Series(dtype=float)
        columns[diagnostic.territory] = [row.get(name, np.nan) for name in COMPARED]
    table = pd.DataFrame(columns, index=pd.Index(COMPARED, name="indicator"))
    table = table.apply(pd.to_numeric, errors="coerce")
    return table.dropna(how="all").reset_index()


def _formatter(name: str) -> Callable[[Any], str]:
    if name.startswith("share_"):
        return _fmt_pct
    if name.endswith("_transit_pop") or name.endswith("_walk_pop"):
        return _fmt_min
    if name.startswith("car_dependency"):
        return _fmt_ratio
    return _fmt_int


def write_comparison(
    diagnostics: Sequence[Diagnostic],
    folder: Path,
    *,
    maps: Sequence[MapSection] = (),
    lang: str = "fr",
) -> tuple[Path, Path]:
    """Write ``comparaison.html`` (self-contained) and ``comparaison.csv`` in ``folder``.

    Parameters
    ----------
    diagnostics
        Two territories or more (their diagnostics).
    folder
        The output folder.
    maps
        Maps to place on the page (one per territory, say).
    lang
        ``"fr"`` or ``"en"``.

    Returns
    -------
    tuple of pathlib.Path
        The HTML page and the CSV table (English indicator names, one column per
        territory).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = comparison_table(diagnostics)
    names = [d.territory for d in diagnostics]
    with language(lang):
        decimal = "," if lang == "fr" else "."
        rows = [
            [label(str(r["indicator"]))] + [_formatter(str(r["indicator"]))(r[n]) for n in names]
            for _, r in table.iterrows()
        ]
        charts = [
            bar_chart(
                names,
                {str(tr("moyenne par habitant", "mean per resident")): list(r[names])},
                title=label(str(r["indicator"])),
                percent=str(r["indicator"]).startswith("share_"),
                decimal=decimal,
            )
            for _, r in table.iterrows()
            if str(r["indicator"]).startswith("share_jobs_")
        ]
        context = {
            "lang": lang,
            "t": lambda fr, en: str(tr(fr, en)),
            "names": names,
            "rows": rows,
            "charts": charts,
            "maps": list(maps),
            "maps_head": "".join(dict.fromkeys(m.head for m in maps if m.head)),
            "dates": [(d.territory, d.weekday.isoformat()) for d in diagnostics],
            "generated": dt.date.today().isoformat(),
            "version": __version__,
        }
        html = _render("compare", context)
    page = folder / "comparaison.html"
    tmp = folder / "comparaison.html.part"
    tmp.write_text(html, "utf-8")
    tmp.replace(page)
    csv = folder / "comparaison.csv"
    table.to_csv(csv, index=False)
    return page, csv
