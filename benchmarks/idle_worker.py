"""How much of a core an idle ``portal worker`` burns: CPU time of the process over a quiet
minute, once its start-up is over, on PostgreSQL (woken by LISTEN/NOTIFY) and on SQLite (woken by a
change of the database file); either way sleeping until the next job is due.

    .venv/bin/python -m benchmarks.idle_worker [--seconds 60]

A scratch PostgreSQL database is made beside postgresql://postgres@127.0.0.1:5432/test (or
``--database-url``) and dropped afterwards. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.fernet import Fernet

from benchmarks.queue import DEFAULT_URL, scratch_database
from portal.migrate import upgrade

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def settle(pid: int, *, most_seconds: float = 90) -> None:
    """Wait for the end of start-up (imports, migrations check, the first claims): until the
    process spent under 5% of a core over two seconds (on a busy machine start-up takes far
    longer than on an idle one, and must not count as idling)."""
    deadline = time.monotonic() + most_seconds
    time.sleep(3)
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(2)
        if cpu_seconds(pid) - before < 0.1:
            return
    raise SystemExit("the worker never settled")


def idle_share(database_url: str, seconds: int, directory: Path) -> float:
    key = Fernet.generate_key().decode()
    upgrade(database_url, encryption_keys=key)
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")},
        "PORTAL_DATABASE_URL": database_url,
        "PORTAL_SECRET_KEY": Fernet.generate_key().decode() + "x",
        "PORTAL_ENCRYPTION_KEYS": key,
        "PORTAL_LOG_LEVEL": "warning",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "worker"], env=environ, cwd=directory
    )
    try:
        settle(worker.pid)
        before, started = cpu_seconds(worker.pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(worker.pid) - before) / (time.monotonic() - started)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as scratch:
        with scratch_database(args.database_url) as url:
            postgres = idle_share(url, args.seconds, Path(scratch))
        sqlite = idle_share(f"sqlite:///{scratch}/idle.db", args.seconds, Path(scratch))
    print(f"idle portal worker, {args.seconds} s, share of one core:")
    print(f"  PostgreSQL (notified)  {postgres:7.2%}")
    print(f"  SQLite (file watched)  {sqlite:7.2%}")


if __name__ == "__main__":
    main()
