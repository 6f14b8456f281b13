"""Socket.IO fuzzing on the wire: random websocket frames to a real server.

The in-process fuzz (test_socket_fuzz.py) sends well-formed packets; here a
raw websocket sends what no Socket.IO client would: random text and binary
frames, Engine.IO/Socket.IO packet types with garbage after them, events
with random names, acknowledgement ids and payloads, and binary-attachment
headers. The example runs under gunicorn's GeventWebSocketWorker.

Protection checked: the server side of the protocol stack (gevent-websocket,
python-engineio, python-socketio) plus the runtime's SocketIngress. Only the
fuzzing connection may suffer (it is reconnected when it stops answering);
the worker never restarts, and a well-behaved client connected throughout
keeps its acknowledgements and broadcasts.
"""
from __future__ import annotations

import json
from typing import Any, List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reliability_checks import assert_broadcast_reaches, no_internal_text
from sio_raw import Closed, RawSocketIO

MAX_EXAMPLES = 300

_text = st.text(max_size=40).filter(no_internal_text)
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _text,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
                     max_leaves=8)
_events = st.sampled_from(["posts:list", "post:get", "connect", "disconnect", "message", "x"]) | _text
frames = st.one_of(
    _text,
    st.builds(lambda t, rest: t + rest, st.sampled_from(list("0123456")), _text),
    st.builds(lambda t, rest: t + rest, st.sampled_from(["40", "41", "42", "43", "44", "45", "46"]), _text),
    st.builds(lambda ack, event, args: f"42{ack}" + json.dumps([event, *args]),
              st.sampled_from(["", "1", "007", "99999999999999999999"]), _events, st.lists(_json, max_size=3)),
    st.builds(lambda n, body: f"45{n}-" + body, st.sampled_from(["0", "1", "2"]), _text),
    st.binary(max_size=64),
)


def test_random_frames_hurt_at_most_the_sending_connection(blog_server: Any, fuzz_cases: Any) -> None:
    with blog_server() as server:
        good = RawSocketIO(server.url)
        fuzzer: List[RawSocketIO] = [RawSocketIO(server.url)]
        sent = [0]
        reconnects = [0]
        try:
            def check() -> None:
                assert good.emit("posts:list", {"limit": 1})["ok"] is True
                try:
                    assert fuzzer[0].emit("posts:list", {"limit": 1}, timeout=1)["ok"] is True
                except (Closed, TimeoutError):  # its own garbage ended or stalled it: a new connection
                    fuzzer[0].close()
                    reconnects[0] += 1
                    fuzzer[0] = RawSocketIO(server.url)

            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])
            @given(frame=frames)
            def one(frame: Any) -> None:
                sent[0] += 1
                try:
                    fuzzer[0].send_raw(frame)
                except Closed:
                    pass
                if sent[0] % 20 == 0 or fuzzer[0].closed:
                    check()

            one()
            check()
            # broadcasts still reach the well-behaved client
            assert_broadcast_reaches(server.url, good)
            log = server.log()
            assert log.count("Booting worker") == 1, "the worker restarted:\n" + log[-3000:]
            assert "WORKER TIMEOUT" not in log
        finally:
            fuzz_cases("socket frames (real server)", sent[0])
            good.close()
            fuzzer[0].close()
