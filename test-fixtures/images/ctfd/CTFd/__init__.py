"""CTFd 3.8.7 contract stand-in (a test fixture written for this project).

create_app() does what the deploy automation and the llm_verification
plugin rely on: config from the environment, database tables ("db
upgrade"), Redis cache and server-side sessions, the setup redirect, CSRF
nonces, API token login, ProxyFix for REVERSE_PROXY, theme-aware templates,
logs in LOG_FOLDER, and plugin loading (every CTFd/plugins/* load(app)).
"""
import datetime
import logging
import logging.handlers
import os
import sys

import jinja2
from flask import Flask, abort, redirect, request, session, url_for
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wsgi import get_host

from CTFd.cache import cache
from CTFd.models import create_database, db
from CTFd.sessions import CachingSessionInterface
from CTFd.utils import ctf_theme, get_config, is_setup, set_config

__version__ = "3.8.7"
__channel__ = "oss"

ADMIN_THEME = "admin"
DEFAULT_THEME = "core"
THEMES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "themes")


class ThemeLoader(jinja2.BaseLoader):
    """admin/<name> from themes/admin/templates; everything else from the
    active theme (config ctf_theme), then core when THEME_FALLBACK."""

    def __init__(self, app):
        self.app = app

    def get_source(self, environment, template):
        if template.startswith(ADMIN_THEME + "/"):
            candidates = [(ADMIN_THEME, template[len(ADMIN_THEME) + 1:])]
        else:
            candidates = [(ctf_theme(), template)]
            if self.app.config.get("THEME_FALLBACK"):
                candidates.append((DEFAULT_THEME, template))
        for theme, name in candidates:
            path = jinja2.loaders.split_template_path(name)
            filename = os.path.join(THEMES_DIR, theme, "templates", *path)
            if os.path.isfile(filename):
                with open(filename, encoding="utf-8") as fh:
                    source = fh.read()
                mtime = os.path.getmtime(filename)
                return source, filename, lambda: os.path.getmtime(filename) == mtime
        raise jinja2.TemplateNotFound(template)


class _Configs:
    """Template global `Configs`: Configs.<key> is get_config(key)."""

    def __getattr__(self, attr):
        return get_config(attr)

    @property
    def ctf_name(self):
        return get_config("ctf_name", default="CTFd")

    @property
    def theme_header(self):
        return Markup(get_config("theme_header", default="") or "")

    @property
    def theme_footer(self):
        return Markup(get_config("theme_footer", default="") or "")


class _Session:
    @property
    def nonce(self):
        return session.get("nonce", "")

    @property
    def id(self):
        return session.get("id", 0)


class _Plugins:
    @property
    def scripts(self):
        from flask import current_app

        return Markup("".join(f'<script defer src="{u}"></script>' for u in current_app.plugin_scripts))

    @property
    def styles(self):
        from flask import current_app

        return Markup("".join(f'<link rel="stylesheet" href="{u}">' for u in current_app.plugin_stylesheets))


def init_logs(app):
    # As CTFd: LOG_FOLDER is created if missing (an error here stops the
    # start); the log files themselves are best effort.
    log_dir = app.config["LOG_FOLDER"]
    if not os.path.exists(log_dir):
        os.makedirs(log_dir)
    stdout = logging.StreamHandler(stream=sys.stdout)
    for name in ("submissions", "logins", "registrations"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        logger.handlers = []
        try:
            path = os.path.join(log_dir, name + ".log")
            if not os.path.exists(path):
                open(path, "a").close()
            logger.addHandler(logging.handlers.RotatingFileHandler(path, maxBytes=10485760, backupCount=5))
        except IOError:
            pass
        logger.addHandler(stdout)


def log(logger, message, **kwargs):
    from CTFd.utils.user import get_ip

    kwargs.setdefault("date", datetime.datetime.utcnow().strftime("%m/%d/%Y %X"))
    kwargs.setdefault("ip", get_ip())
    logging.getLogger(logger).info(message.format(**kwargs))


SETUP_EXEMPT = {
    "views.setup", "views.themes", "views.files", "views.healthcheck", "views.robots",
    "standin.request_echo",
}


def init_request_processors(app):
    from CTFd.utils.security import login_user, generate_nonce
    from CTFd.utils.user import get_current_user

    @app.before_request
    def trusted_hosts():
        if app.config.get("TRUSTED_HOSTS"):
            get_host(request.environ, app.config["TRUSTED_HOSTS"])  # 400 if not trusted

    @app.before_request
    def needs_setup():
        if not is_setup() and request.endpoint not in SETUP_EXEMPT:
            return redirect(url_for("views.setup"))

    @app.before_request
    def tokens():
        header = request.headers.get("Authorization")
        if header and (
            request.is_json
            or (request.endpoint == "api.files_list" and request.method == "POST"
                and request.mimetype == "multipart/form-data")
        ):
            from CTFd.auth import lookup_user_token

            try:
                _kind, value = header.split(" ", 1)
            except ValueError:
                abort(401, description="Invalid authorization header")
            user = lookup_user_token(value)
            login_user(user)

    @app.before_request
    def csrf():
        func = app.view_functions.get(request.endpoint)
        if func is None:
            abort(404)
        if getattr(func, "_bypass_csrf", False):
            return
        safe = ("GET", "HEAD", "OPTIONS", "TRACE")
        if request.endpoint == "views.themes" and request.method in safe:
            return
        if request.headers.get("Authorization"):
            return
        if not session.get("nonce"):
            session["nonce"] = generate_nonce()
        if request.method not in safe:
            if request.is_json:
                if session["nonce"] != request.headers.get("CSRF-Token"):
                    abort(403)
            elif session["nonce"] != request.form.get("nonce"):
                abort(403)

    @app.before_request
    def banned():
        if request.endpoint == "views.themes":
            return
        user = get_current_user()
        if user and user["banned"]:
            abort(403, description="You have been banned from this CTF")

    @app.after_request
    def response_headers(response):
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
        return response

    @app.teardown_appcontext
    def close_db(exc):
        db.close(exc)


def render_error(error):
    from flask import jsonify, render_template

    code = error.code if isinstance(error, HTTPException) else 500
    description = getattr(error, "description", "") or ""
    if request.path.startswith("/api/"):
        return jsonify({"message": description}), code
    try:
        return render_template("errors.html", code=code, error=description), code
    except Exception:  # noqa: BLE001 - e.g. the database is down
        return f"{code} {description}", code


def _finalize(value):
    return "" if value is None else value


def create_app(config="CTFd.config.Config"):
    app = Flask(__name__)
    app.session_interface = CachingSessionInterface()
    # No template cache: the active theme may change between requests.
    app.jinja_options = {**Flask.jinja_options, "cache_size": 0, "finalize": _finalize}
    with app.app_context():
        app.config.from_object(config)
        app.config["SESSION_COOKIE_NAME"] = "session"
        app.permanent_session_lifetime = datetime.timedelta(seconds=app.config["PERMANENT_SESSION_LIFETIME"])

        cache.init_app(app)
        app.cache = cache
        app.jinja_loader = jinja2.ChoiceLoader([
            ThemeLoader(app),
            jinja2.PrefixLoader({"plugins": jinja2.FileSystemLoader(os.path.join(app.root_path, "plugins"))}),
        ])

        create_database()
        app.db = db
        app.VERSION = __version__
        app.CHANNEL = __channel__

        reverse_proxy = app.config.get("REVERSE_PROXY")
        if reverse_proxy:
            if isinstance(reverse_proxy, str) and "," in reverse_proxy:
                args = [int(i) for i in reverse_proxy.split(",")]
                app.wsgi_app = ProxyFix(app.wsgi_app, *args)
            else:
                app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=0)

        if not get_config("ctf_version"):
            set_config("ctf_version", __version__)
        if not get_config("ctf_theme"):
            set_config("ctf_theme", DEFAULT_THEME)

        init_request_processors(app)

        from CTFd.utils.user import authed, is_admin

        app.jinja_env.globals.update(
            Configs=_Configs(), Session=_Session(), Plugins=_Plugins(),
            get_config=get_config, authed=authed, is_admin=is_admin, ctf_theme=ctf_theme,
        )

        from CTFd.admin import admin
        from CTFd.api import api
        from CTFd.auth import auth
        from CTFd.events import events
        from CTFd.standin import standin
        from CTFd.views import views

        app.register_blueprint(views)
        app.register_blueprint(auth)
        app.register_blueprint(api)
        app.register_blueprint(events)
        app.register_blueprint(admin)
        app.register_blueprint(standin)
        for code in (400, 401, 403, 404, 405, 429, 500, 502):
            app.register_error_handler(code, render_error)

        init_logs(app)

        from CTFd.plugins import init_plugins

        init_plugins(app)
        return app
