"""The results browser in a real browser: `streamlit run app.py` on the suite-written fixture,
every page opened in Debian's headless Chromium through Playwright at its own URL and through
the one-page app's links (?page=<title>), the sidebar's links followed, the committed results
opened on the summary and the main runs (no pilot, test or collapsed run until "Show pilot
runs" is on), screenshots kept in tests/_artifacts/ for a person to look at."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import app
from benchmark import claims, readers, selection, suggestions
from tests.app_results import app_results  # noqa: F401  (the shared, suite-written fixture)

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; never a downloaded browser
ARTIFACTS = REPO / "tests" / "_artifacts"
PAGES = list(app.PAGES)  # the sidebar's titles, in order
# What each page must have drawn: a Vega-Lite chart (canvas or svg) or images.
DRAWN = {"Summary": "summary", "Runs": "chart", "Ablations": "chart", "Curves": "chart", "Misclassified": "image",
         "Confusion": "chart", "Tuning": "chart", "Backends": None}
# Each page's own URL path (app.py's url_path: the title in lower case; Summary at the root).
PATHS = {name: "/" if name == "Summary" else f"/{name.lower()}" for name in PAGES}
CHART = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
IMAGE = '[data-testid="stImage"] img'
CELLS = '[data-testid="stDataFrame"] [role="gridcell"]'  # the grid's table for screen readers

pytestmark = [
    pytest.mark.slow,
    pytest.mark.any_backend,  # the same on every backend: CI runs it once
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: install Debian's "
                       "chromium package (apt-get install chromium) to run the browser test"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(app_results):  # noqa: F811
    """`streamlit run app.py` on the fixture; its URL, once it answers."""
    yield from _serve(app_results, "streamlit.log")


@pytest.fixture(scope="module")
def committed_server():
    """`streamlit run app.py` with no EMNIST_BENCH_RESULTS: the results committed in results/."""
    yield from _serve(None, "streamlit-committed.log")


def _serve(results_dir, log_name):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "EMNIST_BENCH_RESULTS"}
    if results_dir is not None:
        env["EMNIST_BENCH_RESULTS"] = str(results_dir)
    log = ARTIFACTS / log_name
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
                    time.sleep(0.5)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


@pytest.mark.parametrize("name", PAGES)
def test_every_page_draws_in_a_browser(server, browser, name):
    _check_page(server, browser, name, ARTIFACTS / f"{name.lower()}.png")


@pytest.mark.parametrize("name", PAGES)
def test_an_old_link_opens_its_page(server, browser, name):
    """The one-page app's link, ?page=<title>, opens the page and moves to its own URL."""
    _check_page(server, browser, name, ARTIFACTS / f"old-link-{name.lower()}.png",
                link=f"/?page={name}")


@pytest.mark.parametrize("name", PAGES)
def test_every_page_draws_the_committed_results(committed_server, browser, name):
    """A fresh clone's `streamlit run app.py` opens on results/ (no environment variable)."""
    if not any((REPO / "results").glob("*/config.json")):
        pytest.skip("no committed results in results/ yet")
    expected = DRAWN[name]
    if name == "Backends" and (REPO / "results" / "bench.csv").exists():
        expected = "chart"
    _check_page(committed_server, browser, name, ARTIFACTS / f"committed-{name.lower()}.png",
                backends_hint=False, expected=expected, no_warnings=True)


def _check_page(server, browser, name, screenshot, backends_hint=True, expected="default",
                no_warnings=False, link=None):
    """Open `link` (the page's own URL unless given) and check that page `name` drew."""
    # Tall, because Streamlit scrolls inside its own container: the screenshot shows the page.
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    try:
        page.goto(server + (link or PATHS[name]))
        page.get_by_role("heading", name=name.split()[0]).first.wait_for(timeout=30_000)
        page.wait_for_url(lambda url: urlsplit(url).path == PATHS[name], timeout=30_000)
        assert "page" not in parse_qs(urlsplit(page.url).query)
        expected = DRAWN[name] if expected == "default" else expected
        if expected == "chart":
            page.locator(CHART).first.wait_for(timeout=30_000)
        elif expected == "summary":
            page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
            page.locator(CELLS).first.wait_for(state="attached", timeout=60_000)
        elif expected == "image":
            page.locator(IMAGE).first.wait_for(timeout=30_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                ".every(img => img.complete && img.naturalWidth > 0)", timeout=30_000)
        else:
            page.locator('[data-testid="stAlert"]').first.wait_for(timeout=30_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)  # let Vega finish its last paint before the screenshot
        page.screenshot(path=str(screenshot), full_page=True)
        assert page.locator('[data-testid="stException"]').count() == 0
        if no_warnings:  # e.g. "1 folder(s) could not be read": none on the committed results
            alerts = page.locator('[data-testid="stAlertContentWarning"], '
                                  '[data-testid="stAlertContentError"]')
            assert alerts.count() == 0, alerts.all_inner_texts()
        if expected == "chart":
            assert page.locator(CHART).count() >= 1
        if expected == "image":
            assert page.locator(IMAGE).count() >= 1
        if name == "Backends" and backends_hint:
            assert suggestions.BENCH_COMMAND in page.inner_text("body")
    finally:
        page.close()


def test_the_sidebar_switches_pages(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(server)
        page.get_by_role("heading", name="Summary").first.wait_for(timeout=30_000)
        sidebar = page.locator('[data-testid="stSidebar"]')
        for name in ["Confusion", "Tuning", "Runs"]:
            sidebar.get_by_text(name, exact=True).click()
            page.get_by_role("heading", name=name).first.wait_for(timeout=30_000)
            page.locator(CHART).first.wait_for(timeout=30_000)
            page.wait_for_url(lambda url, name=name: urlsplit(url).path == PATHS[name],
                              timeout=30_000)
            assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


@pytest.mark.parametrize("link", ["/?page=Misclassified&run={run}", "/misclassified?run={run}",
                                  "/?page=Confusion&run={run}", "/confusion?run={run}"])
def test_a_link_opens_a_page_on_a_run(server, browser, link, app_results):  # noqa: F811
    """A link of the one-page app (?page=<title>&run=) or to a page's own URL (?run=) opens that
    page on that run; a name that is not a run is ignored."""
    name = "Misclassified" if "isclassified" in link else "Confusion"
    drawn = IMAGE if name == "Misclassified" else CHART
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        for run in ("mlp-best", "mlp-baseline"):
            page.goto(server + link.format(run=run))
            page.locator(drawn).first.wait_for(timeout=30_000)
            page.get_by_role("heading", name=name.split()[0]).first.wait_for(timeout=30_000)
            assert page.get_by_role("combobox", name="Run").input_value() == run
            page.wait_for_url(lambda url: urlsplit(url).path == PATHS[name], timeout=30_000)
        page.goto(server + link.format(run="..%2F..%2Fetc"))  # not a run: ignored
        page.locator(drawn).first.wait_for(timeout=30_000)
        first = selection.main_runs(selection.annotate(readers.scan(app_results)))
        assert page.get_by_role("combobox", name="Run").input_value() == (
            first["run_id"].iloc[0])  # the first main run
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()


def test_the_runs_table_shows_both_scores_whole_at_1400_px(committed_server, browser):
    """On the committed runs, a 1,400 px window shows the Runs table through its test accuracy
    and beyond (it used to end at "test accurac…"). The grid draws on a canvas; its
    accessibility table lists the columns in view, the last one possibly cut."""
    if not any((REPO / "results").glob("*/config.json")):
        pytest.skip("no committed results in results/ yet")
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(committed_server)
        page.locator('[data-testid="stSidebar"]').get_by_text("Runs", exact=True).click()
        page.get_by_role("heading", name="Runs").first.wait_for(timeout=30_000)
        table = page.locator('[data-testid="stDataFrame"]').first
        headers = table.locator('[role="columnheader"]')
        headers.first.wait_for(state="attached", timeout=30_000)  # hidden: for screen readers
        page.wait_for_timeout(1000)  # the grid measures its columns once the data is in
        page.screenshot(path=str(ARTIFACTS / "committed-runs-1400.png"))
        shown = headers.all_inner_texts()
        assert shown[0] == "run" and "CV mean ± std" in shown, shown
        test = [i for i, header in enumerate(shown) if header.startswith("test")]
        assert test and test[0] < len(shown) - 1, shown  # a column after it in view: it is whole
    finally:
        page.close()


def cells(page, expected) -> list[str]:
    """The texts of the page's table cells (its grids draw on a canvas; the cells are in the
    tables they keep for screen readers), once one of them reads one of `expected`."""
    wanted = json.dumps(sorted(expected))
    # Read in the same step that finds one: the grid redraws its cells as the page reruns.
    found = page.wait_for_function(
        f"() => {{ const wanted = new Set({wanted}); const texts = [...document."
        f"querySelectorAll('{CELLS}')].map(cell => cell.textContent); return texts.some("
        f"text => wanted.has(text)) && texts; }}", timeout=120_000)
    return found.json_value()


def test_the_committed_results_open_on_the_summary_and_the_main_runs(committed_server, browser):
    """A fresh clone's app opens on the summary REPORT.md opens on (the same verdict counts and
    claims), the Runs page lists and compares the main runs only, with no pilot, test or
    collapsed run until "Show pilot runs" is on, and Tuning opens on a real search."""
    if not any((REPO / "results").glob("*/config.json")):
        pytest.skip("no committed results in results/ yet")
    catalog = selection.annotate(readers.scan(REPO / "results"))
    summary = claims.summarise(claims.check(catalog), catalog)
    runs = catalog.runs.set_index("run_id")
    main = set(selection.main_runs(catalog)["run_id"])
    set_apart = set(runs.index[runs["role"].isin(["collapsed", "pilot"])])
    page = browser.new_page(viewport={"width": 1400, "height": 2400})
    try:
        page.goto(committed_server)
        page.get_by_role("heading", name="Summary").first.wait_for(timeout=60_000)
        page.locator('[data-testid="stMetric"]').first.wait_for(timeout=120_000)
        shown = cells(page, summary.lines["claim"])
        page.screenshot(path=str(ARTIFACTS / "committed-first-page.png"), full_page=True)
        assert summary.headline() in page.inner_text("body")
        metrics = page.locator('[data-testid="stMetric"]').all_inner_texts()
        assert [m.split()[-1] for m in metrics] == [str(n) for n in summary.counts.values()]
        assert [c for c in shown if c in set(summary.lines["claim"])] == list(
            summary.lines["claim"])
        assert page.locator('[data-testid="stPageLink"]').count() >= 2  # Ablations, Runs

        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Runs", exact=True).click()
        page.get_by_role("heading", name="Runs").first.wait_for(timeout=60_000)
        listed = {c for c in cells(page, main) if c in runs.index}
        assert listed == main, listed ^ main
        tags = page.locator('[data-testid="stMultiSelectTagsContainer"] [data-tag]')
        tags.first.wait_for(timeout=60_000)
        chosen = {tags.nth(i).get_attribute("aria-label") for i in range(tags.count())}
        assert chosen == main, chosen  # the runs compared at first
        page.screenshot(path=str(ARTIFACTS / "committed-runs-main.png"), full_page=True)
        sidebar.get_by_text("Show pilot runs").click()
        everything = {c for c in cells(page, set_apart) if c in runs.index}
        assert everything > main and everything & set_apart, everything
        sidebar.get_by_text("Show pilot runs").click()  # off again for the next page

        sidebar.get_by_text("Tuning", exact=True).click()
        page.get_by_role("heading", name="Tuning").first.wait_for(timeout=60_000)
        search = page.get_by_role("combobox", name="Search").input_value()
        assert search and not selection.is_test(search), search
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        page.close()
