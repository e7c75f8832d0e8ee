"""Plugin API of the CTFd stand-in (the names CTFd plugins import).

init_plugins(app) imports every directory in CTFd/plugins/ (but
__pycache__) as CTFd.plugins.<name> and calls its load(app); an exception
there stops the app creation, as in CTFd.
"""
import glob
import importlib
import os

from flask import send_from_directory

from CTFd.utils.decorators import admins_only as _admins_only


def bypass_csrf_protection(f):
    """Mark a view as exempt from the CSRF nonce check (CTFd's decorator)."""
    f._bypass_csrf = True
    return f


def register_plugin_assets_directory(app, base_path, admins_only=False, endpoint=None):
    """Serve <app root>/<base_path>/<path> at /<base_path>/<path>."""
    base_path = base_path.strip("/")
    if endpoint is None:
        endpoint = base_path.replace("/", ".")

    def assets_handler(path):
        return send_from_directory(os.path.join(app.root_path, base_path), path)

    if admins_only:
        assets_handler = _admins_only(assets_handler)
    app.add_url_rule(rule="/" + base_path + "/<path:path>", endpoint=endpoint, view_func=assets_handler)


def register_plugin_script(url):
    from flask import current_app

    current_app.plugin_scripts.append(url)


def register_plugin_stylesheet(url):
    from flask import current_app

    current_app.plugin_stylesheets.append(url)


def get_plugin_names(plugins_dir):
    names = []
    for path in sorted(glob.glob(os.path.join(plugins_dir, "*"))):
        name = os.path.basename(path)
        if os.path.isdir(path) and name != "__pycache__":
            names.append(name)
    return names


def init_plugins(app):
    app.plugin_scripts = []
    app.plugin_stylesheets = []
    app.plugins_dir = os.path.dirname(__file__)
    for name in get_plugin_names(app.plugins_dir):
        module = importlib.import_module("." + name, package="CTFd.plugins")
        module.load(app)
        print(f" * Loaded module, {module}", flush=True)
