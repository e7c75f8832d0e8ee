"""Admin pages of the CTFd stand-in (only what the deploy automation reads:
pages rendering the session's CSRF nonce)."""
from flask import Blueprint, redirect, render_template, url_for

from CTFd.models import db
from CTFd.utils.decorators import admins_only

admin = Blueprint("admin", __name__)


@admin.route("/admin")
def view():
    return redirect(url_for("admin.statistics"))


@admin.route("/admin/statistics")
@admins_only
def statistics():
    users = db.fetchone("SELECT COUNT(*) AS n FROM users")["n"]
    return render_template("admin/statistics.html", user_count=users)


@admin.route("/admin/pages")
@admins_only
def pages_listing():
    pages = db.fetchall("SELECT id, title, route, draft, format FROM pages ORDER BY id")
    return render_template("admin/pages.html", pages=pages)


@admin.route("/admin/config")
@admins_only
def config():
    configs = db.fetchall("SELECT `key`, value FROM config ORDER BY `key`")
    return render_template("admin/config.html", configs=configs)
