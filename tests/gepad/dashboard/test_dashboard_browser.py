"""The dashboard in a real headless Chromium (Debian's chromium + chromedriver, via Selenium),
against a real daemon that learned from a simulated user (bench's simulated server).

Every view is checked against what the daemon says over the protocol; approve, reject and
retire are clicked on the page; a prompt change made elsewhere shows up without a reload.
`GEPAD_UPDATE_SCREENSHOTS=1` also saves docs/dashboard-curve.png and docs/dashboard-provenance.png.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "learning"))
from gepad_learning_testing import (
    db_rows,
    engine_state,
    feed_thumbs_down,
    live_stack,
    run_optimizer,
    scenario,
)

pytestmark = pytest.mark.timeout(180)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
DOCS = Path(__file__).resolve().parents[3] / "docs"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is a dev extra")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "chromium and chromedriver are not installed (apt-get install chromium chromium-driver;"
        " .ci/run installs them where apt is available)",
        allow_module_level=True,
    )

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, check: Callable[[Any], Any], what: str, timeout: float = 20) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(check, message=what)


def _tab(driver: Any, view: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f"#tabs button[data-view={view}]").click()


def _print_url(home: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
    env["GEPAD_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-m", "gepad.cli", "dashboard", "--print-url"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def _shot(driver: Any, element: Any, name: str) -> None:
    if os.environ.get("GEPAD_UPDATE_SCREENSHOTS") == "1":
        element.screenshot(str(DOCS / name))


def test_every_view_renders_real_data_and_acts(tmp_path: Path, browser: Any) -> None:
    sc = scenario()
    with live_stack(tmp_path, swap_policy="review") as stack:

        async def learn(tasks: list[Any], budget: int) -> dict[str, Any]:
            async with stack.connect() as c:
                await feed_thumbs_down(c, sc, tasks)
                await run_optimizer(c, budget, timeout=90)
                return dict(await c.get_prompt("general"))

        def rpc(method: str, params: dict[str, Any] | None = None) -> Any:
            async def go() -> Any:
                async with stack.connect() as c:
                    return await c.call(method, params or {})

            return asyncio.run(go())

        first = asyncio.run(learn(sc.tasks[:14], 80))
        assert first["pending"], "the first run proposed nothing to review"
        pending = first["pending"]["version"]

        url = _print_url(stack.home)
        assert url.startswith("http://127.0.0.1:") and "code=" in url
        browser.get(url)
        assert browser.current_url.endswith("/dashboard/")  # the code left the address bar
        _wait(
            browser,
            lambda d: "live" in d.find_element(By.ID, "conn").get_attribute("class"),
            "the page's websocket",
        )

        # 1. Learning curve: one point per new best the optimizer logged, plus the live best.
        curve = rpc("dashboard.curve", {"component": "general"})
        assert len(curve["points"]) >= 2
        points = _wait(
            browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#curve-svg .point"), "curve points"
        )
        assert len(points) == len(curve["points"]) + 1

        # 4. Lineage: every candidate a node, the frontier ringed, the best filled.
        lineage = rpc("dashboard.lineage", {"component": "general"})
        _tab(browser, "lineage")
        nodes = browser.find_elements(By.CSS_SELECTOR, "#lineage-svg circle.node")
        assert len(nodes) == len(lineage["candidates"]) >= 3
        ringed = {
            n.get_attribute("data-id")
            for n in browser.find_elements(By.CSS_SELECTOR, "#lineage-svg .frontier")
        }
        assert ringed == set(lineage["frontier"]) and ringed
        best = browser.find_element(By.CSS_SELECTOR, "#lineage-svg .best")
        assert best.get_attribute("data-id") == lineage["best"]

        # 5. Pending: the version, its fixes; approve it from the page.
        review = rpc("dashboard.review", {"component": "general"})
        assert review["fixes"], review
        _tab(browser, "review")
        shown = _wait(browser, lambda d: d.find_element(By.ID, "pending-version"), "pending")
        assert shown.get_attribute("data-version") == str(pending)
        assert f"Fixes {len(review['fixes'])}" in browser.find_element(By.ID, "review").text
        browser.find_element(By.ID, "approve").click()
        _wait(browser, lambda d: d.find_elements(By.ID, "no-pending"), "the approval")
        state = rpc("prompt.get", {"component": "general"})
        assert state["version"] == pending and state["pending"] is None

        # 3. Provenance of the approved prompt: a learned line names the example behind it.
        prov = rpc("prompt.provenance", {"component": "general"})
        learned = [ln for ln in prov["lines"] if ln["examples"]]
        assert learned, prov
        line = learned[0]
        _tab(browser, "provenance")
        item = _wait(
            browser,
            lambda d: d.find_elements(By.CSS_SELECTOR, f".prov-line[data-line='{line['line']}']"),
            "provenance lines",
        )[0]
        _wait(browser, lambda d: line["introduced_by"]["candidate"] in item.text, "fresh lines")
        item.click()
        detail = browser.find_element(By.ID, "prov-detail")
        example = line["examples"][0]
        assert f"#{example['id']}" in detail.text
        assert example["comment"][:40] in detail.text
        assert line["introduced_by"]["candidate"] in detail.text
        _shot(browser, browser.find_element(By.ID, "view-provenance"), "dashboard-provenance.png")
        _tab(browser, "curve")
        _shot(browser, browser.find_element(By.ID, "view-curve"), "dashboard-curve.png")

        # 6. Examples: search, then retire one from the page; the engine stops counting it.
        _tab(browser, "examples")
        rows = browser.find_elements(By.CSS_SELECTOR, "#examples tr[data-example]")
        assert len(rows) == 14
        search = browser.find_element(By.ID, "ex-search")
        search.send_keys("camelCase")
        matching = [
            e
            for e in rpc("dashboard.examples")["examples"]
            if "camelcase" in (e["comment"] or "").lower()
        ]
        rows = browser.find_elements(By.CSS_SELECTOR, "#examples tr[data-example]")
        assert 0 < len(rows) == len(matching) < 14
        victim = rows[0].get_attribute("data-example")
        rows[0].find_element(By.CSS_SELECTOR, "button[data-action=retire]").click()
        _wait(
            browser,
            lambda d: d.find_elements(
                By.CSS_SELECTOR, f"#examples tr.retired[data-example='{victim}']"
            ),
            "the retirement",
        )
        assert (
            db_rows(stack.db_path, "SELECT retired FROM examples WHERE id = ?", (int(victim),))[0][
                "retired"
            ]
            == 1
        )
        assert victim in engine_state(stack.db_path)["retired"]

        # 5 again: a second run proposes another version; it appears live; reject it.
        _tab(browser, "review")
        second = asyncio.run(learn(sc.tasks[14:26], 80))
        assert second["pending"], "the second run proposed nothing to review"
        rejected = second["pending"]["version"]
        _wait(
            browser,
            lambda d: d.find_elements(
                By.CSS_SELECTOR, f"#pending-version[data-version='{rejected}']"
            ),
            "the new pending",
        )
        browser.find_element(By.ID, "reject").click()
        _wait(browser, lambda d: d.find_elements(By.ID, "no-pending"), "the rejection")
        history = rpc("prompt.history", {"component": "general", "limit": 50})["versions"]
        assert {v["version"]: v["status"] for v in history}[rejected] == "rejected"
        assert rpc("prompt.get", {"component": "general"})["version"] == pending

        # 7. Spend: today's calls by purpose, the same figures the store holds.
        _tab(browser, "spend")
        spend = rpc("dashboard.spend", {"days": 1})
        purposes = spend["days"][-1]["purposes"]
        assert {"task", "judge", "reflection"} <= set(purposes)
        day = _wait(
            browser,
            lambda d: d.find_element(By.CSS_SELECTOR, "#spend-table tr[data-day]"),
            "spend rows",
        )
        assert f"{purposes['reflection']['calls']} calls" in day.text

        # 2. Versions, and a swap made elsewhere (the CLI) arriving live, without a reload.
        _tab(browser, "versions")
        before = len(browser.find_elements(By.CSS_SELECTOR, "#versions tr[data-version]"))
        assert before == len(history)
        rpc("prompt.set", {"component": "general", "text": "Keep answers short.\n"})
        swapped = rpc("prompt.get", {"component": "general"})["version"]
        _wait(
            browser,
            lambda d: d.find_elements(By.CSS_SELECTOR, f"#versions tr[data-version='{swapped}']"),
            "the live swap",
        )
        assert "now v" in browser.find_element(By.ID, "toast").text
        assert "/dashboard/" in browser.current_url and "code=" not in browser.current_url

        # The terminal's one-line trend: a sparkline over the runs and the last swap's reason.
        env = {k: v for k, v in os.environ.items() if not k.startswith("GEPAD_")}
        env["GEPAD_HOME"] = str(stack.home)
        status = subprocess.run(
            [sys.executable, "-m", "gepad.cli", "status"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        assert "Learning trend" in status
        after = status.split("Learning trend", 1)[1].splitlines()
        trend = next(ln for ln in after if ln.strip().startswith("general "))
        # Against the version it replaced, on the examples the engine has now.
        assert f"v{pending}: fixes " in trend and "complaint" in trend
        assert any(ch in trend for ch in "▁▂▃▄▅▆▇█")
