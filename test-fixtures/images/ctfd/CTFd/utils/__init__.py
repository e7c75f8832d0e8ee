"""Config helpers of the CTFd stand-in (same semantics as CTFd's):
values are stored as text; get_config turns digits into int and
"true"/"false" into bool; PRESET_CONFIGS win over the database."""
from enum import Enum

from flask import current_app

from CTFd.models import db

# Used when setup was skipped (CTFd's DEFAULTS).
DEFAULTS = {"ctf_theme": "core"}


def _to_text(value):
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def get_app_config(key, default=None):
    value = current_app.config.get(key, default)
    return default if value is None else value


def get_config(key, default=None):
    if isinstance(key, Enum):
        key = key.value
    presets = current_app.config.get("PRESET_CONFIGS") or {}
    if key in presets:
        return presets[key]
    row = db.fetchone("SELECT value FROM config WHERE `key`=%s", (key,))
    value = row["value"] if row else None
    if value:
        if value.isdigit():
            return int(value)
        if value.lower() == "true":
            return True
        if value.lower() == "false":
            return False
        return value
    if default is None and key in DEFAULTS:
        return DEFAULTS[key]
    return default


def set_config(key, value):
    if isinstance(key, Enum):
        key = key.value
    db.execute(
        "INSERT INTO config (`key`, value) VALUES (%s, %s) ON DUPLICATE KEY UPDATE value=VALUES(value)",
        (key, _to_text(value)),
    )
    return db.fetchone("SELECT id, `key`, value FROM config WHERE `key`=%s", (key,))


def is_setup():
    return bool(get_config("setup")) is True


def ctf_theme():
    return str(get_config("ctf_theme") or "core")
