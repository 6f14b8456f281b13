"""HTTP fuzzing of the blog platform example (hypothesis).

Every route and method of the example's ``url_map`` gets random requests:
JSON bodies (recursive values, wrong types for the real fields, huge and
non-finite numbers, unicode, nesting deeper than the JSON decoder's
recursion limit), form and raw-byte bodies, random content types (JSON,
text, form, none, garbage), random query strings, random path arguments
(known ids, huge ints, text), with no token, a valid token or a bad one.

Protection checked: the JSON error envelope and the input validation of the
example and of specter_spoc (``expect_json``, Schemas, the HTTP error
handlers). Every answer must be 2xx or 4xx, JSON on ``/api`` and ``/_spoc``
paths, and free of traceback text and exception class names.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reliability_checks import first_problem, no_internal_text

#: cases tried by the fuzz test (about 8 s on two busy cores)
MAX_EXAMPLES = 1000

# ------------------------------------------------------------- strategies
_text = st.text(max_size=40).filter(no_internal_text)
_huge_ints = st.integers(min_value=-(2 ** 200), max_value=2 ** 200)
_numbers = st.one_of(
    st.integers(min_value=-3, max_value=300), _huge_ints,
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([10 ** 400, -(10 ** 400), 2 ** 63, 2 ** 31]),
)
_scalars = st.one_of(st.none(), st.booleans(), _numbers, _text)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
#: every field name the example's schemas know, so wrong types reach validators
FIELDS = ["username", "email", "password", "full_name", "title", "content", "publish", "text", "bio",
          "avatar_url", "website", "limit", "offset", "published", "comments", "q", "id"]
field_dicts = st.dictionaries(st.sampled_from(FIELDS) | _text, json_values, max_size=6)
plausible = st.fixed_dictionaries({}, optional={
    "username": st.from_regex(r"[a-z][a-z0-9_]{2,12}", fullmatch=True) | _text,
    "email": st.emails() | _text,
    "password": st.text(min_size=0, max_size=140).filter(no_internal_text),
    "title": _text, "content": st.text(max_size=300).filter(no_internal_text), "text": _text,
    "publish": st.booleans() | _scalars, "bio": _text, "website": st.sampled_from(
        ["https://example.com", "javascript:alert(1)", "http://", "ftp://x"]) | _text,
})


def _deep(depth: int, opener: str) -> str:
    closer = {"[": "]", "{\"a\":": "}"}[opener]
    return opener * depth + "1" + closer * depth


deep_json = st.builds(_deep, st.integers(min_value=50, max_value=5000), st.sampled_from(["[", "{\"a\":"]))

json_bodies = st.one_of(json_values, field_dicts, plausible).map(
    lambda v: json.dumps(v, allow_nan=True).encode())
bodies = st.one_of(
    st.none(),
    json_bodies,
    deep_json.map(str.encode),
    json_bodies.map(lambda b: b[: max(0, len(b) // 2)]),  # truncated JSON
    st.binary(max_size=200),
    st.dictionaries(st.sampled_from(FIELDS) | _text, _text, max_size=4).map(lambda d: urlencode(d).encode()),
)
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
                 "application/json; charset=bogus", "text/plain", "application/x-www-form-urlencoded",
                 "multipart/form-data", "multipart/form-data; boundary=xyz", "application/*+json",
                 "application/vnd.api+json", "text/html", "*/*", ""]
content_types = st.none() | st.sampled_from(CONTENT_TYPES) | st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
_query_values = st.one_of(_text, _numbers.map(str), st.sampled_from(["0", "1", "true", "no", "", "1e3", "-1"]))
queries = st.dictionaries(st.sampled_from(["published", "comments", "limit", "offset", "q"]) | _text,
                          _query_values, max_size=4)
TOKENS = ("none", "valid", "other", "garbage", "scheme", "empty")

_ARG = re.compile(r"<(?:(?P<conv>[a-z]+):)?(?P<name>\w+)>")


def _path_args(ids: Dict[str, int]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(sorted(set(ids.values()))).map(str),
        st.integers(min_value=0, max_value=2 ** 100).map(str),
        st.sampled_from([str(2 ** 63), str(2 ** 64), "0", "-1", "1.5", "app.js", "index.html"]),
        st.text(min_size=1, max_size=20).filter(no_internal_text).map(lambda s: quote(s, safe="")),
    )


@st.composite
def targets(draw: Any, endpoints: List[Tuple[str, str]], ids: Dict[str, int]) -> Tuple[Tuple[str, str], str]:
    """An endpoint and a concrete path for it (path arguments drawn)."""
    endpoint = draw(st.sampled_from(endpoints))
    path = _ARG.sub(lambda m: draw(_path_args(ids), label=m.group("name")), endpoint[0])
    return endpoint, path


def _endpoints(app: Any) -> List[Tuple[str, str]]:
    """(rule, method) for every route of the app, HEAD and OPTIONS included."""
    return sorted({(rule.rule, method) for rule in app.url_map.iter_rules() for method in rule.methods or ()})


# ------------------------------------------------------------------- test
def _authorization(kind: str, blog: Any) -> Optional[str]:
    return {"none": None, "valid": f"Bearer {blog.token}", "other": f"Bearer {blog.other_token}",
            "garbage": "Bearer not.a.token", "scheme": f"Basic {blog.token}", "empty": "Bearer "}[kind]


def test_random_requests_to_every_endpoint_get_2xx_or_4xx_json_without_internals(seeded_blog: Any,
                                                                                   fuzz_cases: Any) -> None:
    blog = seeded_blog
    http = blog.app.test_client()
    endpoints = _endpoints(blog.app)
    assert len(endpoints) >= 30, endpoints  # every route with HEAD/OPTIONS: the map was read
    seen: Counter = Counter()
    #: (method, rule, problem) -> the first request that showed it; the run goes on so that
    #: one report lists every kind of problem, with the full case count
    failures: Dict[Tuple[str, str, str], str] = {}

    # derandomize: the same cases every run, so coverage of every endpoint is a fact, not luck
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(target=targets(endpoints, blog.ids), body=bodies, content_type=content_types, query=queries,
           token=st.sampled_from(TOKENS))
    # always tried: nesting deeper than the JSON decoder's recursion limit, an id SQLite cannot store
    @example(target=(("/api/users", "POST"), "/api/users"), body=_deep(3000, "[").encode(),
             content_type="application/json", query={}, token="none")
    @example(target=(("/api/posts/<int:post_id>", "GET"), f"/api/posts/{2 ** 64}"), body=None,
             content_type=None, query={}, token="none")
    def one(target: Tuple[Tuple[str, str], str], body: Optional[bytes], content_type: Optional[str],
            query: Dict[str, str], token: str) -> None:
        endpoint, path = target
        rule, method = endpoint
        if query:
            path += "?" + urlencode(query)
        headers: Dict[str, str] = {}
        auth = _authorization(token, blog)
        if auth is not None:
            headers["Authorization"] = auth
        kwargs: Dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["data"] = body
        if content_type is not None:
            kwargs["content_type"] = content_type
        response = http.open(path, method=method, **kwargs)
        seen[endpoint] += 1
        text = response.get_data(as_text=True)
        # JSON APIs answer JSON (the console page too, to a client that does not ask for HTML)
        want_json = rule.startswith(("/api", "/_spoc")) and method not in ("HEAD", "OPTIONS") \
            and "static" not in rule
        problem = first_problem(response.status_code, response.content_type, text, want_json=want_json)
        if want_json and problem is None and text:
            try:
                json.loads(text)
            except ValueError:
                problem = "body is not valid JSON"
        if problem is not None:
            failures.setdefault((method, rule, problem.split(":")[0]),
                                f"{method} {path[:120]} ({content_type!r}, {len(body or b'')} bytes, token {token}): "
                                f"{problem}: {response.status_code} {text[:200]!r}")

    # every endpoint gets at least 5 of the nasty fixed cases too, whatever
    # the random draw gave it (the number of routes grows with the app)
    fixed = [(None, None, "none"), (b"{}", "application/json", "valid"), (b"[1]", "application/json", "garbage"),
             (b"\x00\xff", "text/plain", "other"), (_deep(3000, "[").encode(), "application/json", "empty")]
    try:
        one()
        for endpoint in endpoints:
            path = _ARG.sub("1", endpoint[0])
            for body, content_type, token in fixed[:max(0, 5 - seen[endpoint])]:
                one.hypothesis.inner_test(target=(endpoint, path), body=body, content_type=content_type,
                                          query={}, token=token)
    finally:
        fuzz_cases("http requests", sum(seen.values()))
    assert not failures, (f"{len(failures)} kinds of bad answers in {sum(seen.values())} requests:\n  "
                          + "\n  ".join(sorted(failures.values())[:30]))
    rarely = [e for e in endpoints if seen[e] < 5]
    assert not rarely, f"endpoints hardly fuzzed: {rarely}"
    health = blog.client.runtime.health()
    assert health["status"] == "ok", health  # nothing crashed behind the answers
