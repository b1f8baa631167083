"""The advisor's printable plan: one A4 page, in plain French, for the person.

:func:`render_plan` turns the matching's answer (a JSON-able dict, see below) into one
self-contained HTML page the advisor prints and hands over. It follows the spirit of
"facile à lire et à comprendre" (FALC): short sentences, big sans-serif type, left
aligned, one idea per line, times written as on a timetable (``05:30``). The page holds:

* the week and the home address;
* for each destination, its hours, then a table: the days (identical days grouped:
  "du lundi au vendredi"), how to go there and how to come back, with the times;
* a sketch of the recommended way there (inline SVG: the itinerary's ``coordonnees``
  projected to the box, home and destinations marked; no map tiles);
* "Ce que nous faisons maintenant" and "Dans les prochains mois" (the answer's ``plan``);
* the contacts of the solutions the plan and the recommended ways use;
* what is not possible, and why (the infeasible options, identical days grouped).

The page loads nothing: no script, no web font, no image file; ``@media print`` sizes
it for one A4 page. Every text coming from the answer is escaped (Jinja2 autoescape).

Which way is recommended is the matching's decision, not this module's: for each
destination, day and direction, the recommended option is the first option of the
answer's ``options`` (the matching lists them best first) whose verdict is not
``infaisable``.

The answer::

    {"personne": {"id", "domicile": {"lon", "lat", "label"}, "barrieres": [...]},
     "semaine": "2026-03-09",
     "destinations": [{"nom", "lon", "lat", "motif", "horaires"}],
     "options": [{"destination", "jour", "trajet": "aller" | "retour", "mode", "verdict",
                  "solution", "raison", "duree_min", "cout_mois_eur", "depart", "arrivee",
                  "itineraire": [{"mode", "depart", "arrivee", "ligne", "de", "vers",
                                  "coordonnees": [[lon, lat], ...]}]}],
     "plan": [{"quand": "maintenant" | "dans_les_mois", "action", "solutions",
               "delai_jours"}],
     "solutions": {id: {"nom", "type", "contact", "cout", "lieu"}}}

A missing optional field shows as nothing; the person's barriers are not printed (the
page is for the person to keep: it says what to do, not what was assessed).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final

import jinja2

from parcours import __version__
from parcours.errors import InputError
from parcours.i18n import get_language, language, tr
from parcours.maps.labels import (
    DAY_LABELS,
    LEG_MODE_LABELS,
    OPTION_MODE_LABELS,
    PURPOSE_LABELS,
)

__all__ = ["RouteLine", "Routes", "group_days", "recommended_routes", "render_plan"]

_DAYS: Final = tuple(DAY_LABELS)
_MONTHS_FR: Final = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
_MONTHS_EN: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_TRANSIT_LEGS: Final = frozenset({"bus", "coach", "tram", "subway", "metro", "rail", "ferry"})
#: Colours of the sketch's lines, by itinerary leg mode (others: _OTHER_COLOR).
LEG_COLORS: Final = {
    "walk": "#555555",
    "bike": "#1b7837",
    "ebike": "#1b7837",
    "bus": "#2166ac",
    "coach": "#2166ac",
    "tram": "#762a83",
    "subway": "#762a83",
    "metro": "#762a83",
    "rail": "#b2182b",
    "car": "#e08214",
    "carpool": "#e08214",
    "scooter": "#e08214",
}
_OTHER_COLOR: Final = "#8c510a"
_PHONE: Final = re.compile(r"\+?[\d .()-]{6,}")
_SKETCH_W: Final = 330
_SKETCH_H: Final = 230
_SKETCH_PAD: Final = 22


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _day_name(day: str) -> str:
    return str(DAY_LABELS.get(day, day))


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])}{tr(' et ', ' and ')}{parts[-1]}"


def group_days(days: Sequence[str]) -> str:
    """Name a set of days as one says it: "du lundi au vendredi", "le lundi et le jeudi".

    Parameters
    ----------
    days
        French day names (``"lundi"`` ... ``"dimanche"``, the answer's ``jour``); other
        names are kept as they are, after the known ones.

    Returns
    -------
    str
        In the language in force: consecutive days of three or more make a range ("du
        lundi au vendredi", "Monday to Friday"), others are listed ("le samedi et le
        dimanche", "Saturday and Sunday").
    """
    known = sorted({d for d in days if d in _DAYS}, key=_DAYS.index)
    other = list(dict.fromkeys(d for d in days if d not in _DAYS))
    runs: list[list[str]] = []
    for day in known:
        if runs and _DAYS.index(day) == _DAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            a, b = _day_name(run[0]), _day_name(run[-1])
            parts.append(str(tr(f"du {a} au {b}", f"{a} to {b}")))
        else:
            parts += [str(tr(f"le {_day_name(d)}", _day_name(d))) for d in run]
    parts += other
    return _join(parts)


def _week_text(value: Any) -> str:
    try:
        monday = dt.date.fromisoformat(str(value))
    except ValueError:
        return _text(value)
    date = _date_text(monday)
    return str(tr(f"Semaine du lundi {date}", f"Week of Monday {date}"))


def _date_text(day: dt.date) -> str:
    if get_language() == "en":
        return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"
    return f"{'1er' if day.day == 1 else day.day} {_MONTHS_FR[day.month - 1]} {day.year}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _euros(value: Any) -> str:
    number = _number(value)
    if number is None:
        return ""
    if number == 0:
        return str(tr("gratuit", "free"))
    text = f"{number:.0f}" if number == round(number) else f"{number:.2f}"
    return str(tr(f"{text.replace('.', ',')}\u00a0€ par mois", f"€{text} a month"))


def _legs(option: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    legs = option.get("itineraire") or []
    return [leg for leg in legs if isinstance(leg, Mapping)]


def _mode_name(option: Mapping[str, Any]) -> str:
    """The mode's name ("Vélo électrique"); for transit, the vehicles ridden ("Bus et train")."""
    mode = _text(option.get("mode"))
    if mode == "transports":
        ridden = [_text(leg.get("mode")) for leg in _legs(option)]
        kinds = list(dict.fromkeys(m for m in ridden if m in _TRANSIT_LEGS))
        if kinds:
            return _join([str(LEG_MODE_LABELS[k]) for k in kinds])
    return str(OPTION_MODE_LABELS.get(mode, mode))


def _leg_text(leg: Mapping[str, Any]) -> str:
    """A public transport leg in a short sentence, "Bus 12 à 05:40, de X à Y".

    "" for a leg of another mode (walk, bike...).
    """
    mode = _text(leg.get("mode"))
    if mode not in _TRANSIT_LEGS:
        return ""
    text = str(LEG_MODE_LABELS[mode])
    if leg.get("ligne"):
        text += f" {leg['ligne']}"
    if leg.get("depart"):
        text += str(tr(f" à {leg['depart']}", f" at {leg['depart']}"))
    if leg.get("de") and leg.get("vers"):
        text += str(tr(f", de {leg['de']} à {leg['vers']}", f", from {leg['de']} to {leg['vers']}"))
    return text


def _steps(option: Mapping[str, Any]) -> list[str]:
    """The public transport legs, one short sentence each (:func:`_leg_text`)."""
    return [text for text in map(_leg_text, _legs(option)) if text]


@dataclass(frozen=True)
class _Way:
    """One recommended way (one direction, one day) as the page shows it."""

    mode: str
    times: str
    duration: str
    steps: tuple[str, ...]
    solution: str
    cost: str

    @property
    def key(self) -> Hashable:
        return (self.mode, self.times, self.duration, self.steps, self.solution, self.cost)


def _times(option: Mapping[str, Any]) -> str:
    depart, arrivee = option.get("depart"), option.get("arrivee")
    if depart and arrivee:
        return str(tr(f"départ {depart}, arrivée {arrivee}", f"leave {depart}, arrive {arrivee}"))
    if depart:
        return str(tr(f"départ {depart}", f"leave {depart}"))
    if arrivee:
        return str(tr(f"arrivée {arrivee}", f"arrive {arrivee}"))
    return ""


def _way(option: Mapping[str, Any], solutions: Mapping[str, Any]) -> _Way:
    minutes = _number(option.get("duree_min"))
    solution_id = option.get("solution")
    solution = ""
    if solution_id:
        entry = solutions.get(str(solution_id))
        name = entry.get("nom") if isinstance(entry, Mapping) else None
        solution = str(tr(f"avec : {name or solution_id}", f"with: {name or solution_id}"))
    return _Way(
        mode=_mode_name(option),
        times=_times(option),
        duration="" if minutes is None else f"{minutes:.0f} min",
        steps=tuple(_steps(option)),
        solution=solution,
        cost=_euros(option.get("cout_mois_eur")),
    )


@dataclass
class _Row:
    days: list[str]
    aller: _Way | None
    retour: _Way | None
    text: str = ""


@dataclass
class _Destination:
    name: str
    purpose: str
    hours: str
    rows: list[_Row] = field(default_factory=list)


def _require(answer: Mapping[str, Any], key: str, kind: type) -> Any:
    value = answer.get(key)
    if not isinstance(value, kind):
        raise InputError(
            tr(
                f"la réponse n'a pas de champ « {key} » valable : passez la réponse du module "
                "matching telle quelle",
                f"the answer has no valid '{key}' field: pass the matching module's answer as is",
            ),
            field=key,
        )
    return value


def _feasible(option: Mapping[str, Any]) -> bool:
    return option.get("verdict") in ("faisable", "faisable_avec_solution")


def _destinations(
    answer: Mapping[str, Any], options: Sequence[Mapping[str, Any]]
) -> tuple[list[_Destination], dict[str, Mapping[str, Any]], list[str]]:
    """Each destination's table, its recommended way there, the solutions recommended.

    The way there drawn on the sketch is the one of the first group of days.
    """
    solutions = answer.get("solutions") or {}
    out = []
    sketch: dict[str, Mapping[str, Any]] = {}
    used: list[str] = []
    for place in answer["destinations"]:
        name = _text(place.get("nom"))
        mine = [o for o in options if _text(o.get("destination")) == name]
        # a day may hold several shifts (split shifts): one row per shift and group of days
        shifts = list(dict.fromkeys(_text(o.get("horaire")) for o in mine))
        days = list(dict.fromkeys((_text(o.get("jour")), _text(o.get("horaire"))) for o in mine))
        chosen: dict[tuple[str, str, str], Mapping[str, Any]] = {}
        for option in mine:
            key = (
                _text(option.get("jour")),
                _text(option.get("horaire")),
                _text(option.get("trajet")),
            )
            if key not in chosen and _feasible(option):
                chosen[key] = option
                if option.get("solution"):
                    used.append(_text(option["solution"]))
        groups: dict[Hashable, _Row] = {}
        shift_of: dict[int, str] = {}
        for day, shift in days:
            aller = chosen.get((day, shift, "aller"))
            retour = chosen.get((day, shift, "retour"))
            ways = (
                _way(aller, solutions) if aller else None,
                _way(retour, solutions) if retour else None,
            )
            same = (shift, *(w.key if w else None for w in ways))
            if same in groups:
                groups[same].days.append(day)
            else:
                groups[same] = _Row([day], *ways)
                shift_of[id(groups[same])] = shift
                if aller is not None and name not in sketch:
                    sketch[name] = aller
        rows = sorted(groups.values(), key=lambda r: min(_order(d) for d in r.days))
        for row in rows:
            row.text = group_days(row.days)
            if len(shifts) > 1 and shift_of.get(id(row)):
                row.text += f" ({shift_of[id(row)]})"
        purpose = _text(place.get("motif"))
        out.append(
            _Destination(
                name=name,
                purpose=str(PURPOSE_LABELS.get(purpose, purpose)),
                hours=_text(place.get("horaires")),
                rows=rows,
            )
        )
    return out, sketch, used


def _order(day: str) -> int:
    return _DAYS.index(day) if day in _DAYS else len(_DAYS)


def _not_possible(options: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The infeasible options, identical ones (all but the day) grouped."""
    groups: dict[Hashable, tuple[list[str], Mapping[str, Any]]] = {}
    for option in options:
        if option.get("verdict") != "infaisable":
            continue
        key = (
            *(_text(option.get(k)) for k in ("destination", "trajet", "mode", "raison")),
            _mode_name(option),
        )
        groups.setdefault(key, ([], option))[0].append(_text(option.get("jour")))
    out = []
    for days, option in groups.values():
        direction = (
            tr("aller", "going") if option.get("trajet") == "aller" else tr("retour", "coming back")
        )
        out.append(
            {
                "mode": _mode_name(option),
                "where": str(
                    tr(
                        f"{direction} à {_text(option.get('destination'))}, {group_days(days)}",
                        f"{direction}, {_text(option.get('destination'))}, {group_days(days)}",
                    )
                ),
                "reason": _text(option.get("raison")),
            }
        )
    return out


def _delay(days: Any) -> str:
    number = _number(days)
    if number is None:
        return ""
    n = int(number)
    if n <= 0:
        return str(tr("aujourd'hui", "today"))
    fr = "jour" if n == 1 else "jours"
    en = "day" if n == 1 else "days"
    return str(tr(f"dans {n} {fr}", f"within {n} {en}"))


def _plan(
    answer: Mapping[str, Any],
) -> tuple[list[dict[str, str]], list[dict[str, str]], list[str]]:
    """The steps now, the steps later, and the solutions they use."""
    now: list[dict[str, str]] = []
    later: list[dict[str, str]] = []
    used: list[str] = []
    for step in answer.get("plan") or []:
        if not isinstance(step, Mapping):
            continue
        ids = [str(s) for s in step.get("solutions") or []]
        used += ids
        item = {"action": _text(step.get("action")), "delay": _delay(step.get("delai_jours"))}
        (now if step.get("quand") == "maintenant" else later).append(item)
    return now, later, used


def _contacts(answer: Mapping[str, Any], ids: Sequence[str]) -> list[dict[str, str]]:
    solutions = answer.get("solutions") or {}
    out = []
    for sid in dict.fromkeys(ids):
        entry = solutions.get(sid)
        if not isinstance(entry, Mapping):
            continue
        item = {k: _text(entry.get(k)) for k in ("nom", "contact", "lieu", "cout")}
        item["phone"] = "yes" if _PHONE.fullmatch(item["contact"]) else ""
        out.append(item)
    return out


def _point(value: Any) -> tuple[float, float] | None:
    try:
        lon, lat = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return None
    return lon, lat


def _place(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, Mapping):
        return None
    return _point((value.get("lon"), value.get("lat")))


@dataclass(frozen=True)
class RouteLine:
    """One line of a drawing of the ways there: a leg, or a straight line when none."""

    #: the leg's mode (``walk``, ``bus``...), "" for a straight line
    mode: str
    #: True: no itinerary, drawn home to destination "à vol d'oiseau"
    straight: bool
    #: (lon, lat) in WGS84 degrees
    coords: list[tuple[float, float]]
    #: the destination it leads to
    destination: str
    #: "Bus 12 à 05:40, de X à Y" for a transit leg, else ""
    label: str = ""

    @property
    def color(self) -> str:
        """The line's colour: by mode (:data:`LEG_COLORS`), grey when straight."""
        return "#999999" if self.straight else LEG_COLORS.get(self.mode, _OTHER_COLOR)

    @property
    def dashed(self) -> bool:
        """Walks and straight lines are dashed."""
        return self.straight or self.mode == "walk"

    @property
    def mode_name(self) -> str:
        """The legend's name of the line ("Bus", "à vol d'oiseau")."""
        if self.straight:
            return str(tr("à vol d'oiseau", "as the crow flies"))
        return str(LEG_MODE_LABELS.get(self.mode, self.mode))


@dataclass(frozen=True)
class Routes:
    """What a drawing of the recommended ways there shows (WGS84 degrees)."""

    home: tuple[float, float]
    places: list[tuple[str, tuple[float, float]]]
    lines: list[RouteLine]


def _route_lines(
    answer: Mapping[str, Any], chosen: Mapping[str, Mapping[str, Any]]
) -> Routes | None:
    home = _place(answer["personne"].get("domicile"))
    if home is None:
        return None
    places = []
    for place in answer["destinations"]:
        point = _place(place)
        if point is not None:
            places.append((_text(place.get("nom")), point))
    lines: list[RouteLine] = []
    for name, point in places:
        option = chosen.get(name)
        drawn = False
        for leg in _legs(option) if option else []:
            coords = [p for p in map(_point, leg.get("coordonnees") or []) if p is not None]
            if len(coords) >= 2:
                mode = _text(leg.get("mode"))
                lines.append(RouteLine(mode, False, coords, name, _leg_text(leg)))
                drawn = True
        if not drawn:
            lines.append(RouteLine("", True, [home, point], name))
    return Routes(home, places, lines)


def recommended_routes(answer: Mapping[str, Any]) -> Routes | None:
    """The home, the destinations and the legs of the recommended way to each.

    The way drawn to a destination is the plan's: the first possible option there
    (``aller``) of its first group of days. A destination with no itinerary gets a
    straight line. None when the home is not located.

    Raises
    ------
    parcours.errors.InputError
        When ``answer`` is not the matching's answer (a field is named).
    """
    _require(answer, "personne", Mapping)
    _require(answer, "destinations", list)
    options = [o for o in _require(answer, "options", list) if isinstance(o, Mapping)]
    return _route_lines(answer, _destinations(answer, options)[1])


def _sketch(
    answer: Mapping[str, Any], chosen: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The SVG sketch's shapes: each leg of the recommended ways there, home, destinations.

    Coordinates are projected with an equirectangular projection at the mean latitude
    (enough at a town's scale) and scaled to fit the box, north up. A way with no
    itinerary is drawn as a dashed straight line ("à vol d'oiseau").
    """
    routes = _route_lines(answer, chosen)
    if routes is None:
        return None
    home, places = routes.home, routes.places
    every = [home] + [p for _, p in places] + [p for line in routes.lines for p in line.coords]
    lat0 = math.radians(sum(lat for _, lat in every) / len(every))

    def xy(p: tuple[float, float]) -> tuple[float, float]:
        return p[0] * math.cos(lat0), p[1]

    xs = [xy(p)[0] for p in every]
    ys = [xy(p)[1] for p in every]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    scale = min((_SKETCH_W - 2 * _SKETCH_PAD), (_SKETCH_H - 2 * _SKETCH_PAD)) / span
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def box(p: tuple[float, float]) -> tuple[float, float]:
        x, y = xy(p)
        return (_SKETCH_W / 2 + (x - cx) * scale, _SKETCH_H / 2 - (y - cy) * scale)

    def points(coords: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in map(box, coords))

    legend: dict[str, str] = {}
    shapes = []
    for line in routes.lines:
        legend.setdefault(line.mode_name, line.color)
        shapes.append({"points": points(line.coords), "color": line.color, "dashed": line.dashed})
    hx, hy = box(home)
    above = sum(box(p)[1] < hy for _, p in places) * 2 >= len(places) > 0
    marks = []
    for n, (name, point) in enumerate(places, start=1):
        x, y = box(point)
        marks.append({"x": f"{x:.1f}", "y": f"{y:.1f}", "n": n, "name": name})
    return {
        "width": _SKETCH_W,
        "height": _SKETCH_H,
        "lines": shapes,
        # The home's label away from the destinations (below when they lie above).
        "home": {"x": f"{hx:.1f}", "y": f"{hy:.1f}", "dy": 24 if above else -12},
        "places": marks,
        "legend": list(legend.items()),
    }


@cache
def _template() -> jinja2.Template:
    text = resources.files("parcours.maps").joinpath("templates/plan.html.j2").read_text("utf-8")
    environment = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.from_string(text)


def _context(answer: Mapping[str, Any]) -> dict[str, Any]:
    person = _require(answer, "personne", Mapping)
    _require(answer, "destinations", list)
    options = [o for o in _require(answer, "options", list) if isinstance(o, Mapping)]
    destinations, chosen, recommended = _destinations(answer, options)
    now, later, used = _plan(answer)
    home = person.get("domicile") if isinstance(person.get("domicile"), Mapping) else {}
    t: Callable[[str, str], str] = lambda fr, en: str(tr(fr, en))  # noqa: E731
    return {
        "lang": get_language(),
        "t": t,
        "person": _text(person.get("id")),
        "home": _text(home.get("label")),
        "week": _week_text(answer.get("semaine")),
        "destinations": destinations,
        "sketch": _sketch(answer, chosen),
        "now": now,
        "later": later,
        "contacts": _contacts(answer, used + recommended),
        "not_possible": _not_possible(options),
        "generated": _date_text(dt.date.today()),
        "version": __version__,
    }


def render_plan(answer: Mapping[str, Any], *, lang: str | None = None) -> str:
    """The person's plan as one printable, self-contained HTML page.

    Parameters
    ----------
    answer
        The matching's answer (its JSON-able dict, see the module's docstring).
    lang
        ``"fr"`` or ``"en"``; default: the language in force (:mod:`parcours.i18n`).

    Returns
    -------
    str
        The HTML document (UTF-8 text): no script, no external resource, one A4 page
        when printed.

    Raises
    ------
    parcours.errors.InputError
        When the answer has no ``personne``, ``destinations`` or ``options``.
    """
    with language(lang or get_language()):
        return _template().render(**_context(answer))
