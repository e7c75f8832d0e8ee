"""Database layer of the CTFd stand-in: plain SQL over PyMySQL.

`db` is the helper plugins use too:
    db.execute(sql, args) -> lastrowid      db.fetchone(sql, args) -> Row | None
    db.fetchall(sql, args) -> [Row]         db.create_tables(*ddl)
(Row is a dict that also allows attribute access.)
One autocommitting connection per request (per app context), closed when
the context ends. Table names and columns follow CTFd's (config, users,
pages, files, tokens, challenges, flags, tags, hints, submissions, solves);
JSON columns (requirements) are stored as JSON text.
"""
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


class Database:
    def _conn(self):
        conn = g.get("_standin_db")
        if conn is None:
            conn = g._standin_db = connect()
        return conn

    def close(self, _exc=None):
        conn = g.pop("_standin_db", None)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing a dead connection
                pass

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
