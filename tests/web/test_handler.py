"""Handler: declared events are subscribed at setup and released at teardown."""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

import pytest

from specter_spoc import Handler


class Chat(Handler):
    name = "chat"
    events = {"chat:send": "on_send"}

    def on_send(self, data: Any = None) -> dict:
        return {"ok": True}


class FakeSocketIO:
    """A SocketIOLike test double: records what the handler subscribes."""

    server = None

    def __init__(self) -> None:
        self.subscribed: List[Tuple[str, Callable[..., Any]]] = []

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        pass

    def on_event(self, message: str, handler: Callable[..., Any], namespace: Optional[str] = None) -> None:
        self.subscribed.append((message, handler))


def test_setup_without_a_runtime_subscribes_on_the_given_server() -> None:
    socketio = FakeSocketIO()
    handler = Chat().setup(socketio)
    try:
        assert [event for event, _ in socketio.subscribed] == ["chat:send"]
        assert handler.registered and handler.socketio is socketio
    finally:
        handler.teardown()
    assert not handler.registered and handler.socketio is None


def test_setup_with_no_server_and_no_runtime_names_the_fix() -> None:
    handler = Chat()
    with pytest.raises(RuntimeError, match=r"Handler 'chat'.*'chat:send'.*handler\.setup\(socketio\)"):
        handler.setup(None)
    assert not handler.registered
