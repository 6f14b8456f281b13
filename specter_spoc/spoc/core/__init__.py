"""SPOC's ``spoc.core`` module paths (``spoc.core.importer``,
``spoc.core.config_loader``, ``spoc.core.exceptions``), so imports written
for SPOC resolve here too. The code lives one level up."""
