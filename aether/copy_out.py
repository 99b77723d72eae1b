"""A CSV that PostgreSQL writes itself, streamed to the answer: `COPY (<query>) TO STDOUT WITH (FORMAT csv)` read
through psycopg 3 and passed on in blocks, so the serving process holds one block at a time whatever the number of
rows. The task list's export (tasks/export.py) and the dashboard's (analytics/export.py) both answer through it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

BOM = "\ufeff".encode()  # spreadsheets then read the file as UTF-8 ("Zürich", not "ZÃ¼rich")
BLOCK = 64 * 1024


def csv_head(columns: Iterable[str]) -> bytes:
    """The byte order mark and the header line."""
    return BOM + (",".join(columns) + "\r\n").encode()


def copy_out(cursor, copy_sql: str, params, *, head: bytes) -> Iterator[bytes]:
    """`head`, then what the COPY statement writes, in blocks of about BLOCK bytes. `cursor` is Django's; the
    statement runs on its psycopg cursor."""
    with cursor.cursor.copy(copy_sql, params) as copy:
        buffer = bytearray(head)
        for data in copy:
            buffer += data
            if len(buffer) >= BLOCK:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)
