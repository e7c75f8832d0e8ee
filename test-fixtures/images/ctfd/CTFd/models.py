"""Database layer of the CTFd stand-in: plain SQL over PyMySQL.

`db` is the helper plugins use too:
    db.execute(sql, args) -> lastrowid      db.fetchone(sql, args) -> Row | None
    db.fetchall(sql, args) -> [Row]         db.create_tables(*ddl)
(Row is a dict that also allows attribute access.)
A request (app context) checks one autocommitting connection out of its
worker process's pool at its first query and gives it back when the context
ends, as CTFd's SQLAlchemy engine does: pool size 5 (SQLAlchemy's default; CTFd
does not set it), up to SQLALCHEMY_MAX_OVERFLOW (default 20) more, so at most
25 connections per worker process; beyond that a request waits up to 30 s
(pool_timeout) and then fails (500), and a refused connect (MariaDB 1040 "Too
many connections") fails the request (500) too. SQLALCHEMY_POOL_PRE_PING
(default on) checks an idle connection before handing it out. Table names and columns follow CTFd's (config, users,
pages, files, tokens, challenges, flags, tags, hints, submissions, solves);
JSON columns (requirements) are stored as JSON text.
"""
import os
import threading
import time

import pymysql
import pymysql.cursors
from flask import current_app, g

from CTFd.config import database_params

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS config (
        id INT AUTO_INCREMENT PRIMARY KEY,
        `key` VARCHAR(255) NOT NULL,
        value TEXT NULL,
        UNIQUE KEY config_key (`key`))""",
    """CREATE TABLE IF NOT EXISTS users (
        id INT AUTO_INCREMENT PRIMARY KEY,
        type VARCHAR(80) NOT NULL DEFAULT 'user',
        name VARCHAR(128) NOT NULL,
        email VARCHAR(128) NULL,
        password VARCHAR(256) NULL,
        hidden TINYINT(1) NOT NULL DEFAULT 0,
        banned TINYINT(1) NOT NULL DEFAULT 0,
        verified TINYINT(1) NOT NULL DEFAULT 0,
        team_id INT NULL,
        created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        UNIQUE KEY users_name (name),
        UNIQUE KEY users_email (email))""",
    """CREATE TABLE IF NOT EXISTS pages (
        id INT AUTO_INCREMENT PRIMARY KEY,
        title VARCHAR(80) NULL,
        route VARCHAR(128) NULL,
        content TEXT NULL,
        draft TINYINT(1) NULL,
        hidden TINYINT(1) NULL,
        auth_required TINYINT(1) NULL,
        format VARCHAR(80) NULL DEFAULT 'markdown',
        link_target VARCHAR(80) NULL,
        UNIQUE KEY pages_route (route))""",
    """CREATE TABLE IF NOT EXISTS files (
        id INT AUTO_INCREMENT PRIMARY KEY,
        type VARCHAR(80) NULL DEFAULT 'standard',
        location TEXT NULL,
        sha1sum VARCHAR(40) NULL,
        challenge_id INT NULL,
        page_id INT NULL)""",
    """CREATE TABLE IF NOT EXISTS tokens (
        id INT AUTO_INCREMENT PRIMARY KEY,
        type VARCHAR(32) NOT NULL DEFAULT 'user',
        user_id INT NOT NULL,
        created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
        expiration DATETIME NOT NULL,
        description TEXT NULL,
        value VARCHAR(128) NOT NULL,
        UNIQUE KEY tokens_value (value))""",
    """CREATE TABLE IF NOT EXISTS challenges (
        id INT AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(80) NULL,
        description TEXT NULL,
        attribution TEXT NULL,
        connection_info TEXT NULL,
        next_id INT NULL,
        max_attempts INT NULL DEFAULT 0,
        value INT NULL,
        category VARCHAR(80) NULL,
        type VARCHAR(80) NULL DEFAULT 'standard',
        state VARCHAR(80) NOT NULL DEFAULT 'visible',
        logic VARCHAR(80) NOT NULL DEFAULT 'any',
        initial INT NULL,
        minimum INT NULL,
        decay INT NULL,
        position INT NOT NULL DEFAULT 0,
        `function` VARCHAR(32) NULL DEFAULT 'static',
        requirements LONGTEXT NULL,
        CONSTRAINT challenges_next FOREIGN KEY (next_id) REFERENCES challenges (id) ON DELETE SET NULL)""",
    """CREATE TABLE IF NOT EXISTS flags (
        id INT AUTO_INCREMENT PRIMARY KEY,
        challenge_id INT NULL,
        type VARCHAR(80) NULL,
        content TEXT NULL,
        data TEXT NULL,
        CONSTRAINT flags_challenge FOREIGN KEY (challenge_id) REFERENCES challenges (id) ON DELETE CASCADE)""",
    """CREATE TABLE IF NOT EXISTS tags (
        id INT AUTO_INCREMENT PRIMARY KEY,
        challenge_id INT NULL,
        value VARCHAR(80) NULL,
        CONSTRAINT tags_challenge FOREIGN KEY (challenge_id) REFERENCES challenges (id) ON DELETE CASCADE)""",
    """CREATE TABLE IF NOT EXISTS hints (
        id INT AUTO_INCREMENT PRIMARY KEY,
        title VARCHAR(80) NULL,
        type VARCHAR(80) NULL DEFAULT 'standard',
        challenge_id INT NULL,
        content TEXT NULL,
        cost INT NULL DEFAULT 0,
        requirements LONGTEXT NULL,
        CONSTRAINT hints_challenge FOREIGN KEY (challenge_id) REFERENCES challenges (id) ON DELETE CASCADE)""",
    # Submissions: one row per attempt, `type` correct / incorrect / partial /
    # discard / ratelimited or a plugin's; a correct one also has a row in
    # solves (same id), unique per (challenge, user) as CTFd's.
    """CREATE TABLE IF NOT EXISTS submissions (
        id INT AUTO_INCREMENT PRIMARY KEY,
        challenge_id INT NULL,
        user_id INT NULL,
        team_id INT NULL,
        ip VARCHAR(46) NULL,
        provided TEXT NULL,
        type VARCHAR(32) NULL,
        date DATETIME(6) NULL DEFAULT CURRENT_TIMESTAMP(6),
        CONSTRAINT submissions_challenge FOREIGN KEY (challenge_id) REFERENCES challenges (id) ON DELETE CASCADE,
        CONSTRAINT submissions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE)""",
    """CREATE TABLE IF NOT EXISTS solves (
        id INT PRIMARY KEY,
        challenge_id INT NULL,
        user_id INT NULL,
        team_id INT NULL,
        UNIQUE KEY solves_challenge_user (challenge_id, user_id),
        UNIQUE KEY solves_challenge_team (challenge_id, team_id),
        CONSTRAINT solves_submission FOREIGN KEY (id) REFERENCES submissions (id) ON DELETE CASCADE)""",
)

# A database made by an older stand-in gets the newer challenge columns
# (the "migration"; MariaDB's ADD COLUMN IF NOT EXISTS).
MIGRATIONS = tuple(
    f"ALTER TABLE challenges ADD COLUMN IF NOT EXISTS {column}" for column in (
        "attribution TEXT NULL", "connection_info TEXT NULL", "next_id INT NULL",
        "logic VARCHAR(80) NOT NULL DEFAULT 'any'", "initial INT NULL", "minimum INT NULL", "decay INT NULL",
        "position INT NOT NULL DEFAULT 0", "`function` VARCHAR(32) NULL DEFAULT 'static'",
        "requirements LONGTEXT NULL")
)


class Row(dict):
    """A result row: row["name"] and row.name both work (plugins written
    for CTFd's models use attribute access)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class RowCursor(pymysql.cursors.DictCursor):
    dict_type = Row


def connect(database=True):
    params = database_params(current_app.config["DATABASE_URL"])
    if not database:
        params.pop("database", None)
    return pymysql.connect(autocommit=True, connect_timeout=10,
                           cursorclass=RowCursor, **params)


class Pool:
    """SQLAlchemy's QueuePool, as far as CTFd's load shows it. One per worker
    process (gunicorn's gevent worker patches threading, so waiting yields)."""

    SIZE = 5
    TIMEOUT = 30

    def __init__(self, max_overflow, pre_ping):
        self.max_overflow = max_overflow
        self.pre_ping = pre_ping
        self.idle = []
        self.open = 0
        self.ready = threading.Condition()

    def checkout(self):
        deadline = time.monotonic() + self.TIMEOUT
        with self.ready:
            while not self.idle and self.open >= self.SIZE + self.max_overflow:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(
                        f"QueuePool limit of size {self.SIZE} overflow {self.max_overflow} reached, "
                        f"connection timed out, timeout {self.TIMEOUT}")
                self.ready.wait(left)
            conn = self.idle.pop() if self.idle else None
            if conn is None:
                self.open += 1
        if conn is not None and self.pre_ping:
            try:
                conn.ping(reconnect=False)
            except Exception:  # noqa: BLE001 - a dead idle connection is replaced
                self._discard(conn)
                return self.checkout()
        if conn is None:
            try:
                conn = connect()
            except Exception:
                with self.ready:
                    self.open -= 1
                    self.ready.notify()
                raise
        return conn

    def checkin(self, conn, broken=False):
        if broken or len(self.idle) >= self.SIZE:
            self._discard(conn)
            return
        with self.ready:
            self.idle.append(conn)
            self.ready.notify()

    def _discard(self, conn):
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection
            pass
        with self.ready:
            self.open -= 1
            self.ready.notify()


_pools = {}


def pool():
    key = os.getpid()
    if key not in _pools:
        _pools.clear()  # a forked child never uses its parent's connections
        _pools[key] = Pool(current_app.config["SQLALCHEMY_MAX_OVERFLOW"],
                           current_app.config["SQLALCHEMY_POOL_PRE_PING"])
    return _pools[key]


class Database:
    def _conn(self):
        conn = g.get("_standin_db")
        if conn is None:
            conn = g._standin_db = pool().checkout()
        return conn

    def close(self, exc=None):
        conn = g.pop("_standin_db", None)
        if conn is not None:
            pool().checkin(conn, broken=isinstance(exc, pymysql.err.Error))

    def execute(self, sql, args=None):
        with self._conn().cursor() as cur:
            cur.execute(sql, args)
            return cur.lastrowid

    def fetchone(self, sql, args=None):
        with self._conn().cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()

    def fetchall(self, sql, args=None):
        with self._conn().cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def create_tables(self, *ddl):
        for statement in ddl:
            self.execute(statement)

    def ping(self):
        return self.fetchone("SELECT 1 AS ok")["ok"] == 1


db = Database()


def create_database():
    """The "migration" step: database (if missing) and tables."""
    params = database_params(current_app.config["DATABASE_URL"])
    try:
        connect().close()
    except pymysql.err.OperationalError as err:
        if err.args[0] != 1049:  # unknown database: create it, like CTFd
            raise
        conn = connect(database=False)
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{params['database']}` "
                        "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()
    db.create_tables(*SCHEMA)
    db.create_tables(*MIGRATIONS)
