"""Challenge types of the CTFd stand-in, with CTFd 3.8.7's plugin interface.

CHALLENGE_CLASSES maps a type name to a class; get_chal_class(name) raises
KeyError for an unknown one (the API turns that into a 500, as CTFd). A
class has CTFd's attributes (id, name, templates, scripts, challenge_model)
and classmethods:
    create(request) -> challenge            read(challenge) -> dict
    update(challenge, request) -> challenge  delete(challenge)
    attempt(challenge, request) -> ChallengeResponse or (bool, message)
    solve / fail / partial / ratelimited(user, team, challenge, request)
A `challenge` is a Row of the challenges table joined with the type's own
table: challenge_model = ChallengeModel("llm_challenges", ("preprompt",
"chat_limit"), identity="llm_verification") gives challenge.preprompt.
Like CTFd, creating passes every key of the request data to the model: a key
that is no column raises TypeError (500); updating sets every key that is a
column and ignores the rest (CTFd's setattr).
Like CTFd's built-in challenges plugin this directory is itself a plugin.
"""
import json
from dataclasses import dataclass

import pymysql

from CTFd.models import db
from CTFd.plugins import register_plugin_assets_directory

CHALLENGE_COLUMNS = (
    "name", "description", "attribution", "connection_info", "next_id", "max_attempts", "value",
    "category", "type", "state", "logic", "initial", "minimum", "decay", "position", "function",
    "requirements",
)
JSON_COLUMNS = ("requirements",)
DECAY_FUNCTIONS = ("linear", "logarithmic")


class ChallengeCreateException(Exception):
    pass


class ChallengeUpdateException(Exception):
    pass


class ChallengeSolveException(Exception):
    pass


@dataclass
class ChallengeResponse:
    status: str
    message: str

    def __iter__(self):
        # Unpacks like CTFd's: (correct?, message).
        yield self.status == "correct"
        yield self.message


def _encode(column, value):
    if column in JSON_COLUMNS and value is not None:
        return json.dumps(value)
    return value


def _decode(row):
    if row is not None:
        for column in JSON_COLUMNS:
            if row.get(column) is not None:
                row[column] = json.loads(row[column])
    return row


def _quoted(columns):
    return ", ".join(f"`{c}`" for c in columns)


class ChallengeModel:
    """The challenges table, optionally joined (by id) with a type's own table."""

    def __init__(self, table=None, columns=(), identity="standard"):
        self.table, self.columns, self.identity = table, tuple(columns), identity

    def _split(self, data):
        base = {k: _encode(k, v) for k, v in data.items() if k in CHALLENGE_COLUMNS or k == "id"}
        own = {k: v for k, v in data.items() if k in self.columns}
        return base, own

    def insert(self, data):
        for key in data:
            if key != "id" and key not in CHALLENGE_COLUMNS and key not in self.columns:
                # SQLAlchemy's model constructor: an unknown keyword is an error.
                raise TypeError(f"{key!r} is an invalid keyword argument for {self.identity} challenges")
        base, own = self._split(data)
        base["type"] = self.identity
        challenge_id = db.execute(
            f"INSERT INTO challenges ({_quoted(base)}) VALUES ({', '.join(['%s'] * len(base))})",
            list(base.values()))
        if self.table:
            own["id"] = challenge_id
            db.execute(f"INSERT INTO `{self.table}` ({_quoted(own)}) VALUES ({', '.join(['%s'] * len(own))})",
                       list(own.values()))
        return challenge_id

    def get(self, challenge_id):
        if self.table:
            own = ", ".join(f"t.`{c}`" for c in self.columns)
            row = db.fetchone(f"SELECT c.*, {own} FROM challenges c LEFT JOIN `{self.table}` t ON t.id = c.id"
                              " WHERE c.id=%s", (challenge_id,))
        else:
            row = db.fetchone("SELECT * FROM challenges WHERE id=%s", (challenge_id,))
        return _decode(row)

    def update(self, challenge_id, data):
        base, own = self._split({k: v for k, v in data.items() if k != "id"})
        if base:
            db.execute(f"UPDATE challenges SET {', '.join(f'`{k}`=%s' for k in base)} WHERE id=%s",
                       [*base.values(), challenge_id])
        if self.table and own:
            db.execute(f"UPDATE `{self.table}` SET {', '.join(f'`{k}`=%s' for k in own)} WHERE id=%s",
                       [*own.values(), challenge_id])

    def delete(self, challenge_id):
        if self.table:
            db.execute(f"DELETE FROM `{self.table}` WHERE id=%s", (challenge_id,))
        db.execute("DELETE FROM challenges WHERE id=%s", (challenge_id,))


Challenges = ChallengeModel()


def request_data(request):
    return request.form or request.get_json()


def record_submission(user, team, challenge, request, kind, provided):
    from CTFd.utils.user import get_ip

    return db.execute(
        "INSERT INTO submissions (challenge_id, user_id, team_id, ip, provided, type) VALUES (%s, %s, %s, %s, %s, %s)",
        (challenge.id, user.id, team.id if team else None, get_ip(request), provided, kind))


def record_solve(user, team, challenge, request, provided, kind="correct"):
    """A submission of `kind` plus its solves row; a second solve of the same
    challenge by the same account raises ChallengeSolveException."""
    submission_id = record_submission(user, team, challenge, request, kind, provided)
    try:
        db.execute("INSERT INTO solves (id, challenge_id, user_id, team_id) VALUES (%s, %s, %s, %s)",
                   (submission_id, challenge.id, user.id, team.id if team else None))
    except pymysql.err.IntegrityError as err:
        db.execute("DELETE FROM submissions WHERE id=%s", (submission_id,))
        raise ChallengeSolveException(f"Duplicate solve for user {user.id} on challenge {challenge.id}") from err
    return submission_id


class BaseChallenge:
    id = None
    name = None
    templates = {}
    scripts = {}
    challenge_model = Challenges

    @classmethod
    def create(cls, request):
        data = request_data(request)
        if data.get("function", "static") in DECAY_FUNCTIONS:
            raise ChallengeCreateException("Dynamic value challenges are not in the CTFd stand-in")
        return cls.challenge_model.get(cls.challenge_model.insert(data))

    @classmethod
    def read(cls, challenge):
        dynamic = challenge.function != "static"
        return {
            "id": challenge.id,
            "name": challenge.name,
            "value": challenge.value,
            "description": challenge.description,
            "attribution": challenge.attribution,
            "connection_info": challenge.connection_info,
            "next_id": challenge.next_id,
            "category": challenge.category,
            "state": challenge.state,
            "max_attempts": challenge.max_attempts,
            "position": challenge.position,
            "logic": challenge.logic,
            "initial": challenge.initial if dynamic else None,
            "decay": challenge.decay if dynamic else None,
            "minimum": challenge.minimum if dynamic else None,
            "function": challenge.function,
            "type": challenge.type,
            "type_data": {"id": cls.id, "name": cls.name, "templates": cls.templates, "scripts": cls.scripts},
        }

    @classmethod
    def update(cls, challenge, request):
        data = request_data(request)
        if data.get("function", challenge.function) in DECAY_FUNCTIONS:
            raise ChallengeUpdateException("Dynamic value challenges are not in the CTFd stand-in")
        cls.challenge_model.update(challenge.id, data)
        return cls.challenge_model.get(challenge.id)

    @classmethod
    def delete(cls, challenge):
        from CTFd.views import delete_file

        db.execute("DELETE FROM submissions WHERE challenge_id=%s AND type IN ('incorrect', 'correct')",
                   (challenge.id,))
        db.execute("DELETE FROM flags WHERE challenge_id=%s", (challenge.id,))
        for row in db.fetchall("SELECT id FROM files WHERE challenge_id=%s AND type='challenge'", (challenge.id,)):
            delete_file(row["id"])
        db.execute("DELETE FROM tags WHERE challenge_id=%s", (challenge.id,))
        db.execute("DELETE FROM hints WHERE challenge_id=%s", (challenge.id,))
        cls.challenge_model.delete(challenge.id)

    @classmethod
    def attempt(cls, challenge, request):
        from CTFd.plugins.flags import FlagException, get_flag_class

        submission = request_data(request)["submission"].strip()
        # Logic "all" and "team" (partial solves) are not in the stand-in: "any".
        for flag in db.fetchall("SELECT * FROM flags WHERE challenge_id=%s ORDER BY id", (challenge.id,)):
            try:
                if get_flag_class(flag.type).compare(flag, submission):
                    return ChallengeResponse(status="correct", message="Correct")
            except FlagException as err:
                return ChallengeResponse(status="incorrect", message=str(err))
        return ChallengeResponse(status="incorrect", message="Incorrect")

    @classmethod
    def solve(cls, user, team, challenge, request):
        record_solve(user, team, challenge, request, request_data(request)["submission"].strip())

    @classmethod
    def fail(cls, user, team, challenge, request):
        record_submission(user, team, challenge, request, "incorrect", request_data(request)["submission"].strip())

    @classmethod
    def partial(cls, user, team, challenge, request):
        record_submission(user, team, challenge, request, "partial", request_data(request)["submission"].strip())

    @classmethod
    def ratelimited(cls, user, team, challenge, request):
        record_submission(user, team, challenge, request, "ratelimited",
                          request_data(request)["submission"].strip())


class CTFdStandardChallenge(BaseChallenge):
    id = "standard"
    name = "standard"
    templates = {
        "create": "/plugins/challenges/assets/create.html",
        "update": "/plugins/challenges/assets/update.html",
        "view": "/plugins/challenges/assets/view.html",
    }
    scripts = {
        "create": "/plugins/challenges/assets/create.js",
        "update": "/plugins/challenges/assets/update.js",
        "view": "/plugins/challenges/assets/view.js",
    }
    route = "/plugins/challenges/assets/"
    challenge_model = Challenges


def get_chal_class(class_id):
    cls = CHALLENGE_CLASSES.get(class_id)
    if cls is None:
        raise KeyError(class_id)
    return cls


CHALLENGE_CLASSES = {"standard": CTFdStandardChallenge}


def load(app):
    register_plugin_assets_directory(app, base_path="/plugins/challenges/assets/")
