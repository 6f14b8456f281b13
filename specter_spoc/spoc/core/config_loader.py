"""SPOC's ``spoc.core.config_loader``: the same objects as :mod:`specter_spoc.spoc.config_loader`."""
from ..config_loader import *  # noqa: F401,F403
from ..config_loader import __all__  # noqa: F401
