"""The child side of :mod:`specter_spoc.lifecycle.offload` (stdlib only).

Started as a plain, unpatched Python process. Reads length-prefixed pickled
requests on its stdin and writes length-prefixed pickled replies on a private
copy of its stdout; fd 1 is pointed at stderr so ``print()`` in user code
cannot corrupt the protocol. It exits when its stdin closes.

It is run by file path (not ``-m``) so starting it does not import the
specter_spoc package, Flask or gevent; ``python -m
specter_spoc.lifecycle._offload_worker`` works too.
"""
from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
import traceback
from typing import Any, BinaryIO, Optional, Tuple

_HEADER = struct.Struct(">Q")


def _read_exact(stream: BinaryIO, size: int) -> Optional[bytes]:
    data = stream.read(size)
    if not data or len(data) < size:
        return None
    return data


def _read_frame(stream: BinaryIO) -> Optional[Any]:
    header = _read_exact(stream, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(stream, _HEADER.unpack(header)[0])
    if body is None:
        return None
    return pickle.loads(body)


def _write_frame(stream: BinaryIO, message: Any) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(body)) + body)
    stream.flush()


def _error_reply(exc: BaseException, where: str) -> Tuple[Any, ...]:
    text = traceback.format_exc()
    payload: Optional[bytes]
    try:
        encoded = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(encoded)  # only send what the parent can rebuild
        payload = encoded
    except Exception:
        payload = None
    return ("error", payload, f"{type(exc).__module__}.{type(exc).__qualname__}", str(exc), text, where)


def _serve(requests: BinaryIO, replies: BinaryIO) -> None:
    while True:
        try:
            message = _read_frame(requests)
        except Exception as exc:  # a request that cannot be unpickled here
            _write_frame(replies, _error_reply(exc, "loading the function or its arguments"))
            continue
        if message is None:
            return
        kind = message[0]
        if kind == "init":
            sys.path[:] = list(message[1])
            continue
        _, fn, args, kwargs = message
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # report everything, even SystemExit
            _write_frame(replies, _error_reply(exc, "running the function"))
            continue
        try:
            _write_frame(replies, ("ok", result))
        except Exception as exc:
            _write_frame(replies, _error_reply(exc, "pickling the result"))


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    replies = os.fdopen(os.dup(1), "wb")
    requests = os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)  # user prints go to stderr, not into the protocol
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:
        _serve(requests, replies)
    except (BrokenPipeError, KeyboardInterrupt):
        pass


if __name__ == "__main__":
    main()
