from __future__ import annotations

import os
import subprocess
import sys
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


# --- what production refuses -------------------------------------------------------------------

KEY = "67UsmhcLX8P3WnlnOA61OIrXBfpa0D9cDZaIPOVqVEc="  # a test value, not a secret
PRODUCTION = {
    "PORTAL_MODE": "production",
    "PORTAL_SECRET_KEY": STRONG,
    "PORTAL_ENCRYPTION_KEYS": KEY,
    "PORTAL_BASE_URL": "https://claims.example.com",
    "PORTAL_FORWARDED_ALLOW_IPS": "10.0.0.0/8",
    "PORTAL_SHOPIFY_CLIENT_ID": "portal-app",
    "PORTAL_SHOPIFY_CLIENT_SECRET": "y" * 32,
    "PORTAL_SMTP_HOST": "smtp.example.com",
    "PORTAL_MAIL_FROM": "Claims <claims@example.com>",
}


def production(**changes: str) -> Settings:
    return Settings.from_env({**PRODUCTION, **changes}, env_file="/nonexistent")


def problems_of(settings: Settings) -> list[str]:
    with pytest.raises(SettingsError) as refused:
        settings.check()
    return str(refused.value).splitlines()


def test_production_settings_that_can_work_start() -> None:
    assert production().check().mode is Mode.PRODUCTION


def test_production_lists_every_problem_at_once_one_line_each_by_name() -> None:
    lines = problems_of(
        Settings.from_env({"PORTAL_MODE": "production", "PORTAL_SECRET_KEY": "change-me"})
    )
    expected = [
        "PORTAL_SECRET_KEY",
        "PORTAL_ENCRYPTION_KEYS",
        "PORTAL_BASE_URL",
        "PORTAL_SHOPIFY_CLIENT_ID",
        "PORTAL_SHOPIFY_CLIENT_SECRET",
        "PORTAL_SMTP_HOST",
        "PORTAL_MAIL_FROM",
    ]
    assert len(lines) == len(expected)
    for line, name in zip(lines, expected, strict=True):
        assert line.startswith(name), line
    assert "webhooks" in lines[4]  # the client secret also signs them


@pytest.mark.parametrize(
    ("changes", "name"),
    [
        ({"PORTAL_SECRET_KEY": "short"}, "PORTAL_SECRET_KEY"),
        ({"PORTAL_ENCRYPTION_KEYS": "not-a-key"}, "PORTAL_ENCRYPTION_KEYS"),
        ({"PORTAL_ENCRYPTION_KEYS": f"{KEY},not-a-key"}, "PORTAL_ENCRYPTION_KEYS"),
        ({"PORTAL_BASE_URL": "http://claims.example.com"}, "PORTAL_BASE_URL"),
        ({"PORTAL_SHOPIFY_CLIENT_SECRET": ""}, "PORTAL_SHOPIFY_CLIENT_SECRET"),
        ({"PORTAL_SMTP_HOST": "127.0.0.1"}, "PORTAL_SMTP_HOST"),
        ({"PORTAL_MAIL_FROM": "Reorder requests <reorders@localhost>"}, "PORTAL_MAIL_FROM"),
        ({"PORTAL_ALLOWED_HOSTS": "www.example.com"}, "PORTAL_ALLOWED_HOSTS"),
        ({"PORTAL_FORWARDED_ALLOW_IPS": ""}, "PORTAL_FORWARDED_ALLOW_IPS"),
        ({"PORTAL_FORWARDED_ALLOW_IPS": "proxy.internal"}, "PORTAL_FORWARDED_ALLOW_IPS"),
    ],
)
def test_production_refuses_each_setting_that_cannot_work(
    changes: dict[str, str], name: str
) -> None:
    lines = problems_of(production(**changes))
    assert len(lines) == 1 and lines[0].startswith(name), lines


def test_allowed_hosts_naming_the_base_url_host_are_fine() -> None:
    assert production(PORTAL_ALLOWED_HOSTS="claims.example.com, www.example.com").check()


def test_development_asks_only_for_the_secret_and_the_encryption_keys() -> None:
    lines = problems_of(Settings.from_env({}, env_file="/nonexistent"))
    assert [line.split(" ")[0] for line in lines] == ["PORTAL_SECRET_KEY", "PORTAL_ENCRYPTION_KEYS"]
    development = {"PORTAL_SECRET_KEY": STRONG, "PORTAL_ENCRYPTION_KEYS": KEY}
    assert Settings.from_env(development, env_file="/nonexistent").check()


def test_the_demo_refuses_nothing() -> None:
    assert Settings.from_env({"PORTAL_MODE": "demo"}, env_file="/nonexistent").problems() == []


@pytest.mark.parametrize("command", ["serve", "worker", "check", "migrate"])
def test_portal_refuses_to_start_in_production_printing_every_problem(command: str) -> None:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
        "PORTAL_MODE": "production",
        "PORTAL_SECRET_KEY": "change-me",
    }
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "portal.cli", command],
        env=environ,
        cwd=Path(__file__).parents[1],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 7, done.stderr
    assert all(line.startswith(f"portal {command}: PORTAL_") for line in lines)
    assert any("PORTAL_SECRET_KEY" in line for line in lines)


def test_log_format_and_metrics_settings_are_checked() -> None:
    environ = {
        "PORTAL_LOG_FORMAT": "xml",
        "PORTAL_METRICS_TOKEN": "short",
        "PORTAL_METRICS_PORT": "70000",
    }
    problems = Settings.from_env(environ, env_file="/nonexistent").problems()
    assert any(p.startswith("PORTAL_LOG_FORMAT='xml'") for p in problems), problems
    assert any(p.startswith("PORTAL_METRICS_TOKEN must be") for p in problems), problems
    assert any(p.startswith("PORTAL_METRICS_PORT=70000") for p in problems), problems
    fine = {"PORTAL_LOG_FORMAT": "json", "PORTAL_METRICS_TOKEN": "t" * 32}
    problems = Settings.from_env(fine, env_file="/nonexistent").problems()
    assert not [p for p in problems if "LOG_FORMAT" in p or "METRICS" in p], problems


def test_the_database_pool_settings_are_bounded() -> None:
    problems = Settings(
        database_pool_size=0, database_pool_overflow=-1, database_pool_timeout=0
    ).problems()
    assert any(p.startswith("PORTAL_DATABASE_POOL_SIZE") for p in problems)
    assert any(p.startswith("PORTAL_DATABASE_POOL_OVERFLOW") for p in problems)
    assert any(p.startswith("PORTAL_DATABASE_POOL_TIMEOUT") for p in problems)
    assert not [p for p in Settings().problems() if "POOL" in p]
