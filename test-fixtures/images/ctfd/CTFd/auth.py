"""/login, /register, /logout and API tokens of the CTFd stand-in."""
import datetime

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for

from CTFd import log
from CTFd.models import db
from CTFd.utils import get_config
from CTFd.utils.decorators import ratelimit
from CTFd.utils.security import hash_password, login_user, logout_user, verify_password
from CTFd.utils.user import authed
from CTFd.views import account_errors, validate_email

auth = Blueprint("auth", __name__)


def _safe_next(target):
    return bool(target) and target.startswith("/") and not target.startswith("//")


def _after_login():
    target = request.args.get("next")
    if _safe_next(target):
        return redirect(target)
    return redirect(url_for("views.challenges_listing"))


def generate_preset_admin():
    cfg = current_app.config
    user = db.fetchone("SELECT * FROM users WHERE email=%s", (cfg["PRESET_ADMIN_EMAIL"],))
    if user is None:
        uid = db.execute(
            "INSERT INTO users (type, name, email, password, verified) VALUES ('admin', %s, %s, %s, 1)",
            (cfg["PRESET_ADMIN_NAME"], cfg["PRESET_ADMIN_EMAIL"], hash_password(cfg["PRESET_ADMIN_PASSWORD"] or "")))
        user = db.fetchone("SELECT * FROM users WHERE id=%s", (uid,))
    return user if user["type"] == "admin" else None


def lookup_user_token(value):
    preset = current_app.config.get("PRESET_ADMIN_TOKEN")
    if preset and value == preset:
        admin = generate_preset_admin()
        if admin:
            return admin
    token = db.fetchone("SELECT * FROM tokens WHERE value=%s", (value,))
    if token is None:
        abort(401, description="Your access token is invalid")
    if datetime.datetime.utcnow() >= token["expiration"]:
        abort(401, description="Your access token has expired")
    return db.fetchone("SELECT * FROM users WHERE id=%s", (token["user_id"],))


@auth.route("/login", methods=["GET", "POST"])
@ratelimit(method="POST", limit=10, interval=5)
def login():
    if request.method != "POST":
        return render_template("login.html", errors=[])
    name = request.form["name"]
    password = request.form.get("password", "")
    cfg = current_app.config
    if cfg.get("PRESET_ADMIN_NAME") and cfg.get("PRESET_ADMIN_EMAIL") and cfg.get("PRESET_ADMIN_PASSWORD"):
        if name in (cfg["PRESET_ADMIN_NAME"], cfg["PRESET_ADMIN_EMAIL"]) and password == cfg["PRESET_ADMIN_PASSWORD"]:
            admin = generate_preset_admin()
            if admin:
                login_user(admin)
                return redirect(url_for("views.challenges_listing"))
            return render_template("login.html", errors=[
                "Preset admin user could not be created. Please contact an administrator"])
    column = "email" if validate_email(name) else "name"
    user = db.fetchone(f"SELECT * FROM users WHERE {column}=%s", (name,))
    if user and verify_password(password, user["password"]):
        session.regenerate()
        login_user(user)
        log("logins", "[{date}] {ip} - {name} logged in", name=user["name"])
        return _after_login()
    log("logins", "[{date}] {ip} - submitted invalid account information")
    return render_template("login.html", errors=["Your username or password is incorrect"])


@auth.route("/register", methods=["GET", "POST"])
@ratelimit(method="POST", limit=10, interval=5)
def register():
    visibility = get_config("registration_visibility")
    if visibility == "private":
        abort(404)
    if visibility != "public":
        abort(500, description="registration visibility not handled by the stand-in")
    if authed():
        return redirect(url_for("views.challenges_listing"))
    if request.method != "POST":
        return render_template("register.html", errors=[])
    name = request.form.get("name", "").strip()
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "").strip()
    errors = account_errors(name, email, password)
    if errors:
        return render_template("register.html", errors=errors, name=name, email=email)
    uid = db.execute("INSERT INTO users (type, name, email, password) VALUES ('user', %s, %s, %s)",
                     (name, email, hash_password(password)))
    login_user(db.fetchone("SELECT * FROM users WHERE id=%s", (uid,)))
    log("registrations", "[{date}] {ip} - {name} registered with {email}", name=name, email=email)
    return _after_login()


@auth.route("/logout")
def logout():
    if authed():
        logout_user()
    return redirect(url_for("views.static_html"))
