"""Optional integrations (each needs its own extra, e.g. ``specter-spoc[redis]``)."""
