"""The live page in a real browser: headless Chromium (Debian's package,
driven by Playwright) opens the page served by gunicorn's
GeventWebSocketWorker; a post published over HTTP, then a comment approved,
appear without a reload."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Dict, Iterator, Set

import pytest
import requests

from blog_example_helpers import PASSWORD

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = Path("/tmp/blog_platform_live.png")


def _chromium_pids() -> Set[int]:
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{entry}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"chromium" in cmdline and state != "Z":
            pids.add(int(entry))
    return pids


@pytest.fixture
def chromium_page() -> Iterator[Any]:
    """A fresh page in headless Chromium; afterwards no Chromium process of
    this test may be left running."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium).")
    from playwright.sync_api import sync_playwright

    before = _chromium_pids()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()
    deadline = time.monotonic() + 10
    while _chromium_pids() - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _chromium_pids() - before, "Chromium processes are still running after the test"


def _api(url: str, method: str, path: str, token: str = "", **kwargs: Any) -> Dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, url + path, headers=headers, timeout=10, **kwargs)
    assert response.status_code in (200, 201), (response.status_code, response.text)
    return response.json()


def _login(url: str, name: str) -> str:
    _api(url, "POST", "/api/users", json={"username": name, "email": f"{name}@example.com", "password": PASSWORD,
                                          "full_name": name.title()})
    return _api(url, "POST", "/api/login", json={"username": name, "password": PASSWORD})["token"]


def test_page_shows_published_posts_and_approved_comments_live(blog_server: Any, chromium_page: Any) -> None:
    page = chromium_page
    errors: list = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    with blog_server("gunicorn") as server:
        url = server.url
        alice, bob = _login(url, "alice"), _login(url, "bob")
        first = _api(url, "POST", "/api/posts", alice, json={"title": "Already here", "content": "Before the page",
                                                             "publish": True})["post"]
        page.goto(url + "/")
        page.wait_for_selector('#status[data-state="live"]')
        page.evaluate("() => { window.__loadedOnce = true; }")  # gone if the page reloads
        assert page.locator("article.post").count() == 1
        assert page.locator(f'article.post[data-post-id="{first["id"]}"] h2').inner_text() == "Already here"

        draft = _api(url, "POST", "/api/posts", alice, json={"title": "Published while you watch",
                                                             "content": "No reload needed."})["post"]
        assert page.locator(f'article.post[data-post-id="{draft["id"]}"]').count() == 0  # drafts stay private
        _api(url, "POST", f"/api/posts/{draft['id']}/publish", alice)
        article = page.wait_for_selector(f'article.post[data-post-id="{draft["id"]}"]')
        assert article.query_selector("h2").inner_text() == "Published while you watch"
        assert page.locator("article.post").first.get_attribute("data-post-id") == str(draft["id"])

        comment = _api(url, "POST", f"/api/posts/{draft['id']}/comments", bob, json={"text": "Appears live"})
        page.wait_for_selector(f'article.post[data-post-id="{draft["id"]}"] .pending:has-text("1 comment")')
        _api(url, "POST", f"/api/comments/{comment['comment']['id']}/approve", alice)
        item = page.wait_for_selector(f'article.post[data-post-id="{draft["id"]}"] '
                                      f'li.comment[data-comment-id="{comment["comment"]["id"]}"]')
        assert "Appears live" in item.inner_text() and "Bob" in item.inner_text()
        assert page.evaluate("() => window.__loadedOnce === true"), "the page was reloaded"
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert server.terminate(timeout=30) < 10
    assert errors == []
    assert SCREENSHOT.stat().st_size > 10_000


def test_page_survives_a_server_restart_and_reloads_the_list(blog_server: Any, chromium_page: Any) -> None:
    """SIGTERM: the page is told, shows the restart, reconnects to the new
    process on the same port and lists what was published meanwhile."""
    page = chromium_page
    with blog_server("main") as server:
        port, url = server.port, server.url
        alice = _login(url, "alice")
        page.goto(url + "/")
        page.wait_for_selector('#status[data-state="live"]')
        page.evaluate("() => { window.__loadedOnce = true; }")
        assert server.terminate(timeout=30) < 10
        page.wait_for_selector('#status[data-state="restarting"]')
    with blog_server("main", port=port) as again:
        post = _api(again.url, "POST", "/api/posts", _relogin(again.url, "alice", alice),
                    json={"title": "Written during the restart", "content": "...", "publish": True})["post"]
        page.wait_for_selector('#status[data-state="live"]', timeout=15_000)
        page.wait_for_selector(f'article.post[data-post-id="{post["id"]}"]')
        assert page.evaluate("() => window.__loadedOnce === true"), "the page was reloaded"
        assert again.terminate(timeout=30) < 10


def _relogin(url: str, name: str, token: str) -> str:
    """The same SECRET_KEY keeps the old token valid; check it, then reuse it."""
    assert _api(url, "GET", "/api/me", token)["user"]["username"] == name
    return token
