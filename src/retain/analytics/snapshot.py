"""Read a SQLite store's orders with ADBC and stream them to stdout as Arrow IPC.

Run as ``python -m retain.analytics.snapshot PATH``. ADBC carries its own copy of SQLite;
two copies in one process break each other's file locks on the same database (seen as
"disk I/O error", and a risk of corruption), so the read happens in a process of its own.
"""

from __future__ import annotations

import sys

import adbc_driver_sqlite.dbapi as sqlite_adbc
import pyarrow as pa

QUERY = (
    "SELECT customer_id, placed_at, total - refunded AS net, currency FROM orders WHERE cancelled_at IS NULL"
)


def main(path: str) -> None:
    with sqlite_adbc.connect(f"file:{path}?mode=ro") as connection, connection.cursor() as cursor:
        cursor.execute(QUERY)
        table = cursor.fetch_arrow_table()
    with pa.ipc.new_stream(sys.stdout.buffer, table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    main(sys.argv[1])
