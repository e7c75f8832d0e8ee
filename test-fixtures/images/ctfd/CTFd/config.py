"""Configuration of the CTFd stand-in, from the environment.

Same names and defaults as CTFd 3.8.7's config (env applies where
config.ini leaves a value empty, which the image's config.ini does for all
of these). Only MySQL/MariaDB URLs are supported (no SQLite fallback).
"""
import json
import os
from urllib.parse import unquote, urlsplit

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _env(name, default=None):
    value = os.environ.get(name, "")
    return default if value == "" else value


def _bool(value, default):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("false", "0", "no", "off", "")


def _secret_key():
    # Same rule as CTFd: the .ctfd_secret_key file in the working directory,
    # else a new random key written there (if possible).
    try:
        with open(".ctfd_secret_key", "rb") as fh:
            key = fh.read()
    except OSError:
        key = None
    if not key:
        key = os.urandom(64)
        try:
            with open(".ctfd_secret_key", "wb") as fh:
                fh.write(key)
        except OSError:
            pass
    return key


def database_params(url):
    """pymysql.connect() keyword arguments from a SQLAlchemy-style URL."""
    if not url:
        raise SystemExit("CTFd stand-in: DATABASE_URL is not set (SQLite is not supported here)")
    parts = urlsplit(url)
    if parts.scheme not in ("mysql", "mysql+pymysql"):
        raise SystemExit(f"CTFd stand-in: unsupported DATABASE_URL scheme {parts.scheme!r} (MySQL/MariaDB only)")
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")) or None,
        "charset": "utf8mb4",
    }


class Config:
    SECRET_KEY = _env("SECRET_KEY") or _secret_key()
    DATABASE_URL = _env("DATABASE_URL")
    REDIS_URL = _env("REDIS_URL")
    UPLOAD_FOLDER = _env("UPLOAD_FOLDER", os.path.join(PACKAGE_DIR, "uploads"))
    LOG_FOLDER = _env("LOG_FOLDER", os.path.join(PACKAGE_DIR, "logs"))
    # Like CTFd: any non-empty value enables ProxyFix (even "false"); a
    # comma-separated list gives x_for,x_proto,x_host,x_port,x_prefix.
    REVERSE_PROXY = _env("REVERSE_PROXY", False)
    # CTFd's engine options (config.ini [optional], empty -> environment).
    SQLALCHEMY_MAX_OVERFLOW = int(_env("SQLALCHEMY_MAX_OVERFLOW", 20))
    SQLALCHEMY_POOL_PRE_PING = _bool(_env("SQLALCHEMY_POOL_PRE_PING"), True)
    TRUSTED_HOSTS = [h.strip() for h in _env("TRUSTED_HOSTS", "").split(",") if h.strip()] or None
    SERVER_SENT_EVENTS = _bool(_env("SERVER_SENT_EVENTS"), True)
    THEME_FALLBACK = _bool(_env("THEME_FALLBACK"), True)
    HTML_SANITIZATION = _bool(_env("HTML_SANITIZATION"), False)
    PERMANENT_SESSION_LIFETIME = int(_env("PERMANENT_SESSION_LIFETIME", 604800))
    SESSION_COOKIE_HTTPONLY = _bool(_env("SESSION_COOKIE_HTTPONLY"), True)
    SESSION_COOKIE_SAMESITE = _env("SESSION_COOKIE_SAMESITE", "Lax")
    PRESET_ADMIN_NAME = _env("PRESET_ADMIN_NAME")
    PRESET_ADMIN_EMAIL = _env("PRESET_ADMIN_EMAIL")
    PRESET_ADMIN_PASSWORD = _env("PRESET_ADMIN_PASSWORD")
    PRESET_ADMIN_TOKEN = _env("PRESET_ADMIN_TOKEN")
    try:
        PRESET_CONFIGS = json.loads(_env("PRESET_CONFIGS", "{}"))
    except ValueError:
        print("Exception occurred during PRESET_CONFIGS loading")
        PRESET_CONFIGS = {}
    TRUSTED_PROXIES = [
        r"^127\.0\.0\.1$",
        r"^::1$",
        r"^fc00:",
        r"^10\.",
        r"^172\.(1[6-9]|2[0-9]|3[0-1])\.",
        r"^192\.168\.",
    ]
