"""Current user helpers of the CTFd stand-in (same names as CTFd's)."""
import re

from flask import current_app, g, request, session

from CTFd.models import db


def get_current_user():
    if "_standin_user" in g:
        return g._standin_user
    user = None
    uid = session.get("id")
    if uid:
        row = db.fetchone("SELECT * FROM users WHERE id=%s", (uid,))
        # A password change elsewhere ends the session (CTFd compares a hash).
        if row and session.get("hash") == (row.get("password") or "")[-16:]:
            user = row
    g._standin_user = user
    return user


def authed():
    return get_current_user() is not None


def is_admin():
    user = get_current_user()
    return bool(user) and user["type"] == "admin"


def get_ip(req=None):
    """CTFd's rule: the last address in X-Forwarded-For + remote_addr that
    is not a trusted (private) proxy; remote_addr if all are."""
    req = req or request
    trusted = "(" + ")|(".join(current_app.config["TRUSTED_PROXIES"]) + ")"
    route = list(req.access_route) + [req.remote_addr]
    for addr in reversed(route):
        if addr and not re.match(trusted, addr):
            return addr
    return req.remote_addr
