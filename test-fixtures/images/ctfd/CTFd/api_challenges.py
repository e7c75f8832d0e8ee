"""/api/v1 challenges and what hangs off them, in the CTFd stand-in: paths,
permissions, status codes and JSON shapes of CTFd 3.8.7 (challenges, flags,
tags, hints, challenge files, attempts, submissions). Challenge types go
through CTFd.plugins.challenges (create/read/update/delete/attempt/solve/fail).

Left out (stand-in): teams mode, hint unlocks, ratings, solutions, topics,
dynamic value, partial solves (logic "all"/"team" is treated as "any"), the
per-challenge Redis attempt counter and the "timeout" max-attempts mode.
"""
import datetime
import json
import math

import markdown as md
from flask import abort, current_app, render_template, request, url_for
from itsdangerous import URLSafeTimedSerializer

from CTFd import log
from CTFd.api import api
from CTFd.models import db
from CTFd.plugins.challenges import (
    CHALLENGE_CLASSES,
    ChallengeCreateException,
    ChallengeSolveException,
    ChallengeUpdateException,
    get_chal_class,
)
from CTFd.plugins.flags import FLAG_CLASSES, get_flag_class
from CTFd.utils import get_config
from CTFd.utils.decorators import admins_only
from CTFd.utils.user import authed, get_current_user, is_admin
from CTFd.utils.visibility import (
    accounts_visible,
    challenges_visible,
    check_challenge_visibility,
    ctf_ended,
    ctf_paused,
    ctftime,
    during_ctf_time_only,
    require_verified_emails,
    scores_visible,
)

NOT_AN_INTEGER = "Not a valid integer."
INTEGER_FIELDS = {
    "challenges": ("value", "max_attempts", "next_id", "position", "initial", "minimum", "decay"),
    "flags": ("challenge_id", "challenge"),
    "tags": ("challenge_id", "challenge"),
    "hints": ("challenge_id", "challenge", "cost"),
}
HINT_VIEWS = {
    "locked": ("id", "title", "type", "challenge", "challenge_id", "cost"),
    "unlocked": ("id", "title", "type", "challenge", "challenge_id", "content", "html", "cost"),
    "admin": ("id", "title", "type", "challenge", "challenge_id", "content", "html", "cost", "requirements"),
    None: ("id", "title", "type", "challenge_id", "content", "cost", "requirements", "challenge"),
}


# --------------------------------------------------------------------------
# helpers


def _json_object():
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="A JSON object is required")
    return data


def _as_int(value):
    if value is None or isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (str, float)):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError(NOT_AN_INTEGER)


def _load(table, data, lengths=()):
    """Schema load as CTFd's marshmallow ModelSchemas: integers cast (error
    "Not a valid integer."), String(80) columns length-checked; the related
    object key `challenge` fills challenge_id. Returns (values, errors)."""
    values, errors = {}, {}
    for key, value in data.items():
        if key in INTEGER_FIELDS.get(table, ()):
            try:
                value = _as_int(value)
            except ValueError as err:
                errors[key] = [str(err)]
                continue
        if key in lengths and value is not None and len(str(value)) > 80:
            errors[key] = ["Longer than maximum length 80."]
            continue
        values[key] = value
    if "challenge" in values:
        values["challenge_id"] = values.pop("challenge")
    values.pop("id", None)  # dump-only
    return values, errors


def _where(filters, q_fields, table_alias=""):
    """filter_by(...) on the query args named in `filters`, plus CTFd's
    ?q=…&field=… substring search over `q_fields`."""
    clauses, args = [], []
    for key in filters:
        if key in request.args:
            clauses.append(f"{table_alias}`{key}`=%s")
            args.append(request.args[key])
    q, field = request.args.get("q"), request.args.get("field")
    if q and field in q_fields:
        clauses.append(f"{table_alias}`{field}` LIKE %s")
        args.append("%" + q + "%")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


def _insert(table, values):
    cols = ", ".join(f"`{k}`" for k in values)
    return db.execute(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(['%s'] * len(values))})",
                      list(values.values()))


def _update(table, row_id, values):
    if values:
        db.execute(f"UPDATE {table} SET {', '.join(f'`{k}`=%s' for k in values)} WHERE id=%s",
                   [*values.values(), row_id])


def _row_or_404(table, row_id):
    row = db.fetchone(f"SELECT * FROM {table} WHERE id=%s", (row_id,))
    if row is None:
        abort(404)
    return row


def _requirements(value):
    return json.loads(value) if isinstance(value, str) else value


def _challenge_or_404(challenge_id, visible_only=False):
    row = db.fetchone("SELECT * FROM challenges WHERE id=%s", (challenge_id,))
    if row is None or (visible_only and row["state"] in ("hidden", "locked")):
        abort(404)
    row["requirements"] = _requirements(row["requirements"])
    return row


def _full_challenge(row):
    """The type's joined row (CTFd's polymorphic load)."""
    return get_chal_class(row["type"]).challenge_model.get(row["id"])


def _user_solve_ids(user):
    if user is None:
        return set()
    return {r["challenge_id"] for r in db.fetchall("SELECT challenge_id FROM solves WHERE user_id=%s", (user.id,))}


def _solve_counts(challenge_id=None, admin=False):
    sql = ("SELECT s.challenge_id, COUNT(*) AS n FROM solves s JOIN submissions sub ON sub.id = s.id"
           " JOIN users u ON u.id = s.user_id WHERE u.banned=0 AND u.hidden=0")
    args = []
    if challenge_id is not None:
        sql += " AND s.challenge_id=%s"
        args.append(challenge_id)
    freeze = get_config("freeze")
    if freeze and not admin:
        sql += " AND sub.date < FROM_UNIXTIME(%s)"
        args.append(int(freeze))
    return {r["challenge_id"]: r["n"] for r in db.fetchall(sql + " GROUP BY s.challenge_id", args)}


def _prerequisites(requirements):
    wanted = set((requirements or {}).get("prerequisites", []))
    existing = {r["id"] for r in db.fetchall("SELECT id FROM challenges")}
    return wanted & existing


def _anonymized(row, preview, detail=False):
    if preview:
        out = {"id": row["id"], "type": "hidden", "name": row["name"], "value": row["value"], "solves": None,
               "solved_by_me": False, "category": row["category"], "tags": _tag_values(row["id"]),
               "template": "", "script": ""}
    else:
        out = {"id": row["id"], "type": "hidden", "name": "???", "value": 0, "solves": None,
               "solved_by_me": False, "category": "???", "tags": [], "template": "", "script": ""}
    if detail:
        out.update(logic=None, solution_id=None)
    else:
        out["tags"] = [{"value": v} for v in out["tags"]]
    return out


def _tag_values(challenge_id):
    return [r["value"] for r in db.fetchall("SELECT value FROM tags WHERE challenge_id=%s ORDER BY id",
                                            (challenge_id,))]


def _challenge_errors(data):
    values, errors = _load("challenges", data)
    for key, limit, what in (("name", 80, "name"), ("category", 80, "category"),
                             ("description", 65535, "description")):
        if values.get(key) is not None and len(str(values[key])) > limit:
            errors[key] = [f"Challenge could not be saved. Challenge {what} too long"]
    position = values.get("position")
    if "position" not in errors and position is not None and not 0 <= position <= 32767:
        errors["position"] = ["Challenge could not be saved. Challenge position is invalid"]
    if "requirements" in values:
        requirements = values["requirements"]
        if not isinstance(requirements, dict):
            errors["requirements"] = ["Error parsing challenge requirements"]
        elif not all(requirements.get("prerequisites", [])):
            errors["requirements"] = ["Challenge requirements cannot have a null prerequisite"]
    return errors


# --------------------------------------------------------------------------
# challenges


@api.route("/challenges", methods=["GET"])
@check_challenge_visibility
@during_ctf_time_only
@require_verified_emails
def challenges_list():
    admin_view = is_admin() and request.args.get("view") == "admin"
    user = get_current_user()
    user_solves = _user_solve_ids(user)
    solve_counts, default = _solve_counts(admin=admin_view), 0
    if not (scores_visible() and accounts_visible()):
        solve_counts, default = {}, None
    where, args = _where(("name", "max_attempts", "value", "category", "type", "state"),
                         ("name", "description", "category", "type", "state"))
    if not admin_view:
        where += (" AND " if where else " WHERE ") + "state NOT IN ('hidden', 'locked')"
    rows = db.fetchall("SELECT * FROM challenges" + where + " ORDER BY position = 0, position, value, id", args)
    out = []
    for row in rows:
        requirements = _requirements(row["requirements"])
        if requirements and not admin_view and not user_solves >= _prerequisites(requirements):
            anonymize = requirements.get("anonymize")
            if anonymize:
                out.append(_anonymized(row, preview=anonymize == "preview"))
            continue
        cls = CHALLENGE_CLASSES.get(row["type"])
        if cls is None:
            continue
        out.append({
            "id": row["id"], "type": cls.name, "name": row["name"], "value": row["value"],
            "position": row["position"], "solves": solve_counts.get(row["id"], default),
            "solved_by_me": row["id"] in user_solves, "category": row["category"],
            "tags": [{"value": v} for v in _tag_values(row["id"])],
            "template": cls.templates["view"], "script": cls.scripts["view"],
        })
    return {"success": True, "data": out}


@api.route("/challenges", methods=["POST"])
@admins_only
def challenges_create():
    data = request.form or request.get_json(silent=True) or {}
    errors = _challenge_errors(data)
    if errors:
        return {"success": False, "errors": errors}, 400
    cls = get_chal_class(data.get("type", "standard"))  # unknown type: KeyError -> 500, as CTFd
    try:
        challenge = cls.create(request)
    except ChallengeCreateException as err:
        return {"success": False, "errors": {"": [str(err)]}}, 500
    return {"success": True, "data": cls.read(challenge)}


@api.route("/challenges/types", methods=["GET"])
@admins_only
def challenges_types():
    out = {}
    for cls in CHALLENGE_CLASSES.values():
        out[cls.id] = {"id": cls.id, "name": cls.name, "templates": cls.templates, "scripts": cls.scripts,
                       "create": render_template(cls.templates["create"].lstrip("/"))}
    return {"success": True, "data": out}


def _file_urls(challenge_id, user):
    rows = db.fetchall("SELECT id, location FROM files WHERE challenge_id=%s AND type='challenge' ORDER BY id",
                       (challenge_id,))
    if user is None:
        return [url_for("views.files", path=r["location"]) for r in rows]
    signer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"])
    return [url_for("views.files", path=r["location"],
                    token=signer.dumps({"user_id": user.id, "team_id": None, "file_id": r["id"]}))
            for r in rows]


@api.route("/challenges/<challenge_id>", methods=["GET"])
@check_challenge_visibility
@during_ctf_time_only
@require_verified_emails
def challenges_get(challenge_id):
    admin = is_admin()
    row = _challenge_or_404(challenge_id, visible_only=not admin)
    try:
        cls = get_chal_class(row["type"])
    except KeyError:
        abort(500, description=f"The underlying challenge type ({row['type']}) is not installed. "
                               "This challenge can not be loaded.")
    user = get_current_user()
    tags = _tag_values(row["id"])
    if row["requirements"]:
        if not challenges_visible():
            abort(403)
        if not (_user_solve_ids(user) >= _prerequisites(row["requirements"]) or admin):
            anonymize = row["requirements"].get("anonymize")
            if anonymize:
                return {"success": True, "data": _anonymized(row, anonymize == "preview", detail=True)}
            abort(403)
    files = _file_urls(row["id"], user)
    hints = []
    for hint in db.fetchall("SELECT * FROM hints WHERE challenge_id=%s ORDER BY id", (row["id"],)):
        item = {"id": hint["id"], "cost": hint["cost"], "title": hint["title"]}
        if ctf_ended():  # no hint unlocks in the stand-in
            item["content"] = hint["content"]
        hints.append(item)
    challenge = _full_challenge(row)
    out = cls.read(challenge)
    counts = _solve_counts(challenge_id=row["id"])
    if counts:
        solve_count, solved_by_me = counts.get(row["id"]), row["id"] in _user_solve_ids(user)
    else:
        solve_count, solved_by_me = 0, False
    if scores_visible() is False or accounts_visible() is False:
        solve_count = None
    attempts = 0
    if user is not None:
        attempts = db.fetchone(
            "SELECT COUNT(*) AS n FROM submissions WHERE user_id=%s AND challenge_id=%s"
            " AND type NOT IN ('discard', 'ratelimited')", (user.id, row["id"]))["n"]
    ratings = get_config("challenge_ratings", default="public")
    out.update(solves=solve_count, solved_by_me=solved_by_me, attempts=attempts, files=files, tags=tags,
               hints=hints, rating=None,
               ratings={"up": 0, "down": 0, "count": 0} if ratings == "public" else None,
               solution_id=None, solution_state="hidden")
    out["view"] = render_template(cls.templates["view"].lstrip("/"), solves=solve_count, solved_by_me=solved_by_me,
                                  files=files, tags=tags, hints=hints, max_attempts=row["max_attempts"],
                                  attempts=attempts, challenge=challenge)
    return {"success": True, "data": out}


@api.route("/challenges/<challenge_id>", methods=["PATCH"])
@admins_only
def challenges_patch(challenge_id):
    data = _json_object()
    errors = _challenge_errors(data)
    if errors:
        return {"success": False, "errors": errors}, 400
    row = _challenge_or_404(challenge_id)
    cls = get_chal_class(row["type"])
    try:
        challenge = cls.update(_full_challenge(row), request)
    except ChallengeUpdateException as err:
        return {"success": False, "errors": {"": [str(err)]}}, 500
    return {"success": True, "data": cls.read(challenge)}


@api.route("/challenges/<challenge_id>", methods=["DELETE"])
@admins_only
def challenges_delete(challenge_id):
    row = _challenge_or_404(challenge_id)
    cls = get_chal_class(row["type"])
    cls.delete(_full_challenge(row))
    return {"success": True}


@api.route("/challenges/<challenge_id>/files", methods=["GET"])
@admins_only
def challenge_files(challenge_id):
    rows = db.fetchall("SELECT id, type, location, sha1sum FROM files WHERE challenge_id=%s AND type='challenge'"
                       " ORDER BY id", (challenge_id,))
    return {"success": True, "data": rows}


@api.route("/challenges/<challenge_id>/tags", methods=["GET"])
@admins_only
def challenge_tags(challenge_id):
    rows = db.fetchall("SELECT id, challenge_id, value FROM tags WHERE challenge_id=%s ORDER BY id", (challenge_id,))
    return {"success": True, "data": rows}


@api.route("/challenges/<challenge_id>/hints", methods=["GET"])
@admins_only
def challenge_hints(challenge_id):
    rows = db.fetchall("SELECT * FROM hints WHERE challenge_id=%s ORDER BY id", (challenge_id,))
    return {"success": True, "data": [_hint_dump(r) for r in rows]}


@api.route("/challenges/<challenge_id>/flags", methods=["GET"])
@admins_only
def challenge_flags(challenge_id):
    rows = db.fetchall("SELECT * FROM flags WHERE challenge_id=%s ORDER BY id", (challenge_id,))
    return {"success": True, "data": [_flag_dump(r) for r in rows]}


@api.route("/challenges/<challenge_id>/requirements", methods=["GET"])
@admins_only
def challenge_requirements(challenge_id):
    return {"success": True, "data": _challenge_or_404(challenge_id)["requirements"]}


# --------------------------------------------------------------------------
# attempts


def _result(status, message, code=200):
    return {"success": True, "data": {"status": status, "message": message}}, code


def _unpack(response):
    if isinstance(response, tuple):
        return response[0], response[1]
    return response.status, response.message


def _log_submission(user, data, challenge_id, kpm, tag):
    log("submissions", "[{date}] {name} submitted {submission} on {challenge_id} with kpm {kpm} [" + tag + "]",
        name=user.name, submission=str(data.get("submission", "")).encode("utf-8"), challenge_id=challenge_id,
        kpm=kpm)


@api.route("/challenges/attempt", methods=["POST"])
@check_challenge_visibility
@during_ctf_time_only
@require_verified_emails
def challenges_attempt():
    if not authed():
        return {"success": True, "data": {"status": "authentication_required"}}, 403
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data or {}
    challenge_id = data.get("challenge_id")
    admin = is_admin()
    if admin and request.args.get("preview", False):
        row = _challenge_or_404(challenge_id)
        status, message = _unpack(get_chal_class(row["type"]).attempt(_full_challenge(row), request))
        correct = status == "correct" or status is True
        return _result("correct" if correct else ("partial" if status == "partial" else "incorrect"), message)
    if ctf_paused():
        return _result("paused", f"{get_config('ctf_name', 'CTFd')} is paused", 403)
    user, team = get_current_user(), None
    row = _challenge_or_404(challenge_id)
    if row["state"] == "hidden":
        abort(404)
    if row["state"] == "locked":
        abort(403)
    if row["requirements"] and not _user_solve_ids(user) >= _prerequisites(row["requirements"]):
        abort(403)
    cls = get_chal_class(row["type"])
    challenge = _full_challenge(row)

    recent_fails = db.fetchall(
        "SELECT id, date FROM submissions WHERE user_id=%s AND type='incorrect'"
        " AND date >= UTC_TIMESTAMP(6) - INTERVAL 1 MINUTE ORDER BY id", (user.id,))
    kpm = len(recent_fails)
    kpm_limit = int(get_config("incorrect_submissions_per_min", default=10))
    time_delay = 60
    if recent_fails:
        time_delay -= int((datetime.datetime.utcnow() - recent_fails[0]["date"]).total_seconds())
    max_tries = row["max_attempts"]
    fails = 0
    if max_tries and max_tries > 0:
        fails = db.fetchone("SELECT COUNT(*) AS n FROM submissions WHERE user_id=%s AND challenge_id=%s"
                            " AND type='incorrect'", (user.id, row["id"]))["n"]
        if fails >= max_tries:
            return _result("ratelimited", "Not accepted. You have 0 tries remaining", 403)
    if kpm >= kpm_limit:
        if ctftime():
            cls.ratelimited(user=user, team=team, challenge=challenge, request=request)
        _log_submission(user, data, challenge_id, kpm, "TOO FAST")
        return _result("ratelimited", f"You're submitting flags too fast. Try again in {time_delay} seconds.", 429)

    solved = db.fetchone("SELECT id FROM solves WHERE user_id=%s AND challenge_id=%s", (user.id, row["id"]))
    status, message = _unpack(cls.attempt(challenge, request))
    if solved:
        _log_submission(user, data, challenge_id, kpm, "ALREADY SOLVED")
        return _result("already_solved", f"{message} but you already solved this")
    if status == "correct" or status is True:
        if ctftime() or admin:
            try:
                cls.solve(user=user, team=team, challenge=challenge, request=request)
            except ChallengeSolveException:
                _log_submission(user, data, challenge_id, kpm, "ALREADY SOLVED")
                return _result("already_solved", f"{message} but you already solved this")
        _log_submission(user, data, challenge_id, kpm, "CORRECT")
        return _result("correct", message)
    if status == "partial":
        if ctftime() or admin:
            cls.partial(user=user, team=team, challenge=challenge, request=request)
        _log_submission(user, data, challenge_id, kpm, "PARTIAL")
        return _result("partial", message)
    if ctftime() or admin:
        cls.fail(user=user, team=team, challenge=challenge, request=request)
    _log_submission(user, data, challenge_id, kpm, "WRONG")
    if max_tries:
        left = max_tries - fails - 1
        if message[-1] not in "!().;?[]{}":
            message += "."
        message = f"{message} You have {left} {'try' if left == 1 else 'tries'} remaining."
    return _result("incorrect", message)


# --------------------------------------------------------------------------
# flags


def _flag_dump(row):
    return {"id": row["id"], "challenge_id": row["challenge_id"], "type": row["type"], "content": row["content"],
            "data": row["data"], "challenge": row["challenge_id"]}


FLAG_COLUMNS = ("challenge_id", "type", "content", "data")


@api.route("/flags", methods=["GET"])
@admins_only
def flags_list():
    where, args = _where(("challenge_id", "type", "content", "data"), ("type", "content", "data"))
    return {"success": True, "data": [_flag_dump(r) for r in db.fetchall("SELECT * FROM flags" + where
                                                                         + " ORDER BY id", args)]}


@api.route("/flags", methods=["POST"])
@admins_only
def flags_create():
    values, errors = _load("flags", _json_object())
    if errors:
        return {"success": False, "errors": errors}, 400
    values = {k: v for k, v in values.items() if k in FLAG_COLUMNS}
    if values.get("type") in ("static", "regex") and isinstance(values.get("content"), str):
        values["content"] = values["content"].strip()
    flag_id = _insert("flags", values)
    return {"success": True, "data": _flag_dump(_row_or_404("flags", flag_id))}


@api.route("/flags/types", methods=["GET"])
@admins_only
def flags_types():
    return {"success": True, "data": {k: {"name": c.name, "templates": c.templates} for k, c in FLAG_CLASSES.items()}}


@api.route("/flags/types/<type_name>", methods=["GET"])
@admins_only
def flags_type(type_name):
    cls = get_flag_class(type_name)
    return {"success": True, "data": {"name": cls.name, "templates": cls.templates}}


@api.route("/flags/<flag_id>", methods=["GET"])
@admins_only
def flags_get(flag_id):
    row = _row_or_404("flags", flag_id)
    return {"success": True, "data": {**_flag_dump(row), "templates": get_flag_class(row["type"]).templates}}


@api.route("/flags/<flag_id>", methods=["PATCH"])
@admins_only
def flags_patch(flag_id):
    row = _row_or_404("flags", flag_id)
    req = _json_object()
    if row["type"] in ("static", "regex") and isinstance(req.get("content"), str) and req.get("content"):
        req["content"] = req["content"].strip()
    values, errors = _load("flags", req)
    if errors:
        return {"success": False, "errors": errors}, 400
    _update("flags", row["id"], {k: v for k, v in values.items() if k in FLAG_COLUMNS})
    return {"success": True, "data": _flag_dump(_row_or_404("flags", flag_id))}


@api.route("/flags/<flag_id>", methods=["DELETE"])
@admins_only
def flags_delete(flag_id):
    _row_or_404("flags", flag_id)
    db.execute("DELETE FROM flags WHERE id=%s", (flag_id,))
    return {"success": True}


# --------------------------------------------------------------------------
# tags


def _tag_dump(row):
    return {"id": row["id"], "challenge_id": row["challenge_id"], "value": row["value"],
            "challenge": row["challenge_id"]}


def _tag_values_in(data):
    values, errors = _load("tags", data, lengths=("value",))
    return {k: v for k, v in values.items() if k in ("challenge_id", "value")}, errors


@api.route("/tags", methods=["GET"])
@admins_only
def tags_list():
    where, args = _where(("challenge_id", "value"), ("challenge_id", "value"))
    return {"success": True, "data": [_tag_dump(r) for r in db.fetchall("SELECT * FROM tags" + where
                                                                        + " ORDER BY id", args)]}


@api.route("/tags", methods=["POST"])
@admins_only
def tags_create():
    values, errors = _tag_values_in(_json_object())
    if errors:
        return {"success": False, "errors": errors}, 400
    return {"success": True, "data": _tag_dump(_row_or_404("tags", _insert("tags", values)))}


@api.route("/tags/<tag_id>", methods=["GET"])
@admins_only
def tags_get(tag_id):
    return {"success": True, "data": _tag_dump(_row_or_404("tags", tag_id))}


@api.route("/tags/<tag_id>", methods=["PATCH"])
@admins_only
def tags_patch(tag_id):
    row = _row_or_404("tags", tag_id)
    values, errors = _tag_values_in(_json_object())
    if errors:
        return {"success": False, "errors": errors}, 400
    _update("tags", row["id"], values)
    return {"success": True, "data": _tag_dump(_row_or_404("tags", tag_id))}


@api.route("/tags/<tag_id>", methods=["DELETE"])
@admins_only
def tags_delete(tag_id):
    _row_or_404("tags", tag_id)
    db.execute("DELETE FROM tags WHERE id=%s", (tag_id,))
    return {"success": True}


# --------------------------------------------------------------------------
# hints


HINT_COLUMNS = ("title", "type", "challenge_id", "content", "cost", "requirements")


def _hint_dump(row, view=None):
    full = {
        "id": row["id"], "title": row["title"], "type": row["type"], "challenge_id": row["challenge_id"],
        "challenge": row["challenge_id"], "content": row["content"], "cost": row["cost"],
        "requirements": _requirements(row["requirements"]),
        "html": md.markdown(row["content"] or "", extensions=["fenced_code", "tables"]),
    }
    return {k: full[k] for k in HINT_VIEWS[view]}


def _hint_values_in(data):
    values, errors = _load("hints", data, lengths=("title",))
    values = {k: v for k, v in values.items() if k in HINT_COLUMNS and k != "type"}  # type is dump-only
    if "requirements" in values:
        values["requirements"] = None if values["requirements"] is None else json.dumps(values["requirements"])
    return values, errors


@api.route("/hints", methods=["GET"])
@admins_only
def hints_list():
    where, args = _where(("type", "challenge_id", "content", "cost"), ("type", "content"))
    rows = db.fetchall("SELECT * FROM hints" + where + " ORDER BY id", args)
    return {"success": True, "data": [_hint_dump(r, "locked") for r in rows]}


@api.route("/hints", methods=["POST"])
@admins_only
def hints_create():
    values, errors = _hint_values_in(_json_object())
    if errors:
        return {"success": False, "errors": errors}, 400
    return {"success": True, "data": _hint_dump(_row_or_404("hints", _insert("hints", values)), "admin")}


@api.route("/hints/<hint_id>", methods=["GET"])
@during_ctf_time_only
@check_challenge_visibility
def hints_get(hint_id):
    hint = _row_or_404("hints", hint_id)
    admin = is_admin()
    if not admin:
        challenge = db.fetchone("SELECT state FROM challenges WHERE id=%s", (hint["challenge_id"],))
        if challenge is None:
            abort(500)  # CTFd: hint.challenge is None -> AttributeError
        if challenge["state"] == "hidden":
            abort(404)
    prerequisites = set((_requirements(hint["requirements"]) or {}).get("prerequisites", []))
    if get_current_user() is None:
        if hint["cost"] or prerequisites or not get_config("hints_free_public_access", False):
            return {"success": False, "errors": {"cost": ["You must login to unlock this hint"]}}, 403
        return {"success": True, "data": _hint_dump(hint, "unlocked")}
    preview = admin and request.args.get("preview", False)
    if prerequisites:
        existing = {r["id"] for r in db.fetchall("SELECT id FROM hints")}
        if prerequisites & existing and not preview:  # no hint unlocks in the stand-in
            return {"success": False, "errors": {
                "requirements": ["You must unlock other hints before accessing this hint"]}}, 403
    return {"success": True, "data": _hint_dump(hint, "admin" if preview else "locked")}


@api.route("/hints/<hint_id>", methods=["PATCH"])
@admins_only
def hints_patch(hint_id):
    row = _row_or_404("hints", hint_id)
    values, errors = _hint_values_in(_json_object())
    if errors:
        return {"success": False, "errors": errors}, 400
    _update("hints", row["id"], values)
    return {"success": True, "data": _hint_dump(_row_or_404("hints", hint_id), "admin")}


@api.route("/hints/<hint_id>", methods=["DELETE"])
@admins_only
def hints_delete(hint_id):
    _row_or_404("hints", hint_id)
    db.execute("DELETE FROM hints WHERE id=%s", (hint_id,))
    return {"success": True}


# --------------------------------------------------------------------------
# files (upload and GET /files/<id> are in CTFd/api.py)


@api.route("/files", methods=["GET"])
@admins_only
def files_list_get():
    where, args = _where(("type", "location"), ("type", "location"))
    return {"success": True, "data": db.fetchall("SELECT id, type, location, sha1sum FROM files" + where
                                                 + " ORDER BY id", args)}


@api.route("/files/<int:file_id>", methods=["DELETE"])
@admins_only
def files_delete(file_id):
    from CTFd.views import delete_file

    delete_file(file_id)
    return {"success": True}


# --------------------------------------------------------------------------
# submissions


SUBMISSION_SQL = (
    "SELECT s.*, c.name AS c_name, c.category AS c_category, c.value AS c_value, u.name AS u_name"
    " FROM submissions s LEFT JOIN challenges c ON c.id = s.challenge_id LEFT JOIN users u ON u.id = s.user_id")


def _submission_dump(row):
    return {
        "id": row["id"], "challenge_id": row["challenge_id"], "user_id": row["user_id"], "team_id": row["team_id"],
        "ip": row["ip"], "provided": row["provided"], "type": row["type"],
        "date": row["date"].isoformat() + "+00:00" if row["date"] else None,
        "challenge": {"id": row["challenge_id"], "name": row["c_name"], "category": row["c_category"],
                      "value": row["c_value"]} if row["challenge_id"] is not None else None,
        "user": {"id": row["user_id"], "name": row["u_name"]} if row["user_id"] is not None else None,
        "team": None,
    }


def _page_arg(name, default):
    try:
        value = int(request.args.get(name, default))
    except ValueError:
        return default
    return value if value > 0 else default


@api.route("/submissions", methods=["GET"])
@admins_only
def submissions_list():
    columns = ("challenge_id", "user_id", "team_id", "ip", "provided", "type")
    where, args = _where(columns, columns, table_alias="s.")
    page, per_page = _page_arg("page", 1), min(_page_arg("per_page", 20), 100)
    total = db.fetchone("SELECT COUNT(*) AS n FROM submissions s" + where, args)["n"]
    rows = db.fetchall(SUBMISSION_SQL + where + " ORDER BY s.id LIMIT %s OFFSET %s",
                       [*args, per_page, (page - 1) * per_page])
    pages = math.ceil(total / per_page) if total else 0
    return {
        "meta": {"pagination": {"page": page, "next": page + 1 if page < pages else None,
                                "prev": page - 1 if page > 1 else None, "pages": pages,
                                "per_page": per_page, "total": total}},
        "success": True,
        "data": [_submission_dump(r) for r in rows],
    }


@api.route("/submissions/<submission_id>", methods=["GET"])
@admins_only
def submissions_get(submission_id):
    row = db.fetchone(SUBMISSION_SQL + " WHERE s.id=%s", (submission_id,))
    if row is None:
        abort(404)
    return {"success": True, "data": _submission_dump(row)}


@api.route("/submissions/<submission_id>", methods=["DELETE"])
@admins_only
def submissions_delete(submission_id):
    _row_or_404("submissions", submission_id)
    db.execute("DELETE FROM submissions WHERE id=%s", (submission_id,))
    return {"success": True}
