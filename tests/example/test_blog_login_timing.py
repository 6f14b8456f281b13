"""Login must not tell which usernames exist: a wrong password and an
unknown username cost the same (one scrypt check each; an unknown name is
checked against a dummy hash). Measured with the real password cost, as
the medians of interleaved attempts."""
from __future__ import annotations

import statistics
import time
from typing import Dict, List

from blog_example_helpers import PASSWORD, BlogClient

#: the production scrypt cost (tests elsewhere use a cheap one)
REAL_COST = 2 ** 14
ATTEMPTS = 9


def _login_seconds(blog: BlogClient, username: str) -> float:
    started = time.perf_counter()
    status, _ = blog.call("POST", "/api/login", json={"username": username, "password": "not the password"})
    elapsed = time.perf_counter() - started
    assert status == 401
    return elapsed


def test_unknown_user_and_wrong_password_take_the_same_time(make_blog) -> None:  # type: ignore[no-untyped-def]
    blog = make_blog(PASSWORD_SCRYPT_N=REAL_COST)
    blog.register("alice")
    assert blog.login("alice", PASSWORD)
    times: Dict[str, List[float]] = {"alice": [], "nobody": []}
    _login_seconds(blog, "nobody")  # warm-up: the hashing worker process is running, the dummy hash made
    for _ in range(ATTEMPTS):
        for name in times:  # interleaved, so load changes hit both alike
            times[name].append(_login_seconds(blog, name))
    wrong_password, unknown_user = statistics.median(times["alice"]), statistics.median(times["nobody"])
    assert wrong_password > 0.005, f"a scrypt check at n={REAL_COST} should take milliseconds: {times}"
    ratio = unknown_user / wrong_password
    assert 0.7 < ratio < 1.4, (f"unknown user {unknown_user * 1000:.1f} ms vs wrong password "
                               f"{wrong_password * 1000:.1f} ms (medians of {ATTEMPTS})")
