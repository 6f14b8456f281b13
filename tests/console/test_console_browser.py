"""The console in a real browser: headless Chromium opens the console of a
served app, sees the ownership tree, watches a QueueService's pending count
change while items are enqueued, and a service go failed and come back
after clicking "restart"."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _cell(page: Any, queue: str, column: str) -> str:
    return page.locator(f'section[data-local="true"] tr[data-queue="{queue}"] td.{column}').inner_text()


def test_console_shows_the_tree_queue_counts_and_restarts_a_failed_service(
        console_server: Any, chromium_page: Any, tmp_path: Path) -> None:
    page = chromium_page
    errors: list = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    with console_server() as server:
        page.goto(server.url + "/_spoc/console")
        page.wait_for_selector('#connection[data-state="live"]')
        local = 'section[data-local="true"]'
        # the ownership tree: runtime -> services, with their states and greenlets
        page.wait_for_selector(f'{local} li[data-node="jobs"][data-state="running"]')
        assert "jobs:worker-1" in page.locator(f'{local} li[data-node="jobs"] .greenlets').inner_text()
        assert page.locator(f'{local} li[data-node="flaky"]').get_attribute("data-state") == "running"

        # items held by the workers: the pending count rises, then drains to 0
        server.post("/jobs", {"items": list(range(6)), "hold": True})
        page.wait_for_function("() => { const c = document.querySelector("
                               "'section[data-local=\"true\"] tr[data-queue=\"jobs\"] td.pending');"
                               " return c && c.textContent === '4'; }")  # two in flight, four waiting
        assert _cell(page, "jobs", "in-flight") == "2"
        server.post("/jobs/release")
        page.wait_for_function("() => document.querySelector("
                               "'section[data-local=\"true\"] tr[data-queue=\"jobs\"] td.pending').textContent === '0'")

        # a crash with no restarts left: failed, with its error; "restart" brings it back
        server.post("/crash")
        failed = page.wait_for_selector(f'{local} li[data-node="flaky"][data-state="failed"]')
        assert "flaky broke on purpose" in failed.inner_text()
        page.click(f'{local} button.restart[data-service="flaky"]')
        page.wait_for_selector(f'{local} li[data-node="flaky"][data-state="running"]')
        assert "flaky" in page.locator(f"{local} ol.errors").inner_text()
        page.screenshot(path=str(tmp_path / "console.png"), full_page=True)
    assert errors == []
    assert (tmp_path / "console.png").stat().st_size > 10_000
