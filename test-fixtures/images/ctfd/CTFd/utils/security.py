"""Nonces, passwords and login state of the CTFd stand-in."""
import datetime
import os

from flask import g, session
from passlib.hash import bcrypt_sha256

from CTFd.models import db


def generate_nonce():
    # CTFd: hexencode(os.urandom(32)) -> 64 hex characters
    return os.urandom(32).hex()


def hash_password(password):
    # As CTFd/utils/crypto: passlib's bcrypt_sha256 at its default cost (12),
    # about a fifth of a second of CPU per registration or login.
    return bcrypt_sha256.hash(str(password))


def verify_password(password, hashed):
    return bool(hashed) and bcrypt_sha256.verify(password, hashed)


def login_user(user):
    """As CTFd: the session gets the user id and a NEW nonce."""
    session["id"] = user["id"]
    session["nonce"] = generate_nonce()
    session["hash"] = (user.get("password") or "")[-16:]
    session.permanent = True
    g.pop("_standin_user", None)


def logout_user():
    session.clear()
    g.pop("_standin_user", None)


def generate_user_token(user_id, expiration=None, description=None):
    value = "ctfd_" + os.urandom(32).hex()
    if expiration is None:
        expiration = datetime.datetime.utcnow() + datetime.timedelta(days=30)
    token_id = db.execute(
        "INSERT INTO tokens (type, user_id, expiration, description, value) VALUES ('user', %s, %s, %s, %s)",
        (user_id, expiration, description, value),
    )
    return db.fetchone("SELECT * FROM tokens WHERE id=%s", (token_id,))
