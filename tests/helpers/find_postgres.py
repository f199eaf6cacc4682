"""Print the URL of the local PostgreSQL test database when it answers; print nothing otherwise.

``make test`` uses this to run the suite on PostgreSQL as well as SQLite.
"""

from __future__ import annotations

import sys

import psycopg

CANDIDATE = "postgresql://postgres@127.0.0.1:5432/test"


def main() -> int:
    try:
        with psycopg.connect(CANDIDATE, connect_timeout=3):
            pass
    except psycopg.Error:
        return 0
    print(CANDIDATE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
