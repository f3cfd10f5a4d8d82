"""Read a SQLite store's orders (or scores, or purchases) with ADBC, streamed to stdout as Arrow IPC.

Run as ``python -m retain.analytics.snapshot PATH orders|scores|purchases``. ADBC carries its
own copy of SQLite; two copies in one process break each other's file locks on the same database (seen as
"disk I/O error", and a risk of corruption), so the read happens in a process of its own.
"""

from __future__ import annotations

import sys

import adbc_driver_sqlite.dbapi as sqlite_adbc
import pyarrow as pa

from retain.analytics.store_queries import QUERIES


def main(path: str, what: str) -> None:
    with sqlite_adbc.connect(f"file:{path}?mode=ro") as connection, connection.cursor() as cursor:
        cursor.execute(QUERIES[what])
        table = cursor.fetch_arrow_table()
    with pa.ipc.new_stream(sys.stdout.buffer, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
