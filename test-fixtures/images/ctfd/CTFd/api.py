"""/api/v1 of the CTFd stand-in: the endpoints the deploy automation and
ctfcli use, with CTFd 3.8.7's paths, permissions and response shapes
(challenges and what hangs off them: CTFd/api_challenges.py)."""
import datetime

from flask import Blueprint, abort, request

from CTFd.models import db
from CTFd.utils import set_config
from CTFd.utils.decorators import admins_only, authed_only
from CTFd.utils.security import generate_user_token, hash_password
from CTFd.utils.user import get_current_user

api = Blueprint("api", __name__, url_prefix="/api/v1")

PAGE_FIELDS = ("id", "title", "route", "content", "draft", "hidden", "auth_required", "format", "link_target")
PAGE_WRITABLE = PAGE_FIELDS[1:]
PAGE_BOOLS = ("draft", "hidden", "auth_required")


def _json_body():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="A JSON object is required")
    return data


def _page_dump(row, content=True):
    out = {}
    for key in PAGE_FIELDS:
        if key == "content" and not content:
            continue
        value = row.get(key)
        out[key] = bool(value) if key in PAGE_BOOLS and value is not None else value
    out["files"] = [f["id"] for f in db.fetchall("SELECT id FROM files WHERE page_id=%s", (row["id"],))]
    return out


def _page_errors(data):
    errors = {}
    if data.get("title") is not None and len(str(data["title"])) > 80:
        errors["title"] = ["Page could not be saved. Your title is too long."]
    if data.get("route") is not None and len(str(data["route"])) > 128:
        errors["route"] = ["Page could not be saved. Your route is too long."]
    if data.get("content") is not None and len(str(data["content"])) > 65535:
        errors["content"] = ["Page could not be saved. Your content is too long."]
    if data.get("link_target") not in (None, "_self", "_blank"):
        errors["link_target"] = ["Invalid link target"]
    unknown = [k for k in data if k not in PAGE_FIELDS and k not in ("files", "nonce")]
    for key in unknown:
        errors[key] = ["Unknown field."]
    return errors


def _page_values(data):
    values = {k: data[k] for k in PAGE_WRITABLE if k in data}
    if values.get("route"):
        values["route"] = str(values["route"]).strip("/")
    return values


@api.route("/pages", methods=["GET"])
@admins_only
def pages_list():
    filters, args = [], []
    for key in ("id", "title", "route"):
        if key in request.args:
            filters.append(f"{key}=%s")
            args.append(request.args[key])
    for key in PAGE_BOOLS:
        if key in request.args:
            filters.append(f"{key}=%s")
            args.append(1 if request.args[key].lower() in ("1", "true") else 0)
    where = (" WHERE " + " AND ".join(filters)) if filters else ""
    rows = db.fetchall("SELECT * FROM pages" + where + " ORDER BY id", args)
    return {"success": True, "data": [_page_dump(r, content=False) for r in rows]}


@api.route("/pages", methods=["POST"])
@admins_only
def pages_create():
    data = _json_body()
    errors = _page_errors(data)
    if errors:
        return {"success": False, "errors": errors}, 400
    values = _page_values(data)
    if values.get("route") and db.fetchone("SELECT id FROM pages WHERE route=%s", (values["route"],)):
        return {"success": False, "errors": {"route": ["Duplicate entry for route"]}}, 400
    values.setdefault("format", "markdown")
    cols = ", ".join(values)
    marks = ", ".join(["%s"] * len(values))
    page_id = db.execute(f"INSERT INTO pages ({cols}) VALUES ({marks})", list(values.values()))
    return {"success": True, "data": _page_dump(db.fetchone("SELECT * FROM pages WHERE id=%s", (page_id,)))}


def _page_or_404(page_id):
    row = db.fetchone("SELECT * FROM pages WHERE id=%s", (page_id,))
    if row is None:
        abort(404)
    return row


@api.route("/pages/<page_id>", methods=["GET"])
@admins_only
def pages_get(page_id):
    return {"success": True, "data": _page_dump(_page_or_404(page_id))}


@api.route("/pages/<page_id>", methods=["PATCH"])
@admins_only
def pages_patch(page_id):
    _page_or_404(page_id)
    data = _json_body()
    errors = _page_errors(data)
    if errors:
        return {"success": False, "errors": errors}, 400
    values = _page_values(data)
    if values:
        sets = ", ".join(f"{k}=%s" for k in values)
        db.execute(f"UPDATE pages SET {sets} WHERE id=%s", [*values.values(), page_id])
    return {"success": True, "data": _page_dump(_page_or_404(page_id))}


@api.route("/pages/<page_id>", methods=["DELETE"])
@admins_only
def pages_delete(page_id):
    _page_or_404(page_id)
    db.execute("DELETE FROM pages WHERE id=%s", (page_id,))
    return {"success": True}


def _config_row(key):
    return db.fetchone("SELECT id, `key`, value FROM config WHERE `key`=%s", (key,))


@api.route("/configs", methods=["GET"])
@admins_only
def configs_list():
    if "key" in request.args:
        rows = db.fetchall("SELECT id, `key`, value FROM config WHERE `key`=%s", (request.args["key"],))
    else:
        rows = db.fetchall("SELECT id, `key`, value FROM config ORDER BY id")
    return {"success": True, "data": rows}


@api.route("/configs", methods=["PATCH"])
@admins_only
def configs_patch_bulk():
    data = _json_body()
    for key, value in data.items():
        if isinstance(value, str) and len(value) > 65535:
            return {"success": False, "errors": {"value": [f"{key} config is too long"]}}, 400
        set_config(key, value)
    return {"success": True}


@api.route("/configs", methods=["POST"])
@admins_only
def configs_create():
    data = _json_body()
    if "key" not in data or "value" not in data:
        return {"success": False, "errors": {k: ["Missing data for required field."]
                                             for k in ("key", "value") if k not in data}}, 400
    return {"success": True, "data": set_config(data["key"], data["value"])}


@api.route("/configs/<config_key>", methods=["GET"])
@admins_only
def configs_get(config_key):
    row = _config_row(config_key)
    if row is None:
        abort(404)
    return {"success": True, "data": row}


@api.route("/configs/<config_key>", methods=["PATCH"])
@admins_only
def configs_patch(config_key):
    data = _json_body()
    if "value" not in data and _config_row(config_key) is None:
        return {"success": False, "errors": {"value": ["Missing data for required field."]}}, 400
    value = data.get("value")
    if isinstance(value, str) and len(value) > 65535:
        return {"success": False, "errors": {"value": [f"{config_key} config is too long"]}}, 400
    if "value" in data:
        set_config(config_key, value)
    return {"success": True, "data": _config_row(config_key)}


@api.route("/configs/<config_key>", methods=["DELETE"])
@admins_only
def configs_delete(config_key):
    if _config_row(config_key) is None:
        abort(404)
    db.execute("DELETE FROM config WHERE `key`=%s", (config_key,))
    return {"success": True}


@api.route("/files", methods=["POST"], endpoint="files_list")
@admins_only
def files_upload():
    from CTFd.views import upload_file

    uploads = request.files.getlist("file")
    location = request.form.get("location")
    if len(uploads) > 1 and location:
        return {"success": False,
                "errors": {"location": ["Location cannot be specified with multiple files"]}}, 400
    file_type = request.form.get("type", "standard")
    page_id = request.form.get("page_id") or request.form.get("page")
    challenge_id = request.form.get("challenge_id") or request.form.get("challenge")
    out = []
    for upload in uploads:
        try:
            out.append(upload_file(upload, file_type=file_type, location=location,
                                   page_id=page_id, challenge_id=challenge_id))
        except ValueError as err:
            return {"success": False, "errors": {"location": [str(err)]}}, 400
    return {"success": True, "data": out}


@api.route("/files/<int:file_id>", methods=["GET"])
@admins_only
def files_get(file_id):
    row = db.fetchone("SELECT id, type, location, sha1sum FROM files WHERE id=%s", (file_id,))
    if row is None:
        abort(404)
    return {"success": True, "data": row}


def _when(value):
    """A DATETIME column as CTFd's API writes it (UTC, with its offset)."""
    return value.isoformat() + "+00:00" if isinstance(value, datetime.datetime) else value


def _token_dump(row, with_value=False):
    out = {
        "id": row["id"],
        "type": row["type"],
        "user_id": row["user_id"],
        "created": _when(row["created"]),
        "expiration": _when(row["expiration"]),
        "description": row["description"],
    }
    if with_value:
        out["value"] = row["value"]
    return out


@api.route("/tokens", methods=["POST"])
@authed_only
def tokens_create():
    data = request.get_json(silent=True) or {}
    expiration = data.get("expiration")
    if expiration:
        expiration = datetime.datetime.strptime(expiration, "%Y-%m-%d")
    token = generate_user_token(get_current_user()["id"], expiration=expiration,
                                description=data.get("description"))
    return {"success": True, "data": _token_dump(token, with_value=True)}


@api.route("/tokens", methods=["GET"])
@authed_only
def tokens_list():
    rows = db.fetchall("SELECT * FROM tokens WHERE user_id=%s", (get_current_user()["id"],))
    return {"success": True, "data": [_token_dump(r) for r in rows]}


@api.route("/users/me", methods=["GET"])
@authed_only
def users_me():
    user = get_current_user()
    return {"success": True, "data": {k: user[k] for k in ("id", "name", "email", "type")}}


USER_VIEW = ("website", "name", "country", "affiliation", "bracket_id", "id", "oauth_id", "fields", "team_id")
ADMIN_VIEW = USER_VIEW + ("created", "banned", "email", "language", "secret", "hidden", "type", "verified")


def _user_dump(row, view):
    row = dict(row, website=None, country=None, affiliation=None, bracket_id=None, oauth_id=None, fields=[],
               language=None, secret=None, created=_when(row["created"]))
    for key in ("banned", "hidden", "verified"):
        row[key] = bool(row[key])
    return {k: row.get(k) for k in (ADMIN_VIEW if view == "admin" else USER_VIEW)}


@api.route("/users", methods=["GET"])
def users_list():
    """CTFd: visible users (all with ?view=admin for admins), ?field=&q= as SQL LIKE, 50 a page, dumped
    in the "user" view (no email) either way."""
    user = get_current_user()
    admin_view = bool(user and user["type"] == "admin" and request.args.get("view") == "admin")
    field, q = request.args.get("field"), request.args.get("q")
    if field == "email" and not (user and user["type"] == "admin"):
        return {"success": False, "errors": {"field": "Emails can only be queried by admins"}}, 400
    where, args = ([] if admin_view else ["banned=0", "hidden=0"]), []
    if q and field in ("name", "email", "website", "country", "affiliation"):
        where.append(f"{field} LIKE %s")
        args.append(f"%{q}%")
    sql = "SELECT * FROM users" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    rows = db.fetchall(sql, args)
    page = max(int(request.args.get("page", 1) or 1), 1)
    pages = max((len(rows) + 49) // 50, 1)
    chunk = rows[(page - 1) * 50:page * 50]
    return {"meta": {"pagination": {"page": page, "next": page + 1 if page < pages else None,
                                    "prev": page - 1 if page > 1 else None, "pages": pages, "per_page": 50,
                                    "total": len(rows)}},
            "success": True, "data": [_user_dump(r, "user") for r in chunk]}


@api.route("/users", methods=["POST"])
@admins_only
def users_create():
    """CTFd: UserSchema("admin").load - name, email, password required; duplicates refused in its words."""
    data = _json_body()
    errors = {}
    name, email, password = (str(data.get(k) or "").strip() for k in ("name", "email", "password"))
    if not name:
        errors["name"] = ["Missing data for required field."]
    elif db.fetchone("SELECT id FROM users WHERE name=%s", (name,)):
        errors["name"] = ["User name has already been taken"]
    if not email:
        errors["email"] = ["Missing data for required field."]
    elif db.fetchone("SELECT id FROM users WHERE email=%s", (email,)):
        errors["email"] = ["Email address has already been used"]
    if errors:
        return {"success": False, "errors": errors}, 400
    uid = db.execute(
        "INSERT INTO users (type, name, email, password, verified, hidden, banned) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (data.get("type") or "user", name, email, hash_password(password) if password else None,
         bool(data.get("verified")), bool(data.get("hidden")), bool(data.get("banned"))))
    return {"success": True, "data": _user_dump(db.fetchone("SELECT * FROM users WHERE id=%s", (uid,)), "admin")}


@api.route("/users/<int:user_id>", methods=["GET"])
def users_get(user_id):
    user = get_current_user()
    row = db.fetchone("SELECT * FROM users WHERE id=%s", (user_id,))
    admin = bool(user and user["type"] == "admin")
    if row is None or (not admin and (row["banned"] or row["hidden"])):
        abort(404)
    return {"success": True, "data": _user_dump(row, "admin" if admin else "user")}


# Challenges, flags, tags, hints, challenge files, attempts and submissions.
from CTFd import api_challenges  # noqa: E402,F401
