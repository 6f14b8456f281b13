"""Users app: accounts, login tokens, profiles and e-mail notifications."""
from __future__ import annotations

from specter_spoc.project import AppConfig

app = AppConfig(
    name="users",
    label="Users",
    description="accounts, login tokens, profiles and e-mail notifications",
    version="1.0",
)
