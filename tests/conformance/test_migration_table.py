"""The migration table that Impl.difference() checks against."""
from __future__ import annotations

import conformance_harness as harness


def test_every_named_difference_is_a_row_and_rows_are_unique():
    rows = harness.migration_rows()
    names = {k: v for k, v in vars(harness).items() if k.startswith("ROW_")}
    assert len(names) >= 6
    missing = {k: v for k, v in names.items() if not any(r.startswith(v) for r in rows)}
    assert missing == {}
    body = [r for r in rows if r != "difference"]
    assert len(body) == len(set(body)), "a difference is listed twice"
