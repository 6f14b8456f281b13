"""SPOC's ``spoc.utils``: ``get_info`` (the component record of an object)."""
from .components import get_info

__all__ = ["get_info"]
