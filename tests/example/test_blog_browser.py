"""The page in a real browser: headless Chromium (Debian's package, driven by
Playwright) against the example served by gunicorn's GeventWebSocketWorker.

Two users, each in their own browser context (own cookies), use the whole
blog through the page: register, log in, see field errors, write a draft,
edit it, publish it (the other user's open page shows it live), comment
(the author sees it awaiting moderation), approve (the commenter sees it
live), edit the profile, search, log out. The first paint is checked with
JavaScript disabled, the phone width without horizontal scrolling, and the
page survives a server restart. A screenshot of the populated page is saved
(``BLOG_SCREENSHOT`` names the file; docs/img/blog.png is made that way).
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Set

import pytest
import requests

from blog_example_helpers import PASSWORD

from specter_spoc.testing import wait_until

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1000, "height": 900}


#: set in the environment of the Chromium this test process launches (its
#: helper processes inherit it), so other Chromium on the machine is not counted
TAG = ("BLOG_BROWSER_TEST", f"{os.getpid()}-{uuid.uuid4().hex}")


def _our_chromium_pids() -> Set[int]:
    marker = f"{TAG[0]}={TAG[1]}".encode()
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environ and state != "Z":
            pids.add(int(entry))
    return pids


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium; afterwards none of its processes may be left running."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000,
                                              env={**os.environ, TAG[0]: TAG[1]})
        try:
            yield launched
        finally:
            launched.close()
    wait_until(lambda: not _our_chromium_pids(), timeout=10, interval=0.1,
               what="every Chromium process of the test to exit")


class Visitor:
    """One person's browser context and page, collecting script errors."""

    def __init__(self, browser: Any, url: str, viewport: Dict[str, int] = DESKTOP, **options: Any) -> None:
        self.context = browser.new_context(viewport=viewport, **options)
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.url = url
        self.errors: List[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # the browser logs every 4xx answer; the test provokes some on purpose (field errors)
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def open(self) -> Any:
        self.page.goto(self.url + "/")
        self.page.wait_for_selector('#status[data-state="live"]')
        self.page.evaluate("() => { window.__loadedOnce = true; }")  # gone if the page reloads
        return self.page

    def not_reloaded(self) -> bool:
        return bool(self.page.evaluate("() => window.__loadedOnce === true"))

    def register(self, name: str) -> None:
        page = self.page
        page.click("#register-box summary")
        page.fill("#reg-username", name)
        page.fill("#reg-email", f"{name}@example.com")
        page.fill("#reg-full-name", name.title())
        page.fill("#reg-password", PASSWORD)
        page.click("#register-form button[type=submit]")
        page.wait_for_selector("#whoami")  # registered, logged in with the cookie, page reloaded
        assert f"@{name}" in page.inner_text("#whoami")
        page.wait_for_selector('#status[data-state="live"]')
        page.evaluate("() => { window.__loadedOnce = true; }")

    def close(self) -> None:
        self.context.close()


def test_two_users_use_the_whole_blog_in_the_browser(blog_server: Any, browser: Any, tmp_path: Path) -> None:
    with blog_server("gunicorn", BLOG_DEMO="true") as server:
        carol, dave = Visitor(browser, server.url), Visitor(browser, server.url, viewport=PHONE)
        page, other = carol.open(), dave.open()
        assert page.locator("article.post").count() == 3  # the demo posts, rendered on the server

        # a wrong login: the 401 is shown next to the password field
        other.fill("#login-username", "dave")
        other.fill("#login-password", "not a password")
        other.click("#login-form button[type=submit]")
        other.wait_for_selector("#login-password-error:not(:empty)")
        assert "wrong" in other.inner_text("#login-password-error")
        carol.register("carol")
        # a taken username: the 409 is shown next to the username field
        other.click("#register-box summary")
        other.fill("#reg-username", "carol")
        other.fill("#reg-email", "dave@example.com")
        other.fill("#reg-password", PASSWORD)
        other.click("#register-form button[type=submit]")
        other.wait_for_selector("#reg-username-error:not(:empty)")
        assert "already taken" in other.inner_text("#reg-username-error")
        other.click("#register-box summary")  # closed again: register() opens it
        dave.register("dave")

        # bad input: the 400's per-field message next to the field, focus on it
        page.click('#write button[value="false"]')
        page.wait_for_selector("#title-new-error:not(:empty)")
        assert "blank" in page.inner_text("#title-new-error")
        assert page.evaluate("() => document.activeElement.id") == "title-new"

        # a draft, edited, then published: dave's open page shows it live
        page.fill("#title-new", "Gevnet tips")
        page.fill("#content-new", "Greenlets yield on I/O, so one process serves thousands of sockets.")
        page.click('#write button[value="false"]')
        draft = page.wait_for_selector("#drafts li.draft")
        post_id = draft.get_attribute("data-post-id")
        assert page.inner_text("#write [data-ok]") == "Saved as a draft."
        assert other.locator(f'article.post[data-post-id="{post_id}"]').count() == 0  # drafts stay private
        page.click(f'#drafts li.draft[data-post-id="{post_id}"] details summary')
        page.fill(f"#title-{post_id}", "Gevent tips")
        page.click(f'#drafts li.draft[data-post-id="{post_id}"] details button[type=submit]')
        page.wait_for_selector('#drafts li.draft .title:text("Gevent tips")')
        page.click(f'#drafts li.draft[data-post-id="{post_id}"] button.primary')
        page.wait_for_selector("#drafts li.draft", state="detached")
        article = f'article.post[data-post-id="{post_id}"]'
        other.wait_for_selector(f"{article} h3:text('Gevent tips')")
        assert other.locator("article.post").first.get_attribute("data-post-id") == post_id
        assert other.inner_text("#post-total") == "4 published"
        page.wait_for_selector(article)

        # dave comments; carol (the author) sees it awaiting her approval, live
        other.fill(f"#comment-{post_id}", "Which I/O yields?")
        other.click(f"{article} .comment-form button[type=submit]")
        other.wait_for_selector(f"{article} .pending:text('1 comment awaiting moderation')")
        assert other.input_value(f"#comment-{post_id}") == ""  # sent, so the box is empty again
        waiting = page.wait_for_selector(f"{article} li.comment.waiting")
        assert "Which I/O yields?" in waiting.inner_text()
        page.click(f"{article} li.comment.waiting button")
        approved = other.wait_for_selector(f"{article} ul.comment-list li.comment:not(.waiting)")
        assert "Which I/O yields?" in approved.inner_text() and "Dave" in approved.inner_text()
        other.wait_for_selector(f"{article} .pending", state="detached")
        assert carol.not_reloaded() and dave.not_reloaded(), "the pages were reloaded"

        # the phone-width page does not scroll sideways
        assert other.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

        # profile, with a field error first
        page.fill("#profile-website", "not a url")
        page.click("#profile-form button[type=submit]")
        page.wait_for_selector("#profile-website-error:not(:empty)")
        page.fill("#profile-website", "https://carol.example.com")
        page.fill("#profile-bio", "Writes about gevent.")
        page.click("#profile-form button[type=submit]")
        page.wait_for_selector("#profile-form [data-ok]:text('Saved.')")
        profile = requests.get(f"{server.url}/api/users/{page.get_attribute('body', 'data-user-id')}/profile",
                               timeout=10).json()["profile"]
        assert (profile["bio"], profile["website"]) == ("Writes about gevent.", "https://carol.example.com")

        screenshot = Path(os.environ.get("BLOG_SCREENSHOT") or tmp_path / "blog.png")
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        assert screenshot.stat().st_size > 20_000

        # search (a server-rendered result page)
        other.fill("#q", "greenlets")
        other.click("#search button[type=submit]")
        other.wait_for_selector("#results")
        assert other.locator(f"#results {article}").count() == 1
        assert "Gevent tips" in other.inner_text("#results")

        # log out
        page.click("#logout-form button")
        page.wait_for_selector("#login-form")
        assert page.locator("#write").count() == 0
        assert carol.errors == [] and dave.errors == []
        carol.close()
        dave.close()
        assert server.terminate(timeout=30) < 10


def test_first_paint_without_javascript(blog_server: Any, browser: Any) -> None:
    """A client without scripts (a crawler, a slow phone) gets the posts, not
    an empty page, and can page and search."""
    with blog_server("run", BLOG_DEMO="true") as server:
        reader = Visitor(browser, server.url, java_script_enabled=False)
        page = reader.page
        page.goto(server.url + "/")
        assert page.locator("article.post").count() == 3
        assert "Getting Started with SPOC" in page.inner_text("#posts")
        assert page.is_hidden("#empty")
        assert page.inner_text("#status") == "not live (JavaScript off)"
        assert "Great article! Very helpful." in page.inner_text("#posts")
        page.fill("#q", "registry")
        page.click("#search button[type=submit]")
        page.wait_for_selector("#results")
        assert "Advanced SPOC Patterns" in page.inner_text("#results")
        reader.close()
        assert server.terminate(timeout=30) < 10


def test_page_survives_a_server_restart_and_catches_up(blog_server: Any, browser: Any) -> None:
    """SIGTERM: the page is told, shows the restart, reconnects to the new
    process on the same port and shows what was published meanwhile."""
    visitor = Visitor(browser, "")
    page = visitor.page
    with blog_server("run") as server:
        port = server.port
        visitor.url = server.url
        token = _user(server.url, "alice")
        visitor.open()
        assert server.terminate(timeout=30) < 10
        page.wait_for_selector('#status[data-state="restarting"]')
    with blog_server("run", port=port) as again:
        assert requests.get(f"{again.url}/api/me", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code == 200  # the same SECRET_KEY keeps the token valid
        post = requests.post(f"{again.url}/api/posts", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                             json={"title": "Written during the restart", "content": "...", "publish": True})
        assert post.status_code == 201, post.text
        page.wait_for_selector('#status[data-state="live"]', timeout=15_000)
        page.wait_for_selector(f'article.post[data-post-id="{post.json()["post"]["id"]}"]')
        assert visitor.not_reloaded(), "the page was reloaded"
        visitor.close()
        assert again.terminate(timeout=30) < 10


def _user(url: str, name: str) -> str:
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    assert requests.post(f"{url}/api/users", json=body, timeout=10).status_code == 201
    login = requests.post(f"{url}/api/login", json={"username": name, "password": PASSWORD}, timeout=10)
    return str(login.json()["token"])
