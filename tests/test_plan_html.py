"""The advisor's printable plan (one A4 page, plain French), the map of a person's ways
and the caseload map."""

from __future__ import annotations

import copy
import re
from html import unescape
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from parcours.errors import InputError
from parcours.maps import caseload_map, itinerary_map, render_plan
from parcours.maps.plan import group_days, recommended_routes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi")
HOME = (2.61, 46.34)
WAREHOUSE = (2.655, 46.362)
#: A tag or attribute that loads something (script, style sheet, image, frame, font...).
LOADS = re.compile(r"""<[a-z]+\b[^>]*\b(?:src|href|data|poster)\s*=""", re.I)


def _bike_leg() -> dict[str, Any]:
    return {
        "mode": "bike",
        "depart": "05:02",
        "arrivee": "05:26",
        "ligne": None,
        "de": None,
        "vers": None,
        "coordonnees": [
            list(HOME),
            [2.618, 46.343],
            [2.627, 46.349],
            [2.641, 46.355],
            [2.650, 46.360],
            list(WAREHOUSE),
        ],
    }


def _bus_legs() -> list[dict[str, Any]]:
    stop_zone, stop_town = [2.652, 46.361], [2.613, 46.342]
    return [
        {
            "mode": "walk",
            "depart": "13:01",
            "arrivee": "13:06",
            "ligne": None,
            "de": None,
            "vers": "Zone des Forges",
            "coordonnees": [list(WAREHOUSE), stop_zone],
        },
        {
            "mode": "bus",
            "depart": "13:08",
            "arrivee": "13:35",
            "ligne": "12",
            "de": "Zone des Forges",
            "vers": "Montclerval Mairie",
            "coordonnees": [stop_zone, [2.640, 46.352], [2.625, 46.347], stop_town],
        },
        {
            "mode": "walk",
            "depart": "13:35",
            "arrivee": "13:41",
            "ligne": None,
            "de": "Montclerval Mairie",
            "vers": None,
            "coordonnees": [stop_town, list(HOME)],
        },
    ]


def _option(day: str, trajet: str, mode: str, verdict: str, **fields: Any) -> dict[str, Any]:
    option: dict[str, Any] = {
        "destination": "Entrepôt Logis-Centre",
        "jour": day,
        "trajet": trajet,
        "mode": mode,
        "verdict": verdict,
        "solution": None,
        "raison": "",
        "duree_min": None,
        "cout_mois_eur": None,
        "depart": None,
        "arrivee": None,
        "itineraire": [],
    }
    option.update(fields)
    return option


def warehouse_answer() -> dict[str, Any]:
    """A person without a licence, a warehouse job from 05:30: the bus comes too late."""
    options = []
    for day in DAYS:
        options += [
            _option(
                day,
                "aller",
                "velo_electrique",
                "faisable_avec_solution",
                solution="pret-vae",
                raison="24 minutes à vélo électrique, sur une route éclairée",
                duree_min=24,
                cout_mois_eur=12.5,
                depart="05:02",
                arrivee="05:26",
                itineraire=[_bike_leg()],
            ),
            _option(
                day,
                "aller",
                "transports",
                "infaisable",
                raison="le premier bus arrive à 06:12, la prise de poste est à 05:30",
            ),
            _option(
                day,
                "aller",
                "marche",
                "infaisable",
                raison="il faut 1 h 10 à pied, c'est trop long",
                duree_min=70,
            ),
            _option(
                day,
                "retour",
                "transports",
                "faisable",
                raison="bus de 13:08, ligne 12",
                duree_min=40,
                cout_mois_eur=0,
                depart="13:01",
                arrivee="13:41",
                itineraire=_bus_legs(),
            ),
            _option(
                day,
                "retour",
                "velo_electrique",
                "faisable_avec_solution",
                solution="pret-vae",
                duree_min=25,
                depart="13:05",
                arrivee="13:30",
                itineraire=[],
            ),
        ]
    return {
        "personne": {
            "id": "P001",
            "domicile": {
                "lon": HOME[0],
                "lat": HOME[1],
                "label": "12 Rue des Lilas 03970 Montclerval",
            },
            "barrieres": [
                {"categorie": "materiel", "texte": "pas de permis de conduire"},
                {"categorie": "financier", "texte": "pas de budget pour une voiture"},
            ],
        },
        "semaine": "2026-03-09",
        "destinations": [
            {
                "nom": "Entrepôt Logis-Centre",
                "lon": WAREHOUSE[0],
                "lat": WAREHOUSE[1],
                "motif": "emploi",
                "horaires": "lun-ven 05:30-13:00",
            }
        ],
        "options": options,
        "plan": [
            {
                "quand": "maintenant",
                "action": "Prêt d'un vélo à assistance électrique pendant 3 mois.",
                "solutions": ["pret-vae"],
                "delai_jours": 1,
            },
            {
                "quand": "dans_les_mois",
                "action": "Passer le permis B avec l'auto-école solidaire.",
                "solutions": ["auto-ecole-solidaire"],
                "delai_jours": 90,
            },
        ],
        "solutions": {
            "pret-vae": {
                "nom": "Prêt de VAE — Plateforme mobilité",
                "type": "location_velo_electrique",
                "contact": "04 70 00 00 00",
                "cout": "12,50 € par mois",
                "lieu": "Maison de la mobilité, 3 place de la Gare, Montclerval",
            },
            "auto-ecole-solidaire": {
                "nom": "Auto-école solidaire du Bocage",
                "type": "auto_ecole_solidaire",
                "contact": None,
                "cout": "selon les revenus",
                "lieu": "Montclerval",
            },
            "unused": {"nom": "Garage solidaire", "type": "garage", "contact": "04 70 11 11 11"},
        },
    }


@pytest.fixture(scope="module")
def page() -> str:
    return render_plan(warehouse_answer(), lang="fr")


def _text(page: str) -> str:
    """The page's visible text, spaces collapsed (tags removed, entities decoded)."""
    body = re.sub(r"<style>.*?</style>", "", page, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", body)))


def test_the_plan_says_what_to_do_in_french(page: str) -> None:
    text = _text(page)
    assert '<html lang="fr">' in page
    assert "Votre plan pour vous déplacer" in text
    assert "Semaine du lundi 9 mars 2026" in text
    assert "12 Rue des Lilas 03970 Montclerval" in text
    assert "Pour aller à Entrepôt Logis-Centre (travail)" in text
    assert "lun-ven 05:30-13:00" in text
    # The way there: the e-bike (the bus comes too late); the way back: bus 12.
    assert "Vélo électrique" in text and "départ 05:02, arrivée 05:26" in text
    assert "avec : Prêt de VAE — Plateforme mobilité" in text
    assert "12,50 € par mois" in text  # (a no-break space in the page)
    assert "Bus 12 à 13:08, de Zone des Forges à Montclerval Mairie" in text
    assert "départ 13:01, arrivée 13:41" in text
    # The plan, in two steps, and the contacts it needs (not the unused solution's).
    assert "Ce que nous faisons maintenant" in text and "Dans les prochains mois" in text
    now, later = text.split("Ce que nous faisons maintenant")[1].split("Dans les prochains mois")
    assert "Prêt d'un vélo à assistance électrique" in now and "(dans 1 jour)" in now
    assert "permis B" in later and "(dans 90 jours)" in later
    assert "téléphone 04 70 00 00 00" in text
    assert "Auto-école solidaire du Bocage" in text
    assert "Garage solidaire" not in text


def test_identical_days_are_grouped(page: str) -> None:
    rows = re.findall(r'<td class="days">(.*?)</td>', page)
    assert rows == ["du lundi au vendredi"]
    assert "mardi" not in _text(page).replace("du lundi au vendredi", "")
    # A different Friday makes its own row.
    answer = warehouse_answer()
    for option in answer["options"]:
        if option["jour"] == "vendredi" and option["mode"] == "velo_electrique":
            option["depart"] = "04:55"
    rows = re.findall(r'<td class="days">(.*?)</td>', render_plan(answer))
    assert rows == ["du lundi au jeudi", "le vendredi"]


def test_group_days() -> None:
    assert group_days(["vendredi", "lundi", "mardi", "jeudi", "mercredi"]) == (
        "du lundi au vendredi"
    )
    assert group_days(["samedi", "dimanche"]) == "le samedi et le dimanche"
    assert group_days(["lundi", "mardi", "mercredi", "vendredi"]) == (
        "du lundi au mercredi et le vendredi"
    )
    assert group_days(["lundi", "mercredi", "vendredi"]) == "le lundi, le mercredi et le vendredi"
    assert group_days(["lundi"]) == "le lundi"


def test_what_is_not_possible_is_listed_with_its_reason(page: str) -> None:
    section = _text(page).split("Ce qui ne marche pas, et pourquoi")[1]
    assert (
        "Transports en commun (aller à Entrepôt Logis-Centre, du lundi au vendredi) : "
        "le premier bus arrive à 06:12, la prise de poste est à 05:30"
    ) in section
    assert "À pied (aller à Entrepôt Logis-Centre, du lundi au vendredi) : il faut 1 h 10" in (
        section
    )
    assert section.count("du lundi au vendredi") == 2  # one line per mode, not per day


def test_nothing_is_loaded_from_anywhere(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert not LOADS.search(page)  # no <script src>, <link href>, <img src>...
    assert "<script" not in page.lower()
    assert "@import" not in page and "url(" not in page
    assert "@media print" in page and "size: A4" in page


def test_user_text_is_escaped() -> None:
    answer = warehouse_answer()
    evil = "<script>alert('x')</script>"
    answer["personne"]["domicile"]["label"] = f"12 rue {evil}"
    answer["destinations"][0]["nom"] = f"Entrepôt {evil}"
    for option in answer["options"]:
        option["destination"] = f"Entrepôt {evil}"
        option["raison"] = f"raison <img src=x onerror=alert(1)> {option['raison']}"
    answer["plan"][0]["action"] = f"<b>gras</b> {evil}"
    answer["solutions"]["pret-vae"]["nom"] = f"VAE {evil}"
    html = render_plan(answer)
    assert "<script" not in html.lower() and "<img" not in html.lower() and "<b>gras" not in html
    assert "Entrepôt &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "raison &lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;gras&lt;/b&gt;" in html
    assert "VAE &lt;script&gt;" in html
    # The sketch still names the destination, escaped, and draws its way.
    assert "<polyline" in html


def test_english_on_request() -> None:
    html = render_plan(warehouse_answer(), lang="en")
    text = _text(html)
    assert '<html lang="en">' in html
    assert "Your travel plan" in text and "Week of Monday 9 March 2026" in text
    assert "Monday to Friday" in text and "Electric bike" in text
    assert "What we do now" in text and "In the coming months" in text
    assert "What does not work, and why" in text and "(within 90 days)" in text
    assert "Votre plan" not in text and "du lundi" not in text
    # The answer's own texts stay as the matching wrote them.
    assert "le premier bus arrive à 06:12" in text


def test_the_sketch_draws_the_way_there() -> None:
    html = render_plan(warehouse_answer())
    svg = re.search(r"<svg\b.*?</svg>", html, re.S)
    assert svg is not None
    (points,) = re.findall(r'<polyline points="([^"]+)"', svg.group())  # the e-bike leg
    xy = np.array([[float(v) for v in p.split(",")] for p in points.split()])
    assert len(xy) == 6
    view = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg.group())
    assert view is not None
    width, height = float(view[1]), float(view[2])
    assert (xy >= 0).all() and (xy[:, 0] <= width).all() and (xy[:, 1] <= height).all()
    # North-east of home: right of and above it (the y axis points down).
    assert xy[-1, 0] > xy[0, 0] and xy[-1, 1] < xy[0, 1]
    home = re.search(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg.group())
    assert home is not None and np.allclose([float(home[1]), float(home[2])], xy[0], atol=0.2)
    assert "Chez vous" in svg.group() and '<rect x="' in svg.group()
    assert "<title" in svg.group()
    # No itinerary: a dashed straight line, said to be "à vol d'oiseau".
    answer = warehouse_answer()
    for option in answer["options"]:
        option["itineraire"] = []
    html = render_plan(answer)
    assert html.count("<polyline") == 1 and 'stroke-dasharray="7 5"' in html
    assert "à vol d&#39;oiseau" in html


def test_an_answer_without_options_is_refused() -> None:
    answer = warehouse_answer()
    del answer["options"]
    with pytest.raises(InputError, match="options"):
        render_plan(answer)
    answer = copy.deepcopy(warehouse_answer())
    answer["options"] = [o for o in answer["options"] if o["verdict"] == "infaisable"]
    text = _text(render_plan(answer))
    assert "Pas de solution pour l'instant" in text


def _watch(page: Any) -> tuple[list[str], list[str]]:
    """Refuse and collect every request but the page itself; collect console errors."""
    requests: list[str] = []
    errors: list[str] = []

    def route(route: Any) -> None:
        if route.request.url.startswith(("file:", "data:", "about:")):
            route.continue_()
        else:
            requests.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("request", lambda r: requests.append(r.url) if r.url.startswith("http") else None)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return requests, errors


def _open_map(path: Path, width: int, height: int, *scripts: str) -> list[Any]:
    """Open an offline map page in chromium: what ``scripts`` evaluate, once its legend is
    drawn (nothing requested outside, no console error)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": width, "height": height})
            requests, errors = _watch(tab)
            tab.goto(path.as_uri(), wait_until="load")
            tab.wait_for_selector(".parcours-legend", timeout=10_000)
            values = [tab.evaluate(script) for script in scripts]
            tab.close()
        finally:
            browser.close()
    assert not requests, requests
    assert not errors, errors
    return values


def _pdf_pages(pdf: bytes) -> int:
    try:
        import pypdf
    except ImportError:
        return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    import io

    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
@pytest.mark.slow  # a browser
def test_the_plan_prints_on_one_a4_page_in_chromium(page: str, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    path = tmp_path / "plan.html"
    path.write_text(page, encoding="utf-8")
    # A longer plan (two destinations, more steps) must still fit.
    answer = warehouse_answer()
    answer["destinations"].append(
        {
            "nom": "Mission locale",
            "lon": 2.60,
            "lat": 46.33,
            "motif": "formation",
            "horaires": "mardi 14:00-16:00",
        }
    )
    answer["options"].append(
        {
            **_option(
                "mardi",
                "aller",
                "marche",
                "faisable",
                duree_min=18,
                depart="13:35",
                arrivee="13:53",
            ),
            "destination": "Mission locale",
        }
    )
    answer["plan"].append(
        {
            "quand": "maintenant",
            "action": "Rendez-vous à la mission locale.",
            "solutions": [],
            "delai_jours": 7,
        }
    )
    longer = tmp_path / "plan-long.html"
    longer.write_text(render_plan(answer), encoding="utf-8")
    # The page count can fail: forty steps do not fit on one page.
    answer["plan"] += [{"quand": "dans_les_mois", "action": f"Étape {k}."} for k in range(40)]
    too_long = tmp_path / "plan-too-long.html"
    too_long.write_text(render_plan(answer), encoding="utf-8")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for file in (path, longer):
                tab = browser.new_page()
                requests, errors = _watch(tab)
                tab.goto(file.as_uri(), wait_until="load")
                assert tab.locator("svg polyline").count() >= 1
                pdf = tab.pdf(format="A4")
                tab.close()
                assert not requests, (file.name, requests)
                assert not errors, (file.name, errors)
                assert pdf.startswith(b"%PDF")
                assert _pdf_pages(pdf) == 1, file.name
                (tmp_path / f"{file.stem}.pdf").write_bytes(pdf)
            tab = browser.new_page()
            tab.goto(too_long.as_uri(), wait_until="load")
            assert _pdf_pages(tab.pdf(format="A4")) > 1
        finally:
            browser.close()


# --- the caseload map --------------------------------------------------------------------

VERDICTS = ("faisable", "faisable_avec_solution", "infaisable")


def _caseload(n: int = 30) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries]:
    """``n`` fake people around Montclerval, in Lambert-93, and their destinations."""
    rng = np.random.default_rng(7)
    x0, y0 = 706_000.0, 6_588_000.0
    homes = shapely.points(x0 + rng.normal(0, 3000, n), y0 + rng.normal(0, 3000, n))
    frame = gpd.GeoDataFrame(
        {
            "id": [f"P{k:03d}" for k in range(1, n + 1)],
            "commune": rng.choice(["Montclerval", "Saint-Aubin", "Les Forges"], n),
            "meilleur_mode": rng.choice(["velo_electrique", "transports", "covoiturage"], n),
            "verdict": [VERDICTS[k % 3] for k in range(n)],
            "raison": [f"raison n° {k}" for k in range(n)],
        },
        geometry=homes,
        crs=2154,
    )
    destinations = gpd.GeoSeries(
        shapely.points(np.full(n, x0 + 4000), np.full(n, y0 + 2000)), crs=2154, index=frame.index
    )
    return frame, destinations


def test_the_caseload_map_shows_each_person(tmp_path: Path) -> None:
    frame, _ = _caseload()
    frame.loc[3, "raison"] = "<script>alert(1)</script>"
    out = caseload_map(frame, tmp_path / "file" / "caseload.html")
    html = out.read_text("utf-8")
    assert html.count('"type":"Point"') == 30
    assert "Données personnelles — réservé aux conseillers" in html
    assert '<html lang="fr">' in html
    for label in ("possible avec une aide", "pas possible", "Vélo électrique"):
        assert label in html
    assert "(10)" in html  # the legend counts the people per verdict
    assert "<script>alert(1)" not in html and "\\u003cscript\\u003e" not in html
    assert "\\u0026lt;script\\u0026gt;alert(1)" in html  # escaped, then made JSON-safe
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
    for url in re.findall(r"https?://[^\s\"'<>()]+", html):
        assert not url.endswith((".js", ".css", ".png")), url
    assert '"type":"LineString"' not in html
    # WGS84: Montclerval is near 2.6° E, 46.3° N.
    lon, lat = map(float, re.findall(r'"coordinates":\[([\d.]+),([\d.]+)\]', html)[0])
    assert 1 < lon < 4 and 45 < lat < 48


def test_the_caseload_map_lines_and_english(tmp_path: Path) -> None:
    frame, destinations = _caseload()
    frame.loc[5, "geometry"] = None  # not geocoded: not drawn, but said
    html = caseload_map(
        frame.to_crs(3857), tmp_path / "c.html", destinations=destinations, lang="en"
    ).read_text("utf-8")
    assert "Personal data — advisors only" in html
    assert html.count('"type":"Point"') == 29
    assert html.count('"type":"LineString"') == 29
    assert "1 person without a located home is not on the map" in html


def test_the_caseload_map_refuses_bad_frames(tmp_path: Path) -> None:
    frame, _ = _caseload(5)
    with pytest.raises(InputError, match="verdict"):
        caseload_map(frame.drop(columns="verdict"), tmp_path / "x.html")
    bad = frame.copy()
    bad.loc[2, "verdict"] = "peut-être"
    with pytest.raises(InputError, match="P003"):
        caseload_map(bad, tmp_path / "x.html")
    with pytest.raises(InputError, match="CRS"):
        caseload_map(frame.set_crs(None, allow_override=True), tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")
@pytest.mark.slow  # a browser
def test_the_caseload_map_opens_offline_in_chromium(tmp_path: Path) -> None:
    frame, destinations = _caseload()
    out = caseload_map(frame, tmp_path / "c.html", destinations=destinations)
    banner, markers = _open_map(
        out,
        1000,
        700,
        "document.querySelector('.parcours-banner').innerText",
        "Object.values(window).filter(v => v instanceof L.GeoJSON).map(l => l.getLayers().length)",
    )
    assert banner.startswith("Données personnelles")
    assert 30 in markers, markers


# --------------------------------------------------------------------------- itinerary map


def test_the_recommended_routes_are_the_plans() -> None:
    routes = recommended_routes(warehouse_answer())
    assert routes is not None and routes.home == HOME
    assert routes.places == [("Entrepôt Logis-Centre", WAREHOUSE)]
    (line,) = routes.lines  # the way there: the e-bike leg (the bus comes too late)
    assert line.mode == "bike" and not line.straight and not line.dashed
    assert line.coords[0] == HOME and line.coords[-1] == WAREHOUSE and len(line.coords) == 6
    answer = warehouse_answer()
    for option in answer["options"]:
        option["itineraire"] = []
    routes = recommended_routes(answer)
    assert routes is not None
    (line,) = routes.lines
    assert line.straight and line.dashed and line.coords == [HOME, WAREHOUSE]
    assert line.mode_name == "à vol d'oiseau"
    answer["personne"]["domicile"] = {"label": "adresse introuvable"}
    assert recommended_routes(answer) is None
    with pytest.raises(InputError, match="options"):
        recommended_routes({"personne": {}, "destinations": []})


def test_the_itinerary_map_escapes_and_loads_nothing() -> None:
    answer = warehouse_answer()
    evil = "<script>alert('x')</script>"
    answer["destinations"][0]["nom"] = f"Entrepôt {evil}"
    for option in answer["options"]:
        option["destination"] = f"Entrepôt {evil}"
    html = itinerary_map(answer)
    # escaped for HTML, then for the script's JSON (& as \u0026)
    assert "<script>alert" not in html and "Entrepôt \\u0026lt;script\\u0026gt;" in html
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert not re.search(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?https?:""", html)
    assert '<meta name="robots" content="noindex">' in html and '<html lang="fr">' in html
    english = itinerary_map(warehouse_answer(), lang="en")
    assert '<html lang="en">' in english and "Recommended way" in english
    answer["personne"]["domicile"] = {}
    assert "Domicile non localisé" in itinerary_map(answer)


@pytest.mark.slow  # a browser
def test_the_itinerary_map_draws_the_way_offline_in_chromium(tmp_path: Path) -> None:
    out = tmp_path / "carte.html"
    out.write_text(itinerary_map(warehouse_answer()), "utf-8")
    layers, legend = _open_map(
        out,
        800,
        420,
        "Object.values(window).filter(v => v instanceof L.GeoJSON).map(l => "
        "l.getLayers().map(f => [f.feature.geometry.type, f.feature.properties.t]))",
        "document.querySelector('.parcours-legend').innerText",
    )
    lines = [f for layer in layers for f in layer if f[0] == "LineString"]
    points = [f for layer in layers for f in layer if f[0] == "Point"]
    assert lines == [["LineString", "Entrepôt Logis-Centre — Vélo"]]
    assert [t for _, t in points] == ["Domicile", "1. Entrepôt Logis-Centre"]
    assert "Trajet recommandé" in legend and "Vélo" in legend
