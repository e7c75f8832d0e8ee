"""View decorators of the CTFd stand-in (CTFd's behaviour)."""
import functools

from flask import abort, jsonify, redirect, request, url_for

from CTFd.cache import cache
from CTFd.utils.user import authed, get_ip, is_admin


def authed_only(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if authed():
            return f(*args, **kwargs)
        if request.is_json or request.accept_mimetypes.best == "text/event-stream":
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path))

    return wrapper


def admins_only(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if is_admin():
            return f(*args, **kwargs)
        if request.is_json:
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path))

    return wrapper


def ratelimit(method="POST", limit=50, interval=300, key_prefix="rl"):
    """Per client IP (CTFd's get_ip) and endpoint: more than `limit`
    `method` requests in `interval` seconds -> 429 JSON."""

    def decorator(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            if request.method == method:
                key = f"{key_prefix}:{get_ip()}:{request.endpoint}"
                current = cache.get(key)
                if current and int(current) > limit - 1:
                    resp = jsonify({
                        "code": 429,
                        "message": f"Too many requests. Limit is {limit} requests in {interval} seconds",
                    })
                    resp.status_code = 429
                    return resp
                if current is None:
                    cache.set(key, 1, timeout=interval)
                else:
                    cache.set(key, int(current) + 1, timeout=interval)
            return f(*args, **kwargs)

        return wrapper

    return decorator
