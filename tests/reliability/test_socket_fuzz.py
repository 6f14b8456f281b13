"""Socket.IO fuzzing of the blog platform example (hypothesis).

Random event names (the example's ``posts:list`` / ``post:get``, reserved
names such as ``connect``/``disconnect``/``message``, the server's own
broadcast names, random text) with random arguments (none, several, JSON
values of every type, binary) go through Flask-SocketIO's test client, i.e.
python-socketio's real packet handling and the runtime's SocketIngress.

Protection checked: the SocketIngress dispatcher (error acknowledgements
instead of exceptions, no internals in them) and the example's payload
Schemas. No exception may escape, known events must be acknowledged with
``ok: true`` or a 4xx error acknowledgement, the fuzzing client must stay
connected, and a second, well-behaved client connected throughout must keep
getting correct acknowledgements and broadcasts.
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reliability_checks import leaked_internals, no_internal_text

MAX_EXAMPLES = 800
KNOWN = ["posts:list", "post:get"]
RESERVED = ["connect", "disconnect", "message", "json", "connect_error", "specter_error", "post_published",
            "comment_added", "server_shutdown", ""]

_text = st.text(max_size=30).filter(no_internal_text)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                     st.floats(allow_nan=True, allow_infinity=True), _text,
                     st.sampled_from([0, 1, 100, 101, 2 ** 31 - 1, 2 ** 31, 2 ** 63, "1", "10", True]))
json_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10)
payloads = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(["id", "limit"]) | _text, json_values, max_size=3),
    st.binary(max_size=64),
)
event_names = st.sampled_from(KNOWN + RESERVED) | _text
arguments = st.lists(payloads, max_size=3)


def _names(received: List[Dict[str, Any]]) -> List[str]:
    return [event["name"] for event in received]


def _problem(event: str, answer: Any, received: List[Dict[str, Any]]) -> Optional[str]:
    """What is wrong with the server's answer to one fuzzed event, or None."""
    shown = json.dumps([answer, received], default=repr)
    leaks = leaked_internals(shown)
    if leaks:
        return f"internal text {leaks}: {shown[:300]}"
    for item in received:
        if item["name"] == "specter_error" and not 400 <= item["args"][0].get("status", 0) < 500:
            return f"error status {item['args'][0].get('status')}: {item['args'][0]}"
    if event in KNOWN:
        if not isinstance(answer, dict):
            return f"no acknowledgement: {answer!r}"
        if answer.get("ok") is not True:
            if answer.get("ok") is not False or not 400 <= answer.get("status", 0) < 500:
                return f"error acknowledgement status {answer.get('status')}: {answer}"
            if "specter_error" not in _names(received):
                return f"no specter_error event with the error acknowledgement: {received}"
    return None


def _check_good_client(good: Any) -> None:
    assert good.is_connected(), "the well-behaved client was disconnected"
    answer = good.emit("posts:list", {"limit": 5}, callback=True)
    assert isinstance(answer, dict) and answer.get("ok") is True, answer
    stray = [e for e in good.get_received() if e["name"] == "specter_error"]
    assert not stray, f"the well-behaved client got another client's errors: {stray}"


def test_random_socket_events_never_escape_and_other_clients_are_unaffected(seeded_blog: Any,
                                                                            fuzz_cases: Any) -> None:
    blog = seeded_blog
    socketio = blog.client.socketio
    good = socketio.test_client(blog.app)
    fuzzer = socketio.test_client(blog.app)
    tried: List[int] = [0]
    failures: Dict[Any, str] = {}
    reconnects: List[str] = []
    try:
        assert good.is_connected() and fuzzer.is_connected()

        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(event=event_names, args=arguments)
        @example(event="post:get", args=[{"id": 2 ** 63}])
        @example(event="posts:list", args=[{"limit": float("nan")}])
        @example(event="post:get", args=[{"id": 1}, {"id": 2}])
        def one(event: str, args: List[Any]) -> None:
            nonlocal fuzzer
            tried[0] += 1
            answer = fuzzer.emit(event, *args, callback=True)  # must not raise
            received = fuzzer.get_received()
            problem = _problem(event, answer, received)
            if problem is not None:  # recorded; the run goes on so one report lists every kind
                failures.setdefault((event if event in KNOWN else "other", problem.split(":")[0]),
                                    f"{event!r} {json.dumps(args, default=repr)[:200]}: {problem}")
            if not fuzzer.is_connected():
                # only a client-sent "disconnect" may end the fuzzing client's own connection
                assert event == "disconnect", (event, args)
                reconnects.append(event)
                fuzzer = socketio.test_client(blog.app)
            if tried[0] % 100 == 0:
                _check_good_client(good)

        one()
        assert not failures, (f"{len(failures)} kinds of bad answers in {tried[0]} events:\n  "
                              + "\n  ".join(sorted(failures.values())))
        _check_good_client(good)
        # broadcasts still reach both: publish over HTTP
        good.get_received()
        fuzzer.get_received()
        post = blog.client.post(blog.token, "After the fuzz", "still broadcasting", publish=True)
        for client in (good, fuzzer):
            published = [e["args"][0] for e in client.get_received() if e["name"] == "post_published"]
            assert [p["id"] for p in published] == [post["id"]], published
        assert blog.client.runtime.health()["status"] == "ok"
    finally:
        fuzz_cases("socket events (in-process)", tried[0])
        for client in (good, fuzzer):
            if client.is_connected():
                client.disconnect()
