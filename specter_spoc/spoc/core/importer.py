"""SPOC's ``spoc.core.importer``: the same objects as :mod:`specter_spoc.spoc.importer`."""
from ..importer import *  # noqa: F401,F403
from ..importer import __all__  # noqa: F401
