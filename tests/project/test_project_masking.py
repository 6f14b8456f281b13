"""Secret-looking settings are masked everywhere they are shown."""
from __future__ import annotations

import pytest

from specter_spoc.project import mask_settings, mask_value
from specter_spoc.project.masking import MASK, is_secret_name, mask_text


@pytest.mark.parametrize("name", ["SECRET_KEY", "DB_PASSWORD", "api_token", "AWS_ACCESS_KEY_ID",
                                  "GOOGLE_CREDENTIALS", "private_pem", "EMAIL_PASSWD"])
def test_secret_names(name):
    assert is_secret_name(name)
    assert mask_value(name, "abc") == MASK


@pytest.mark.parametrize("name", ["DEBUG", "INSTALLED_APPS", "DB_HOST"])
def test_plain_names(name):
    assert not is_secret_name(name) and mask_value(name, "abc") == "abc"


def test_urls_and_query_parameters():
    assert mask_text("redis://user:pw@host:6379/0") == f"redis://user:{MASK}@host:6379/0"
    assert mask_text("redis://:pw@host") == f"redis://:{MASK}@host"
    assert mask_text("postgres://host/db?sslmode=require&password=x&api_key=y") == \
        f"postgres://host/db?sslmode=require&password={MASK}&api_key={MASK}"
    assert mask_text("http://example.com/path") == "http://example.com/path"
    assert mask_text("redis://user@host") == "redis://user@host"


def test_nested_structures_and_empty_values():
    data = {
        "DATABASE": {"host": "db", "password": "pw", "user": "app", "options": {"token": "t"}},
        "CACHES": [{"url": "redis://u:pw@h"}],
        "SECRET_KEY": "", "API_KEY": None, "TOKENS": ["a", "b"], "PORT": 5432,
        "CREDENTIALS": {"id": "x"},
    }
    masked = mask_settings(data)
    assert masked["DATABASE"] == {"host": "db", "password": MASK, "user": "app", "options": {"token": MASK}}
    assert masked["CACHES"] == [{"url": f"redis://u:{MASK}@h"}]
    assert masked["SECRET_KEY"] == "" and masked["API_KEY"] is None  # unset stays visible
    assert masked["TOKENS"] == [MASK, MASK] and masked["PORT"] == 5432
    assert masked["CREDENTIALS"] == {"id": MASK}
    assert data["DATABASE"]["password"] == "pw"  # the input is not modified
