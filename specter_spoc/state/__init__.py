"""Shared state: Store (flat), Model (nested, selectors), Cache (TTL, single flight)."""
from .cache import Cache, create_cache
from .model import Model, create_model
from .store import Store, create_store

__all__ = ["Cache", "Model", "Store", "create_cache", "create_model", "create_store"]
