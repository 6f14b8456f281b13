"""On PYTHONPATH, this makes a process behave as with specter_spoc's default
install, which has no gevent-websocket (the dev extra installs it for the
GeventWebSocketWorker tests): python-engineio then upgrades WebSockets itself
through simple-websocket."""
raise ImportError("gevent-websocket is hidden here to emulate the default install (tests/e2e/default_install)")
