"""SPOC's ``spoc.core.exceptions``: the same objects as :mod:`specter_spoc.spoc.exceptions`."""
from ..exceptions import *  # noqa: F401,F403
from ..exceptions import __all__  # noqa: F401
