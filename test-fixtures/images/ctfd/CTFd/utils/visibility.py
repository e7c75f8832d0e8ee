"""CTF time and visibility rules of the CTFd stand-in (CTFd 3.8.7's
CTFd.utils.dates, CTFd.utils.config.visibility and the view decorators
check_challenge_visibility, during_ctf_time_only, require_verified_emails)."""
import functools
import time

from flask import abort, redirect, request, url_for

from CTFd.utils import get_config
from CTFd.utils.user import authed, get_current_user, is_admin


def _when(key):
    try:
        return int(get_config(key) or 0)
    except (TypeError, ValueError):
        return 0


def ctftime():
    start, end, now = _when("start"), _when("end"), time.time()
    if start and end:
        return start < now < end
    if end == 0:
        return start < now
    return now < end


def ctf_started():
    return time.time() > _when("start")


def ctf_ended():
    end = _when("end")
    return bool(end) and time.time() > end


def ctf_paused():
    return bool(get_config("paused"))


def challenges_visible():
    value = get_config("challenge_visibility")
    if value == "public":
        return True
    if value == "admins":
        return is_admin()
    return authed()


def _visible(config_key):
    """CTFd's public / private / admins switch of a visibility config (anything else: hidden)."""
    value = get_config(config_key)
    if value == "public":
        return True
    if value == "private":
        return authed()
    if value == "admins":
        return is_admin()
    return False


def scores_visible():
    return _visible("score_visibility")


def accounts_visible():
    return _visible("account_visibility")


def check_challenge_visibility(f):
    # Unset (no setup) counts as "private" here.
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        value = get_config("challenge_visibility")
        if value == "public" or (value == "admins" and is_admin()) or (value != "admins" and authed()):
            return f(*args, **kwargs)
        if value == "admins" and authed():
            abort(403, description="Challenge Visibility is set to Admins Only")
        if request.is_json and value != "admins":
            abort(403)
        return redirect(url_for("auth.login", next=request.full_path))

    return wrapper


def during_ctf_time_only(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if ctftime() or is_admin():
            return f(*args, **kwargs)
        ctf_name = get_config("ctf_name", "CTFd")
        if ctf_ended():
            if get_config("view_after_ctf"):
                return f(*args, **kwargs)
            abort(403, description=f"{ctf_name} has ended")
        abort(403, description=f"{ctf_name} has not started yet")

    return wrapper


def require_verified_emails(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        if get_config("verify_emails") and authed() and not is_admin() and not get_current_user()["verified"]:
            if request.is_json:
                abort(403)
            abort(403, description="Your email address is not confirmed")
        return f(*args, **kwargs)

    return wrapper
