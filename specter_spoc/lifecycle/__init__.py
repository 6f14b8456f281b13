"""Lifecycle primitives: Service and friends (no Flask in this layer)."""
from .service import Service

__all__ = ["Service"]
