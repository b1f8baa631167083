"""The service's real flows in Debian's chromium (Playwright, no browser download).

Against ``parcours serve`` on 127.0.0.1 with the demo data: an advisor logs in, creates a
person from the "test mobilité" form, runs a match and opens the printable plan; a
planner starts the diagnostic and watches its progress; a committee viewer opens the
report and cannot open a person's page; an admin uploads a broken catalogue and reads its
errors. Every page is checked with axe-core (npm) for serious or critical violations, at
1366 x 768; screenshots are kept in ``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from servicekit import PASSWORD, ROOT, email_of, seed, serve_process, workspace_copy

from parcours.service import ServiceSettings

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
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "browser"

#: End to end (a browser, parcours serve): slow; skipped without chromium, except under CI.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (CI installs it)",
    ),
]


@pytest.fixture(scope="module")
def service(
    demo_loaded: tuple[Any, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if not AXE.exists():
        message = f"{AXE} is missing: make test installs axe-core from npm (package.json)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("browser")
    settings = ServiceSettings(home=workspace_copy(demo_loaded[0].home, folder / "home"))
    seed(settings)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with serve_process(settings) as (_, base):
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _page(browser: Any, base: str) -> Any:
    context = browser.new_context(
        base_url=base, viewport={"width": 1366, "height": 768}, locale="fr-FR"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 500 or (r.status == 404 and "/personnes/" not in r.url)
            else None
        ),
    )
    page.errors = errors
    return page


def _login(page: Any, who: str) -> None:
    page.goto("/login")
    page.get_by_label("Adresse e-mail").fill(email_of(who))
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state("load")


def _check(page: Any, name: str) -> None:
    """No serious axe violation, nothing wider than the screen; a screenshot kept."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], (name, serious)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 1366, (name, width)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_advisor_creates_a_person_matches_and_opens_the_plan(service: str, browser: Any) -> None:
    page = _page(browser, service)
    _check_login_keyboard(page)
    _login(page, "advisor_a")
    assert page.url.endswith("/personnes")
    _check(page, "01-file-active")
    page.get_by_role("link", name="Nouvelle personne (test mobilité)").click()
    _check(page, "02-test-mobilite")
    page.get_by_label("Prénom").fill("Inès")
    page.get_by_label("Nom", exact=True).fill("Navigateur")
    page.get_by_label("Commune de résidence").fill("Montclerval")
    page.get_by_label("Base légale").select_option("consentement")
    page.get_by_label("La personne a donné son consentement", exact=False).check()
    page.locator("#h-lon").fill("2.9990")
    page.locator("#h-lat").fill("46.5040")
    page.get_by_label("Nom du lieu (employeur, formation…)").fill("Entrepôt")
    page.locator("#d-lon").fill("3.07352")
    page.locator("#d-lat").fill("46.48161")
    page.get_by_label("Horaires", exact=False).fill("lun-ven 05:30-13:00")
    page.get_by_label("Quel âge avez-vous ?").fill("34")
    page.get_by_label("Quelle est votre situation ?").select_option("demandeur_emploi")
    page.get_by_label("Savez-vous faire du vélo ?").select_option("oui")
    page.get_by_role("button", name="Enregistrer le dossier").click()
    page.wait_for_load_state("load")
    assert re.search(r"/personnes/\d+$", page.url), page.url
    assert "NAVIGATEUR Inès" in page.locator("h1").inner_text()
    page.get_by_role("button", name="Lancer l'appariement").click()
    page.wait_for_load_state("load")
    table = page.locator("table.verdicts")
    assert "premier bus" in table.inner_text()
    _check(page, "03-personne-resultat")
    # the map of the recommended ways, in the page: the legs and the home drawn offline
    frame = page.frame_locator("iframe.itinerary")
    frame.locator(".parcours-legend").wait_for(timeout=30_000)
    drawn = page.frames[-1].evaluate(
        "Object.values(window).filter(v => v instanceof L.GeoJSON).map(l => l.getLayers().length)"
    )
    assert len(drawn) == 2 and min(drawn) >= 1, drawn
    page.get_by_role("link", name="Plan imprimable (avec l'itinéraire)").click()
    page.wait_for_load_state("load")
    assert page.locator("svg").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "04-plan.png"), full_page=True)
    # the whole caseload in the background: the job's page follows it, then gives the summary
    page.goto("/personnes")
    page.get_by_role("button", name="Évaluer toute la file active").click()
    page.get_by_text("personne(s) évaluée(s) sur").wait_for(timeout=120_000)
    assert re.search(r"/personnes/appariement/\w+$", page.url), page.url
    _check(page, "05-appariement-file-active")
    assert page.errors == []


def _check_login_keyboard(page: Any) -> None:
    """The login form works from the keyboard: skip link first, then the fields."""
    page.goto("/login")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    page.locator("#email").focus()
    page.keyboard.type(email_of("advisor_a"))
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "password"
    _check(page, "00-connexion")


def test_planner_runs_the_diagnostic_and_the_committee_reads_it(service: str, browser: Any) -> None:
    page = _page(browser, service)
    _login(page, "planner")
    assert page.url.endswith("/planification")
    _check(page, "10-planification")
    page.get_by_label("Territoire", exact=True).select_option("demo")
    page.get_by_role("button", name="Lancer").click()
    page.wait_for_load_state("load")
    assert "/planification/taches/" in page.url
    page.locator("#job-done").wait_for(state="visible", timeout=300_000)
    assert page.locator("#job-status").inner_text() == "terminée"
    _check(page, "11-diagnostic-termine")
    page.goto("/planification")
    assert "Comparaison des territoires" in page.content() and "demo" in page.content()

    committee = _page(browser, service)
    _login(committee, "committee_a")
    assert committee.url.endswith("/comite")
    _check(committee, "20-comite")
    committee.get_by_role("link", name="Ouvrir le rapport et ses cartes").click()
    committee.wait_for_load_state("load")
    assert "Diagnostic territorial" in committee.title() or "Diagnostic" in committee.content()
    committee.screenshot(path=str(ARTIFACTS / "21-rapport.png"))
    answer = committee.goto("/personnes/1")
    assert answer is not None and answer.status == 404
    assert "introuvable" in committee.content()
    answer = committee.goto("/personnes")
    assert answer is not None and answer.status == 403


def test_admin_reads_the_catalogue_errors(service: str, browser: Any, tmp_path: Path) -> None:
    page = _page(browser, service)
    _login(page, "admin")
    assert page.url.endswith("/admin")
    _check(page, "30-admin")
    broken = tmp_path / "catalogue.yaml"
    broken.write_text("version: 1\nsolutions:\n  - id: x\n    type: fusee\n", encoding="utf-8")
    page.locator("input[type=file]").first.set_input_files(str(broken))
    page.get_by_role("button", name="Charger").first.click()
    page.wait_for_load_state("load")
    alert = page.get_by_role("alert")
    assert "fusee" in alert.inner_text()
    _check(page, "31-admin-erreurs-catalogue")


def test_the_api_documentation_works_offline(service: str, browser: Any) -> None:
    """/docs (Swagger UI) renders the spec with the installed files only."""
    page = _page(browser, service)
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            outside.append(r.url) if not r.url.startswith((service, "blob:", "data:")) else None
        ),
    )
    page.goto("/docs")
    page.locator(".swagger-ui .title").wait_for(timeout=30_000)
    assert page.locator(".swagger-ui .title").inner_text().startswith("parcours")
    assert page.locator(".opblock").count() >= 20  # the operations listed
    assert outside == [], outside
    assert page.errors == [], page.errors
