"""create_app()'s security policy: production needs a strong SECRET_KEY,
however it is given, and the refusal is a BootError saying how to make one."""
from __future__ import annotations

from pathlib import Path

import pytest

from specter_spoc import BootError, create_app
from specter_spoc.project import DiagnosticError


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    (tmp_path / "settings.py").write_text("INSTALLED_APPS = []\n")
    return tmp_path


@pytest.mark.parametrize("key", [None, "", "   ", "x", "changeme", "k" * 31, b"short"])
def test_production_refuses_a_missing_or_weak_key_with_a_boot_error(project_dir: Path, key: object,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    config = {"SECRET_KEY": key} if key is not None else None
    with pytest.raises(BootError, match=r"SPC011") as info:
        create_app(project_dir, mode="production", config=config)
    assert "secrets.token_hex(32)" in str(info.value)


def test_the_project_diagnostic_is_a_boot_error_too() -> None:
    assert issubclass(DiagnosticError, BootError)


def test_a_strong_key_given_to_create_app_is_honoured(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    key = "3f9a" * 16
    app = create_app(project_dir, mode="production", config={"SECRET_KEY": key})
    try:
        assert app.config["SECRET_KEY"] == key
    finally:
        app.extensions["specter_spoc"].shutdown()


def test_development_without_a_key_gets_a_random_one(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    app = create_app(project_dir, mode="development")
    try:
        assert len(app.config["SECRET_KEY"]) == 64
    finally:
        app.extensions["specter_spoc"].shutdown()
