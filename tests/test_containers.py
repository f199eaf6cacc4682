"""compose.yaml and the Dockerfile, read as Docker would read them (no Docker daemon runs the
tests): the services the README promises, each container's command a command ``portal``
accepts, and the addresses the services give one another agreeing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from portal.cli import _parser

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPOSITORY / "compose.yaml").read_text())
    return loaded


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def test_the_layout_the_readme_promises(compose: dict[str, Any]) -> None:
    found = services(compose)
    assert set(found) == {"db", "sandbox", "migrate", "web1", "web2", "worker1", "worker2"}
    commands = {name: found[name]["command"][:2] for name in found if name != "db"}
    assert commands == {
        "sandbox": ["portal", "sandbox"],
        "migrate": ["portal", "migrate"],
        "web1": ["portal", "serve"],
        "web2": ["portal", "serve"],
        "worker1": ["portal", "worker"],
        "worker2": ["portal", "worker"],
    }
    for name in ("web1", "web2", "worker1", "worker2"):
        assert found[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert found["migrate"]["depends_on"]["db"] == {"condition": "service_healthy"}
    assert found["migrate"]["restart"] == "no"


def test_every_command_is_one_portal_accepts(compose: dict[str, Any]) -> None:
    parser = _parser()
    for name, service in services(compose).items():
        if name == "db":
            continue
        command = service["command"]
        assert command[0] == "portal"
        parser.parse_args(command[1:])  # exits (a failure) on anything it does not accept


def test_the_addresses_agree(compose: dict[str, Any]) -> None:
    found = services(compose)
    sandbox = found["sandbox"]["command"]
    portal_url = next(a.split("=", 1)[1] for a in sandbox if a.startswith("--portal-url="))
    web_ports = [
        found[name]["command"][found[name]["command"].index("--port") + 1]
        for name in ("web1", "web2")
    ]
    assert portal_url == f"http://127.0.0.1:{web_ports[0]}"
    assert len(set(web_ports)) == 2
    environment = found["web1"]["environment"]
    db_port = found["db"]["command"][found["db"]["command"].index("-p") + 1]
    assert f"@127.0.0.1:{db_port}/" in environment["PORTAL_DATABASE_URL"]
    written = next(a.split("=", 1)[1] for a in sandbox if a.startswith("--write-env="))
    assert environment["PORTAL_ENV_FILE"] == written
    for name in ("migrate", "web1", "web2", "worker1", "worker2"):
        assert "uploads:/app/var/uploads" in found[name]["volumes"]
        assert found[name]["environment"]["PORTAL_SECRET_KEY"].startswith("${PORTAL_SECRET_KEY:?")


def test_the_product_image_is_the_default_and_holds_no_sandbox() -> None:
    dockerfile = (REPOSITORY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, re.M)
    assert stages == ["base", "sandbox", "product"]  # the last stage is what `docker build` makes
    product = dockerfile.split("AS product", 1)[1]
    base = dockerfile.split("AS sandbox", 1)[0]
    assert "sandbox" not in product and "COPY sandbox" not in base
