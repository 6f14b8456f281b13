"""Benchmark: a failed login's time for an unknown username vs a wrong password.

    python -m benchmarks.bench_login [--repeats N]

The blog example (examples/blog_platform) checks an unknown username
against a dummy hash so both failures cost one scrypt check; the unit test
(tests/example/test_blog_login_work.py) proves the work is identical, and
this measures the result: medians of interleaved attempts at the production
scrypt cost, in process, on an SQLite file. Goal: ratio close to 1.0 (a
ratio far from 1 would let a client tell which usernames exist).
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, List  # noqa: E402

from benchmarks._harness import interleaved, row, scenario_main  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "blog_platform"
REAL_COST = 2 ** 14
PASSWORD = "correct horse battery staple"


def run(repeats: int = 9, quick: bool = False) -> List[Dict[str, object]]:
    from specter_spoc import create_app

    repeats = 3 if quick else repeats
    with tempfile.TemporaryDirectory() as folder:
        config = {"DATABASE_URL": f"sqlite:///{Path(folder) / 'blog.db'}", "DATABASE_AUTO_MIGRATE": True,
                  "SECRET_KEY": "bench-secret-key", "PASSWORD_SCRYPT_N": REAL_COST}
        app = create_app(EXAMPLE, mode="test", config=config)
        try:
            client = app.test_client()
            created = client.post("/api/users", json={"username": "alice", "email": "alice@example.com",
                                                      "password": PASSWORD})
            assert created.status_code == 201, created.get_data(as_text=True)

            def failed_login(username: str) -> None:
                response = client.post("/api/login", json={"username": username, "password": "wrong"})
                assert response.status_code == 401, response.get_data(as_text=True)

            failed_login("nobody")  # warm-up: the hashing worker runs, the dummy hash is made
            medians = interleaved({"unknown": lambda: failed_login("nobody"),
                                   "wrong": lambda: failed_login("alice")}, repeats)
        finally:
            app.extensions["specter_spoc"].shutdown()
    return [row("failed login: unknown username vs wrong password", medians["unknown"] * 1000,
                "wrong password", medians["wrong"] * 1000, "ms", repeats, note="goal: ratio ~1.0")]


if __name__ == "__main__":
    sys.exit(scenario_main(run, __doc__, repeats=9))
