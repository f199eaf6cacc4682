from __future__ import annotations

from pathlib import Path

import pytest

from portal.app import create_app
from portal.errors import SettingsError
from portal.sealing import Sealer
from portal.settings import Mode, Settings

STRONG = "x" * 40


def test_settings_are_read_once_from_portal_variables_and_typed() -> None:
    settings = Settings.from_env(
        {
            "PORTAL_MODE": "production",
            "PORTAL_SECRET_KEY": STRONG,
            "PORTAL_PORT": "9001",
            "PORTAL_SHOPIFY_TIMEOUT": "2.5",
            "PORTAL_SMTP_STARTTLS": "yes",
            "PORTAL_UPLOAD_DIR": "/srv/uploads",
            "UNRELATED": "ignored",
        }
    )
    assert settings.mode is Mode.PRODUCTION
    assert settings.port == 9001
    assert settings.shopify_timeout == 2.5
    assert settings.smtp_starttls is True
    assert settings.upload_dir == Path("/srv/uploads")
    assert str(settings.secret_key) == STRONG
    assert STRONG not in repr(settings)


def test_malformed_setting_is_refused_with_its_name() -> None:
    with pytest.raises(SettingsError, match="PORTAL_PORT"):
        Settings.from_env({"PORTAL_PORT": "eighty"})


@pytest.mark.parametrize("secret", ["change-me", "", "short"])
def test_app_refuses_to_start_with_a_placeholder_secret_outside_the_demo(secret: str) -> None:
    settings = Settings.from_env({"PORTAL_MODE": "production", "PORTAL_SECRET_KEY": secret})
    with pytest.raises(SettingsError, match="PORTAL_SECRET_KEY"):
        create_app(settings)


def test_app_refuses_to_start_without_encryption_keys_outside_the_demo() -> None:
    settings = Settings.from_env({"PORTAL_MODE": "production", "PORTAL_SECRET_KEY": STRONG})
    with pytest.raises(SettingsError, match="PORTAL_ENCRYPTION_KEYS"):
        create_app(settings)


def test_encryption_keys_that_are_not_fernet_keys_are_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="PORTAL_ENCRYPTION_KEYS"):
        Sealer.from_text("not-a-key")


def test_demo_starts_with_the_placeholder_secret() -> None:
    settings = Settings.from_env({"PORTAL_MODE": "demo"})
    assert create_app(settings) is not None


def test_env_example_names_every_setting() -> None:
    example = (Path(__file__).parents[1] / ".env.example").read_text()
    for name in Settings.__dataclass_fields__:
        assert f"PORTAL_{name.upper()}=" in example, name


def test_a_dotenv_file_is_read_beneath_the_environment(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORTAL_PORT=9100\nPORTAL_LOG_LEVEL=debug\n# a comment\n")
    settings = Settings.from_env({"PORTAL_PORT": "9200"}, env_file=env_file)
    assert settings.port == 9200  # the environment wins
    assert settings.log_level == "debug"  # the file fills in the rest


def test_no_dotenv_file_is_fine(tmp_path: Path) -> None:
    settings = Settings.from_env({}, env_file=tmp_path / "missing.env")
    assert settings.port == Settings.port
