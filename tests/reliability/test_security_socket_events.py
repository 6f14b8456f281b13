"""A client cannot fire the server's connect/disconnect handlers with an event.

Protection checked: the runtime's Socket.IO dispatcher (SocketIngress) runs
``connect`` and ``disconnect`` subscribers only for real connections and
disconnections. python-socketio itself calls the ``connect`` / ``disconnect``
handlers for an ordinary EVENT packet of that name too, with arguments the
client chose, so without the protection a client can replay its "connect"
(auth and presence code runs again) or announce a fake "disconnect" while
staying connected.
"""
from __future__ import annotations

from typing import Any, List, Tuple


def test_client_sent_connect_and_disconnect_events_do_not_reach_the_handlers(make_blog: Any) -> None:
    blog = make_blog()
    calls: List[Tuple[str, Tuple[Any, ...]]] = []
    ingress = blog.runtime.socket_ingress
    with blog.runtime.scope.activate():
        ingress.subscribe("connect", lambda *args: calls.append(("connect", args)))
        ingress.subscribe("disconnect", lambda *args: calls.append(("disconnect", args)))
    client = blog.socketio.test_client(blog.app)
    try:
        assert [name for name, _ in calls] == ["connect"]  # the real connection
        client.emit("connect", {"token": "forged"}, callback=True)
        client.emit("disconnect", "forged reason", callback=True)
        assert client.is_connected()
        assert [name for name, _ in calls] == ["connect"], f"a client event ran the handlers: {calls}"
    finally:
        client.disconnect()
    assert [name for name, _ in calls] == ["connect", "disconnect"]  # the real disconnection
