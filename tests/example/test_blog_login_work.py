"""Login must not tell which usernames exist: a wrong password and an
unknown username cost the same work, one scrypt check at the same
parameters (an unknown name is checked against a dummy hash made at the
current cost). Checked by recording the hashing work each failed login
hands to the password worker process (the work still runs, for real); the
wall-clock comparison of the two is a benchmark
(``python -m benchmarks.bench_login``), not a unit test.
"""
from __future__ import annotations

from typing import Any, List, Tuple

import pytest

from blog_example_helpers import PASSWORD, BlogClient
from specter_spoc.lifecycle.offload import ProcessPool

#: the production scrypt cost (tests elsewhere use a cheap one)
REAL_COST = 2 ** 14


@pytest.fixture
def hashing_work(monkeypatch: pytest.MonkeyPatch) -> List[Tuple[str, str]]:
    """(function name, scrypt parameters) of every job handed to a process
    pool: the recorder calls through, so the hashes are really computed."""
    work: List[Tuple[str, str]] = []
    run = ProcessPool.run

    def recording_run(self: ProcessPool, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if fn.__name__ == "verify_password":
            scheme, n, r, p = args[1].split("$")[:4]
            work.append(("verify_password", f"{scheme} n={n} r={r} p={p}"))
        else:
            work.append((fn.__name__, ""))
        return run(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPool, "run", recording_run)
    return work


def _failed_login(blog: BlogClient, username: str) -> None:
    status, _ = blog.call("POST", "/api/login", json={"username": username, "password": "not the password"})
    assert status == 401


def test_unknown_user_and_wrong_password_cost_one_identical_scrypt_check(make_blog, hashing_work) -> None:  # type: ignore[no-untyped-def]
    blog = make_blog(PASSWORD_SCRYPT_N=REAL_COST)
    blog.register("alice")
    assert blog.login("alice", PASSWORD)
    _failed_login(blog, "nobody")  # the first attempt also makes the dummy hash, whoever it names
    hashing_work.clear()
    _failed_login(blog, "alice")
    wrong_password = list(hashing_work)
    hashing_work.clear()
    _failed_login(blog, "nobody")
    unknown_user = list(hashing_work)
    expected = [("verify_password", f"scrypt n={REAL_COST} r=8 p=1")]
    assert wrong_password == expected, wrong_password
    assert unknown_user == wrong_password, (unknown_user, wrong_password)


def test_the_dummy_hash_is_made_once_per_cost_by_the_first_attempt(make_blog, hashing_work) -> None:  # type: ignore[no-untyped-def]
    blog = make_blog(PASSWORD_SCRYPT_N=REAL_COST)
    blog.register("bob")
    hashing_work.clear()
    _failed_login(blog, "bob")  # a known name first: it pays for the dummy hash too
    assert [name for name, _ in hashing_work] == ["hash_password", "verify_password"]
    hashing_work.clear()
    _failed_login(blog, "nobody")
    _failed_login(blog, "bob")
    assert [name for name, _ in hashing_work] == ["verify_password", "verify_password"]
