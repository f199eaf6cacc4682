"""Every setting of the portal, read once from the environment (``PORTAL_*``) and, beneath it,
from an optional ``.env`` file in the working directory, or the file ``PORTAL_ENV_FILE`` names
(Starlette's ``Config``: a variable set in the environment wins over the file).

``Settings.from_env()`` is called by the command line; tests build ``Settings`` directly.
A placeholder secret is refused outside the demo, and production refuses to start on any
setting that cannot work there, listing every one (see ``Settings.check``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from starlette.config import Config
from starlette.datastructures import Secret

from portal.errors import SettingsError

PLACEHOLDER_SECRET = "change-me"  # noqa: S105 - the value .env.example ships with
DEFAULT_SMTP_HOST = "127.0.0.1"
DEFAULT_MAIL_FROM = "Reorder requests <reorders@localhost>"


class Mode(StrEnum):
    DEMO = "demo"
    DEVELOPMENT = "development"
    PRODUCTION = "production"


@dataclass(frozen=True)
class Settings:
    mode: Mode = Mode.DEVELOPMENT
    secret_key: Secret = field(default_factory=lambda: Secret(PLACEHOLDER_SECRET))
    database_url: str = "sqlite:///var/portal.db"
    # Database connections each `portal serve` or `portal worker` process keeps, how many more
    # it may open at a peak, and how long a request waits for one when all are busy before it
    # is answered "busy, try again in a few seconds" (503, Retry-After). Every process may
    # hold size + overflow connections: keep their sum under PostgreSQL's max_connections.
    database_pool_size: int = 5
    database_pool_overflow: int = 10
    database_pool_timeout: float = 10.0
    base_url: str = "http://127.0.0.1:8000"
    # Host names the portal answers to, comma-separated; empty: the host of base_url (and, in
    # the demo, localhost and 127.0.0.1). Any other Host header is refused with 400.
    allowed_hosts: str = ""
    # Addresses or networks of the proxies whose X-Forwarded-For and X-Forwarded-Proto are
    # believed, comma-separated (e.g. 10.0.0.0/8); empty: none, the peer is the client.
    forwarded_allow_ips: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    # json (one object per line) or text; empty: json in production, text elsewhere.
    log_format: str = ""
    # Bearer token Prometheus sends to scrape /metrics; empty: /metrics answers 404.
    metrics_token: Secret = field(default_factory=lambda: Secret(""))
    # Port of `portal worker`'s own metrics server on PORTAL_HOST; 0: none.
    metrics_port: int = 0
    upload_dir: Path = Path("var/uploads")
    # Where uploads (shoppers' photos, store logos) are kept: "dir", files under upload_dir
    # (one host, or a volume every host mounts), or "s3", private objects in an S3-compatible
    # bucket that every host reaches (see portal/storage.py).
    upload_storage: str = "dir"
    # Empty: AWS S3 itself; otherwise the service's address (MinIO, Ceph, R2...).
    s3_endpoint_url: str = ""
    s3_bucket: str = ""
    s3_region: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: Secret = field(default_factory=lambda: Secret(""))
    # Put in front of every object's name, e.g. "portal/" to share a bucket.
    s3_prefix: str = ""
    # Days after a request is closed before its personal data is erased (and finished jobs,
    # which hold the emails sent, are deleted); amounts stay for invoices.
    retention_days: int = 90
    run_worker: bool = False
    worker_concurrency: int = 4
    # Every order lookup answers after at least this long, so timing does not tell whether an
    # order exists or whether a code was sent.
    lookup_min_seconds: float = 0.8

    # Comma-separated Fernet keys sealing the tokens and secrets kept in the database; the first
    # seals, all open (see portal/sealing.py). Required outside the demo.
    encryption_keys: Secret = field(default_factory=lambda: Secret(""))

    # The Shopify app merchants install (Dev Dashboard: client ID and secret). The secret also
    # signs the app's webhooks and the install callback's query.
    shopify_client_id: str = ""
    shopify_client_secret: Secret = field(default_factory=lambda: Secret(""))
    # Where a shop's OAuth endpoints are (/authorize, /access_token) and its GraphQL API.
    shopify_oauth_url: str = "https://{shop}/admin/oauth"
    shopify_endpoint: str = "https://{shop}/admin/api/{version}/graphql.json"
    shopify_timeout: float = 10.0
    shopify_max_retries: int = 5
    shopify_max_wait: float = 30.0

    corso_api_url: str = "https://api.corso.com/v1"
    corso_auth_url: str = "https://auth.corso.com/oauth/token"
    corso_audience: str = "api.corso.com"
    # Client credentials are each store's own (they belong to one store). Corso documents no
    # parameter naming a store; set this only if its API turns out to need one (the value sent
    # is the store's Corso id).
    corso_store_param: str = ""
    corso_timeout: float = 10.0
    corso_max_retries: int = 4

    smtp_host: str = DEFAULT_SMTP_HOST
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: Secret = field(default_factory=lambda: Secret(""))
    smtp_starttls: bool = False
    mail_from: str = DEFAULT_MAIL_FROM

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, env_file: str | Path | None = None
    ) -> Settings:
        """Read every ``PORTAL_*`` variable once; unknown names are ignored. Beneath the
        environment: ``env_file``, else the file ``PORTAL_ENV_FILE`` names (which must exist),
        else ``.env`` if there is one."""
        env = os.environ if environ is None else environ
        config = Config(_env_file(env, env_file), environ=env)
        values: dict[str, object] = {}
        for name, f in cls.__dataclass_fields__.items():
            raw = config(f"PORTAL_{name.upper()}", default=None)
            if raw is not None:
                values[name] = _parse(name, str(f.type), raw)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def is_demo(self) -> bool:
        return self.mode is Mode.DEMO

    @property
    def host_names(self) -> list[str]:
        """Every Host the portal answers to (see ``allowed_hosts``)."""
        named = [h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip()]
        if named:
            return named
        own = urlsplit(self.base_url).hostname or "localhost"
        return [own, "localhost", "127.0.0.1"] if self.is_demo else [own]

    @property
    def trusted_proxies(self) -> list[str]:
        return [a.strip() for a in self.forwarded_allow_ips.split(",") if a.strip()]

    def check(self) -> Settings:
        """Refuse to start on settings that cannot work: every problem at once, one line each,
        naming its variable (``SettingsError``). Production refuses what development allows
        (see ``problems``); the demo refuses nothing."""
        found = self.problems()
        if found:
            raise SettingsError("\n".join(found))
        return self

    def problems(self) -> list[str]:
        """One line per setting that is missing, a placeholder or inconsistent."""
        if self.is_demo:
            return []
        found = [
            *_secret_problems(self),
            *_encryption_problems(self),
            *_database_problems(self),
            *_storage_problems(self),
            *_observability_problems(self),
        ]
        if self.mode is Mode.PRODUCTION:
            found += [
                *_production_problems(self),
                *_host_problems(self),
                *_s3_problems(self),
            ]
        return found

    @property
    def has_shopify_app(self) -> bool:
        """Whether merchants can install the portal's Shopify app (client id and secret set)."""
        return bool(self.shopify_client_id and str(self.shopify_client_secret))

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def environ(self, *, changed_only: bool = False) -> dict[str, str]:
        """Each setting as the ``PORTAL_*`` variable ``from_env`` reads back; ``changed_only``:
        those that differ from the defaults."""
        defaults = Settings()
        values: dict[str, str] = {}
        for name in self.__dataclass_fields__:
            value = str(getattr(self, name))
            if not changed_only or value != str(getattr(defaults, name)):
                values[f"PORTAL_{name.upper()}"] = value
        return values


def _secret_problems(settings: Settings) -> list[str]:
    secret = str(settings.secret_key)
    if secret not in ("", PLACEHOLDER_SECRET) and len(secret) >= 32:
        return []
    return [
        "PORTAL_SECRET_KEY must be set to a random value of at least 32 characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
    ]


def _encryption_problems(settings: Settings) -> list[str]:
    keys = [k.strip() for k in str(settings.encryption_keys).split(",") if k.strip()]
    if not keys:
        return [
            "PORTAL_ENCRYPTION_KEYS must be set: it seals the Shopify tokens kept in the "
            "database (python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        ]
    try:
        for key in keys:
            Fernet(key.encode())
    except (ValueError, TypeError):
        return [
            "PORTAL_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)"
        ]
    return []


def _database_problems(settings: Settings) -> list[str]:
    found: list[str] = []
    backend = urlsplit(settings.database_url).scheme.split("+")[0]
    if backend not in ("sqlite", "postgresql"):
        found.append(
            f"PORTAL_DATABASE_URL names a {backend or 'malformed'!r} database: use "
            "sqlite:///path/to/file.db or postgresql://user:password@host:5432/dbname"
        )
    if not 1 <= settings.database_pool_size <= 500:
        found.append("PORTAL_DATABASE_POOL_SIZE must be a number of connections from 1 to 500")
    if not 0 <= settings.database_pool_overflow <= 500:
        found.append("PORTAL_DATABASE_POOL_OVERFLOW must be a number of connections, 0 to 500")
    if not 0.1 <= settings.database_pool_timeout <= 300:
        found.append("PORTAL_DATABASE_POOL_TIMEOUT must be seconds from 0.1 to 300")
    return found


def _storage_problems(settings: Settings) -> list[str]:
    if settings.upload_storage in ("dir", "s3"):
        return []
    return [
        f"PORTAL_UPLOAD_STORAGE={settings.upload_storage!r} must be dir (files under "
        "PORTAL_UPLOAD_DIR) or s3 (an S3-compatible bucket, PORTAL_S3_*)"
    ]


def _s3_problems(settings: Settings) -> list[str]:
    if settings.upload_storage != "s3":
        return []
    found: list[str] = []
    if not settings.s3_bucket:
        found.append("PORTAL_S3_BUCKET must be set: the bucket that keeps uploads")
    if not settings.s3_access_key_id:
        found.append("PORTAL_S3_ACCESS_KEY_ID must be set: the key that reads and writes uploads")
    if not str(settings.s3_secret_access_key):
        found.append("PORTAL_S3_SECRET_ACCESS_KEY must be set: the secret of that key")
    return found


def _observability_problems(settings: Settings) -> list[str]:
    found: list[str] = []
    if settings.log_format.strip().lower() not in ("", "json", "text"):
        found.append(f"PORTAL_LOG_FORMAT={settings.log_format!r} must be json or text")
    token = str(settings.metrics_token)
    if token and len(token) < 16:
        found.append(
            "PORTAL_METRICS_TOKEN must be at least 16 random characters (or empty: no /metrics)"
        )
    if not 0 <= settings.metrics_port <= 65535:
        found.append(f"PORTAL_METRICS_PORT={settings.metrics_port} is not a port (0: none)")
    return found


def _production_problems(settings: Settings) -> list[str]:
    found: list[str] = []
    if urlsplit(settings.base_url).scheme != "https":
        found.append(
            f"PORTAL_BASE_URL={settings.base_url!r} must be an https:// address: links in "
            "emails, Shopify's callbacks and its webhooks go there"
        )
    if not settings.shopify_client_id:
        found.append("PORTAL_SHOPIFY_CLIENT_ID must be set: the client ID of the portal's app")
    if not str(settings.shopify_client_secret):
        found.append(
            "PORTAL_SHOPIFY_CLIENT_SECRET must be set: the app's client secret, which also "
            "signs its webhooks (without it every webhook is refused)"
        )
    if settings.smtp_host == DEFAULT_SMTP_HOST:
        found.append(
            f"PORTAL_SMTP_HOST is still the default {DEFAULT_SMTP_HOST}: name the mail server "
            "that sends codes and notices"
        )
    if settings.mail_from == DEFAULT_MAIL_FROM or "@localhost" in settings.mail_from:
        found.append(
            f"PORTAL_MAIL_FROM is still the placeholder {settings.mail_from!r}: an address of "
            "your own domain"
        )
    return found


def _host_problems(settings: Settings) -> list[str]:
    """Hosts and proxies that contradict each other: the portal would refuse its own links,
    or, behind the TLS proxy an https base URL needs, never know requests came over https
    (cookies without Secure, no HSTS)."""
    found: list[str] = []
    own = (urlsplit(settings.base_url).hostname or "").lower()
    if settings.allowed_hosts.strip() and own not in settings.host_names:
        found.append(
            f"PORTAL_ALLOWED_HOSTS does not name {own!r}, the host of PORTAL_BASE_URL: the "
            "portal would refuse its own links"
        )
    bad = [a for a in settings.trusted_proxies if not _is_network(a)]
    if bad:
        found.append(
            f"PORTAL_FORWARDED_ALLOW_IPS holds {', '.join(bad)!r}: not an address or network"
        )
    if not settings.trusted_proxies and urlsplit(settings.base_url).scheme == "https":
        found.append(
            "PORTAL_FORWARDED_ALLOW_IPS is empty: `portal serve` speaks plain HTTP, so behind "
            "the proxy that serves PORTAL_BASE_URL over https it must be told the proxy's "
            "addresses, or cookies lose Secure and HSTS is never sent"
        )
    return found


def _is_network(value: str) -> bool:
    if value == "*":
        return True
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def _env_file(environ: Mapping[str, str], given: str | Path | None) -> Path | None:
    if given is not None:
        return Path(given) if Path(given).is_file() else None
    named = environ.get("PORTAL_ENV_FILE", "")
    if named:
        if not Path(named).is_file():
            raise SettingsError(f"PORTAL_ENV_FILE names {named}, which is not a file")
        return Path(named)
    return Path(".env") if Path(".env").is_file() else None


def _parse(name: str, type_name: str, raw: str) -> object:
    parsers: dict[str, Callable[[str], object]] = {
        "int": int,
        "float": float,
        "bool": _parse_bool,
        "Path": Path,
        "Secret": Secret,
        "Mode": Mode,
        "str": str,
    }
    try:
        return parsers[type_name](raw)
    except (ValueError, KeyError) as exc:
        raise SettingsError(f"PORTAL_{name.upper()}={raw!r} is not a valid {type_name}") from exc


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)
