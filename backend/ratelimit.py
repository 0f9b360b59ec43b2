"""The rate limiter's default storage: fixed-window counters in a SQLite file.

Flask-Limiter's `memory://` storage counts in each process, so gunicorn's N workers would allow N
times every limit, and a restarted worker would start again from zero. This file is shared by all
processes of one machine and outlives them; several machines need a shared server (`redis://`).
`RATELIMIT_STORAGE_URI=sqlite:///<absolute path>` selects it (the default names the instance folder).
"""

import os
import re
import sqlite3
import threading
import time

from limits.storage import Storage

SWEEP_EVERY = 1000  # increments between deletions of expired counters


class SQLiteStorage(Storage):
    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri, wrap_exceptions=False, **options):
        self.path = re.sub(r"^/+", "/", uri.split("://", 1)[1])
        self._local = threading.local()
        self._increments = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._connection().execute(
            "CREATE TABLE IF NOT EXISTS counters "
            "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL)"
        )

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _connection(self):
        """This thread's connection (a new one after a fork), in autocommit mode: each statement
        below is one atomic transaction."""
        if getattr(self._local, "pid", None) != os.getpid():
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")  # counters are not worth an fsync
            self._local.connection, self._local.pid = connection, os.getpid()
        return self._local.connection

    def incr(self, key, expiry, amount=1):
        now = time.time()
        self._increments += 1
        if self._increments % SWEEP_EVERY == 0:
            self._connection().execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
        # A window that has expired starts again at `amount`; SET reads the row's old values.
        (count,) = (
            self._connection()
            .execute(
                "INSERT INTO counters (key, count, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "count = CASE WHEN expires_at <= ? THEN excluded.count ELSE count + excluded.count END, "
                "expires_at = CASE WHEN expires_at <= ? THEN excluded.expires_at ELSE expires_at END "
                "RETURNING count",
                (key, amount, now + expiry, now, now),
            )
            .fetchall()[0]
        )
        return count

    def _live(self, key, column, default):
        row = (
            self._connection()
            .execute(f"SELECT {column} FROM counters WHERE key = ? AND expires_at > ?", (key, time.time()))
            .fetchone()
        )
        return row[0] if row else default

    def get(self, key):
        return self._live(key, "count", 0)

    def get_expiry(self, key):
        return self._live(key, "expires_at", time.time())

    def check(self):
        try:
            self._connection().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self):
        return self._connection().execute("DELETE FROM counters").rowcount

    def clear(self, key):
        self._connection().execute("DELETE FROM counters WHERE key = ?", (key,))
