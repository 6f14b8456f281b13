"""The web edge: HTTP helpers, Router, Handler, SocketIngress, Controller."""
