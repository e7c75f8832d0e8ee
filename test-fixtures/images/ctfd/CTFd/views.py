"""Public views of the CTFd stand-in: /setup, pages, theme files, uploads,
/healthcheck (same routes, redirects and status codes as CTFd 3.8.7)."""
import datetime
import os
import re
import threading
import time

import markdown as md
from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, session, url_for
from werkzeug.utils import safe_join

from CTFd.cache import cache
from CTFd.models import db
from CTFd.utils import ctf_theme, get_config, is_setup, set_config
from CTFd.utils.decorators import authed_only
from CTFd.utils.security import generate_nonce, hash_password, login_user
from CTFd.utils.user import authed

views = Blueprint("views", __name__)

EMAIL_REGEX = r"(^[^@\s]+@[^@\s]+\.[^@\s]+$)"
VISIBILITY = {
    "challenge_visibility": ("public", "private", "admins"),
    "account_visibility": ("public", "private", "admins"),
    "score_visibility": ("public", "private", "hidden", "admins"),
    "registration_visibility": ("public", "private", "mlc"),
}
VISIBILITY_DEFAULTS = {
    "challenge_visibility": "private",
    "account_visibility": "public",
    "score_visibility": "public",
    "registration_visibility": "public",
}


def validate_email(email):
    if not email or "@" not in email or len(email) > 320:
        return False
    return bool(re.match(EMAIL_REGEX, email))


def account_errors(name, email, password):
    """CTFd's checks of a new account, in its order and words (setup form and registration alike)."""
    errors = []
    if not validate_email(email):
        errors.append("Please enter a valid email address")
    if db.fetchone("SELECT id FROM users WHERE name=%s", (name,)):
        errors.append("That user name is already taken")
    if validate_email(name):
        errors.append("Your user name cannot be an email address")
    if db.fetchone("SELECT id FROM users WHERE email=%s", (email,)):
        errors.append("That email has already been used")
    if len(password) == 0:
        errors.append("Pick a longer password")
    if len(password) > 128:
        errors.append("Pick a shorter password")
    if len(name) == 0:
        errors.append("Pick a longer user name")
    return errors


def _iso(value):
    try:
        return datetime.datetime.utcfromtimestamp(int(value)).isoformat() + "Z"
    except (TypeError, ValueError):
        return value


def format_variables(content):
    # CTFd's safe_format of {ctf_name}, {ctf_description}, {ctf_start}, ...
    for key, value in (
        ("ctf_name", get_config("ctf_name")),
        ("ctf_description", get_config("ctf_description")),
        ("ctf_start", _iso(get_config("start")) if get_config("start") else None),
        ("ctf_end", _iso(get_config("end")) if get_config("end") else None),
        ("ctf_freeze", _iso(get_config("freeze")) if get_config("freeze") else None),
    ):
        content = content.replace("{" + key + "}", "" if value is None else str(value))
    return content


def page_html(page):
    content = page.get("content") or ""
    if page.get("format") == "html":
        return format_variables(content)
    return format_variables(md.markdown(content, extensions=["fenced_code", "tables"]))


def upload_file(file_obj, file_type="standard", location=None, page_id=None, challenge_id=None):
    """CTFd's filesystem uploader: UPLOAD_FOLDER/<32 hex>/<secure name>."""
    from werkzeug.utils import secure_filename
    import hashlib

    parent, filename = None, file_obj.filename
    if location:
        parts = [p for p in location.split("/") if p]
        if len(parts) != 2:
            raise ValueError("Location must contain two parts, a directory and a filename")
        parent, filename = parts
    if not filename:
        raise ValueError("Empty filenames cannot be used")
    data = file_obj.read()
    sha1sum = hashlib.sha1(data).hexdigest()  # noqa: S324 - CTFd stores sha1 too
    if parent:
        parent = (secure_filename(parent) or os.urandom(16).hex()).replace(".", "")
    else:
        parent = os.urandom(16).hex()
    location = parent + "/" + secure_filename(filename)
    target = os.path.join(current_app.config["UPLOAD_FOLDER"], location)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as fh:
        fh.write(data)
    # As CTFd: a challenge file keeps challenge_id, a page file page_id.
    challenge_id = challenge_id if file_type == "challenge" else None
    page_id = page_id if file_type == "page" else None
    existing = db.fetchone("SELECT id FROM files WHERE location=%s", (location,))
    if existing:
        db.execute("UPDATE files SET type=%s, sha1sum=%s, page_id=%s, challenge_id=%s WHERE id=%s",
                   (file_type, sha1sum, page_id, challenge_id, existing["id"]))
        file_id = existing["id"]
    else:
        file_id = db.execute(
            "INSERT INTO files (type, location, sha1sum, page_id, challenge_id) VALUES (%s, %s, %s, %s, %s)",
            (file_type, location, sha1sum, page_id, challenge_id))
    return db.fetchone("SELECT id, type, location, sha1sum FROM files WHERE id=%s", (file_id,))


def delete_file(file_id):
    """CTFd's filesystem uploader delete: the upload's directory goes, then the row."""
    import shutil

    row = db.fetchone("SELECT * FROM files WHERE id=%s", (file_id,))
    if row is None:
        abort(404)
    location = row["location"] or ""
    if location and os.path.exists(os.path.join(current_app.config["UPLOAD_FOLDER"], location)):
        shutil.rmtree(os.path.join(current_app.config["UPLOAD_FOLDER"], location.split("/")[0]))
    db.execute("DELETE FROM files WHERE id=%s", (file_id,))
    return True


def _setup_page(**kwargs):
    return render_template("setup.html", **kwargs)


@views.route("/setup", methods=["GET", "POST"])
def setup():
    if is_setup():
        return redirect(url_for("views.static_html"))
    if not session.get("nonce"):
        session["nonce"] = generate_nonce()
    if request.method != "POST":
        return _setup_page(errors=[])

    form = request.form
    ctf_name = form.get("ctf_name")
    set_config("ctf_name", ctf_name)
    set_config("ctf_description", form.get("ctf_description"))
    set_config("user_mode", form.get("user_mode", "users"))
    visibility = {}
    for key, allowed in VISIBILITY.items():
        value = form.get(key, VISIBILITY_DEFAULTS[key])
        if value not in allowed:  # CTFd: the enum constructor raises -> 500
            abort(500, description=f"{value!r} is not a valid {key}")
        visibility[key] = value
    for field in ("ctf_logo", "ctf_small_icon"):
        upload = request.files.get(field)
        if upload:
            set_config(field, upload_file(upload)["location"])
    set_config("ctf_theme", form.get("ctf_theme", "core"))
    theme_color = form.get("theme_color")
    if theme_color and not get_config("theme_header"):
        set_config("theme_header", (
            '<style id="theme-color">\n'
            f":root {{--theme-color: {theme_color};}}\n"
            ".navbar{background-color: var(--theme-color) !important;}\n"
            ".jumbotron{background-color: var(--theme-color) !important;}\n"
            "</style>\n"))
    set_config("start", form.get("start"))
    set_config("end", form.get("end"))
    set_config("freeze", None)

    name = form["name"]
    email = form["email"]
    password = form["password"]
    errors = account_errors(name, email, password)
    if errors:
        return _setup_page(errors=errors, name=name, email=email, password=password)

    banner = url_for("views.themes", theme=ctf_theme(), path="img/logo.png")
    upload = request.files.get("ctf_banner")
    if upload:
        location = upload_file(upload)["location"]
        set_config("ctf_banner", location)
        banner = url_for("views.files", path=location)
    index = f"""<div class="row">
    <div class="col-md-6 offset-md-3">
        <img class="w-100 mx-auto d-block" style="max-width: 500px;padding: 50px;padding-top: 14vh;" src="{banner}" />
        <h3 class="text-center">
            <p>A CTF platform (CTFd stand-in of the grt-deploy tests)</p>
        </h3>
        <br>
        <h4 class="text-center">
            <a href="admin">Click here</a> to login and setup your CTF
        </h4>
    </div>
</div>"""
    for key, value in visibility.items():
        set_config(key, value)
    set_config("verify_emails", form.get("verify_emails"))
    set_config("social_shares", form.get("social_shares"))
    set_config("team_size", form.get("team_size"))
    for key in ("mail_server", "mail_port", "mail_tls", "mail_ssl", "mail_username", "mail_password",
                "mail_useauth"):
        set_config(key, None)
    set_config("setup", True)

    admin_id = db.execute(
        "INSERT INTO users (type, name, email, password, hidden, verified) VALUES ('admin', %s, %s, %s, 1, 0)",
        (name, email, hash_password(password)))
    # CTFd's Pages(title=ctf_name, route="index", content=..., draft=False);
    # format takes the column default, "markdown".
    db.execute("INSERT IGNORE INTO pages (title, route, content, draft, format) VALUES (%s, 'index', %s, 0, 'markdown')",
               (ctf_name, index))
    login_user(db.fetchone("SELECT * FROM users WHERE id=%s", (admin_id,)))
    return redirect(url_for("views.static_html"))


@views.route("/", defaults={"route": "index"})
@views.route("/<path:route>")
def static_html(route):
    page = db.fetchone("SELECT * FROM pages WHERE route=%s AND (draft IS NULL OR draft=0)", (route,))
    if page is None:
        abort(404)
    if page.get("auth_required") and not authed():
        return redirect(url_for("auth.login", next=request.full_path))
    return render_template("page.html", content=page_html(page), title=page["title"])


@views.route("/challenges")
@authed_only
def challenges_listing():
    return render_template("challenges.html")


@views.route("/themes/<theme>/static/<path:path>")
def themes(theme, path):
    from CTFd import THEMES_DIR

    candidates = [theme, ctf_theme()]
    if current_app.config.get("THEME_FALLBACK"):
        candidates.append("core")
    for cand in candidates:
        cand_path = safe_join(THEMES_DIR, cand, "static", path)
        if cand_path is None:
            abort(404)
        if os.path.isfile(cand_path):
            return send_file(cand_path, max_age=3600)
    abort(404)


@views.route("/files", defaults={"path": ""})
@views.route("/files/<path:path>")
def files(path):
    row = db.fetchone("SELECT * FROM files WHERE location=%s", (path,))
    if row is None:
        abort(404)
    target = safe_join(current_app.config["UPLOAD_FOLDER"], row["location"])
    if target is None or not os.path.isfile(target):
        abort(404)
    return send_file(target, as_attachment=True)


_health_lock = threading.Lock()
_health_cache = {}


def _timed(name, check, timeout=30):
    """CTFd caches each health check result for 30 s (per process)."""
    now = time.monotonic()
    with _health_lock:
        hit = _health_cache.get(name)
        if hit and now - hit[0] < timeout:
            return hit[1]
    result = check()
    with _health_lock:
        _health_cache[name] = (now, result)
    return result


def _check_database():
    return db.ping()


def _check_config():
    value = str(round(time.time() / 5) * 5)
    cache.set("healthcheck", value)
    return cache.get("healthcheck") == value


@views.route("/healthcheck")
def healthcheck():
    try:
        if _timed("database", _check_database) is False:
            return "ERR", 500
        if _timed("config", _check_config) is False:
            return "ERR", 500
    except Exception:  # noqa: BLE001 - a dead DB or cache is unhealthy
        return "ERR", 500
    return "OK", 200


@views.route("/robots.txt")
def robots():
    from flask import make_response

    resp = make_response(get_config("robots_txt", "User-agent: *\nDisallow: /admin\n"), 200)
    resp.mimetype = "text/plain"
    return resp
