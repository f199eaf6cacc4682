"""A PostgreSQL server of the test's own (initdb in a scratch directory, its own port), for tests
that restart the database under a running portal without touching the shared server."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.servers import free_port


def postgres_bin() -> Path:
    """The directory of initdb and pg_ctl (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path is None:
        raise RuntimeError("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")
    return Path(on_path).parent


@dataclass
class PostgresCluster:
    directory: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        _run_as_owner(
            [
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.directory / "data"),
                "-l",
                str(self.directory / "server.log"),
                "-w",
                "-t",
                "60",
                *args,
            ]
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self.pg_ctl("-o", options, "start")

    def restart(self) -> None:
        """A fast restart: every session is ended at once (AdminShutdown), as in a failover."""
        self.pg_ctl("-m", "fast", "restart")

    def log(self) -> str:
        """What the server wrote to its log so far."""
        return (self.directory / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        self.pg_ctl("-m", "immediate", "stop")


@contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    directory = Path(tempfile.mkdtemp(prefix="portal-pg-"))
    if os.geteuid() == 0:  # initdb refuses root: the server runs as the postgres user
        owner = pwd.getpwnam("postgres")
        os.chown(directory, owner.pw_uid, owner.pw_gid)
    cluster = PostgresCluster(directory=directory, port=free_port(), bin=postgres_bin())
    _run_as_owner(
        [
            str(cluster.bin / "initdb"),
            "-D",
            str(directory / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]
    )
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def _run_as_owner(command: list[str]) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
