"""Server-side sessions of the CTFd stand-in, kept in the cache (Redis).

As CTFd: the `session` cookie holds only a signed random session id; the
data lives under that id in the cache for PERMANENT_SESSION_LIFETIME;
session.regenerate() drops the old id (used at login).
"""
import json
import uuid

from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from werkzeug.datastructures import CallbackDict

from CTFd.cache import cache


class CachedSession(CallbackDict, SessionMixin):
    def __init__(self, initial=None, sid=None):
        def on_update(self):
            self.modified = True

        CallbackDict.__init__(self, initial, on_update)
        self.sid = sid
        self.modified = False

    def regenerate(self):
        if self.sid:
            cache.delete("session" + self.sid)
        self.sid = None
        self.modified = True


class CachingSessionInterface(SessionInterface):
    def _signer(self, app):
        return Signer(app.secret_key, salt="ctfd-standin-session")

    def open_session(self, app, request):
        cookie = request.cookies.get(app.config["SESSION_COOKIE_NAME"])
        if not cookie:
            return CachedSession(sid=str(uuid.uuid4()))
        try:
            sid = self._signer(app).unsign(cookie).decode()
        except BadSignature:
            return CachedSession(sid=str(uuid.uuid4()))
        raw = cache.get("session" + sid)
        if raw is not None:
            try:
                return CachedSession(json.loads(raw), sid=sid)
            except ValueError:
                pass
        return CachedSession(sid=sid)

    def save_session(self, app, session, response):
        name = app.config["SESSION_COOKIE_NAME"]
        domain = self.get_cookie_domain(app)
        path = self.get_cookie_path(app)
        if not session:
            if session.modified:
                if session.sid:
                    cache.delete("session" + session.sid)
                response.delete_cookie(name, domain=domain, path=path)
            return
        if not session.modified:
            return
        if session.sid is None:
            session.sid = str(uuid.uuid4())
        lifetime = int(app.permanent_session_lifetime.total_seconds())
        cache.set("session" + session.sid, json.dumps(dict(session)), timeout=lifetime)
        response.set_cookie(
            name,
            self._signer(app).sign(session.sid.encode()).decode(),
            expires=self.get_expiration_time(app, session),
            httponly=self.get_cookie_httponly(app),
            domain=domain,
            path=path,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
        )
