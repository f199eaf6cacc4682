"""``portal worker`` forked from a process that has already imported what it imports: the
worker process of the crash tests, started in a fraction of a second instead of two or three.

A multiprocessing forkserver imports ``PRELOAD`` once per test process; each worker is a fork of
it that runs ``portal.cli.main(["worker"])`` with the test's ``PORTAL_*`` environment, its output
going to a log file. Only the imports are shared: the worker opens its own database engine,
HTTP clients and event loop, as ``portal worker`` does. The last test of
tests/support/test_crash.py still runs ``python -m portal.cli worker`` exactly as deployed.
"""

from __future__ import annotations

import os
import sys

PRELOAD = ["portal.cli", "portal.runtime", "portal.workers", __name__]
"""What ``portal worker`` imports before its first job (and this module, the forks' target)."""


def run_portal_worker(environ: dict[str, str], log_path: str, cwd: str) -> None:
    """The forked worker's whole life: this environment and directory, output to the log."""
    os.environ.clear()
    os.environ.update(environ)
    os.chdir(cwd)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    from portal.cli import main

    sys.exit(main(["worker"]))
