#!/usr/bin/env bash
# make-repos.sh OUTDIR: fixture stand-ins of the three upstream git
# repositories the roles clone, as bare repositories
#   OUTDIR/llm_verification   (CTFd plugin, for the CTFd stand-in image)
#   OUTDIR/aiv_ctfd_theme     (CTFd theme aiv-beta + pages/index.html)
#   OUTDIR/llm_router         (dockerfiles/Dockerfile + models/)
# and OUTDIR/shas.env with the commit each role pins:
#   LLM_VERIFICATION_SHA=... AIV_CTFD_THEME_SHA=... LLM_ROUTER_SHA=...
# Each repository has two commits on branch main: the pinned one, and a
# newer one on top (marker file NEWER_THAN_PIN) so a test can tell a pinned
# checkout from "whatever HEAD is"; *_HEAD_SHA name those.
#
# Everything here is our own test fixture content (no upstream code). Fixed
# author, committer and dates make the SHAs the same on every machine and
# run; a re-run leaves repositories that are already right alone.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUTDIR=$1
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

export GIT_AUTHOR_NAME="grt-deploy fixtures" GIT_AUTHOR_EMAIL="fixtures@grt-deploy.invalid"
export GIT_COMMITTER_NAME="grt-deploy fixtures" GIT_COMMITTER_EMAIL="fixtures@grt-deploy.invalid"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null TZ=UTC LC_ALL=C
umask 022

# commit DIR MESSAGE DATE: commit everything in DIR with a fixed date.
commit() {
  git -C "$1" add -A
  GIT_AUTHOR_DATE="$3" GIT_COMMITTER_DATE="$3" \
    git -C "$1" -c commit.gpgsign=false commit -q -m "$2"
}

# publish NAME TREE: make OUTDIR/NAME a bare copy of TREE's main unless it
# already is one; print the pinned (first) and head commits.
publish() {
  local tree=$2 dest="$OUTDIR/$1" head pinned
  head=$(git -C "$tree" rev-parse HEAD)
  pinned=$(git -C "$tree" rev-parse HEAD~1)
  if [ "$(git -C "$dest" for-each-ref refs/heads 2>/dev/null || true)" != "$(git -C "$tree" for-each-ref refs/heads)" ]; then
    rm -rf "$dest"
    git clone -q --bare "$tree" "$dest"
    # Servable as is: git daemon and the dumb HTTP protocol.
    touch "$dest/git-daemon-export-ok"
    git -C "$dest" update-server-info
  fi
  printf '%s %s\n' "$pinned" "$head"
}

newrepo() {
  local d="$WORK/${1:?}"
  rm -rf "$d"
  mkdir -p "$d"
  git -C "$d" init -q -b main
  echo "$d"
}

newer_commit() {
  cat >"$1/NEWER_THAN_PIN" <<'EOF'
This commit is newer than the one the roles pin. A deployment that shows
this file did not honour the pinned commit.
EOF
  commit "$1" "Newer commit than the pinned one (fixture)" "2024-02-01T12:00:00Z"
}

# ---------------------------------------------------------------- plugin
make_llm_verification() {
  local d
  d=$(newrepo llm_verification)
  mkdir -p "$d/assets" "$d/templates"

  cat >"$d/README.md" <<'EOF'
# llm_verification (grt-deploy test fixture)

Stand-in for aivillage/llm_verification, written for the grt-deploy tests and
loaded by the CTFd stand-in image. Same install (copy the repo to
`CTFd/plugins/llm_verification`, no requirements.txt), same environment and
failure modes as the upstream plugin:

- `LLMV_ROUTER_URL` and `LLMV_ROUTER_TOKEN` are required; at load it calls
  `GET $LLMV_ROUTER_URL/chat/models` and any failure stops CTFd.
- It writes `llmv_verification.log` into CTFd's LOG_FOLDER (no error handling).
- `POST /generate` calls `POST $LLMV_ROUTER_URL/chat/generate` (Bearer token,
  fresh uuid4, no retry) and then runs the same conversation access check
  as upstream, defect included (`or` where `and` is meant): non-admins get 403.
- Challenge type `llm_verification` (fields `preprompt`, `chat_limit`) as
  upstream's: creating forces state "visible"; `POST /api/v1/challenges/attempt`
  with the generation id as `submission` answers "Submission under review",
  marks the generation "pending" and records an award (a solve, type
  `llm_solves`, once every model was submitted); nothing is graded here.
- Fixture-only knob: `LLMV_STANDIN_MODEL` picks the model (default: the first
  one the router lists).
EOF

  cat >"$d/__init__.py" <<'EOF'
"""llm_verification fixture plugin (grt-deploy tests; not the upstream code).

load(app), in upstream's order: logger (LOG_FOLDER/llmv_verification.log),
tables, challenge type `llm_verification`, assets at
/plugins/llm_verification/assets/, routes, then the model list from the
router (GET $LLMV_ROUTER_URL/chat/models) - any failure raises and stops
CTFd, as upstream.
"""
from CTFd.plugins import register_plugin_assets_directory
from CTFd.plugins.challenges import CHALLENGE_CLASSES

from .llmv_logger import initialize_llmv_logger
from .llmv_models import LlmChallenge, create_tables, fill_models_table
from .llmv_routes import add_routes


def load(app):
    log = initialize_llmv_logger(app)
    create_tables()
    CHALLENGE_CLASSES["llm_verification"] = LlmChallenge
    register_plugin_assets_directory(app, base_path="/plugins/llm_verification/assets/")
    blueprint = add_routes()
    fill_models_table()
    app.register_blueprint(blueprint)
    log.info("Loaded LLM Verification Plugin (fixture)")
EOF

  cat >"$d/llmv_logger.py" <<'EOF'
"""Plugin log file in CTFd's LOG_FOLDER. Like upstream: no error handling,
so an unwritable LOG_FOLDER stops CTFd (PermissionError)."""
import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path


def initialize_llmv_logger(app):
    log = logging.getLogger("llm_verification")
    log.setLevel(logging.DEBUG)
    logfile = Path(app.config["LOG_FOLDER"], "llmv_verification.log")
    logfile.touch(exist_ok=True)
    log.handlers = []
    log.addHandler(RotatingFileHandler(logfile, maxBytes=10485760, backupCount=5))
    log.addHandler(logging.StreamHandler(stream=sys.stdout))
    log.propagate = False
    log.info('Writing logs to "%s"', logfile)
    return log
EOF

  cat >"$d/remote_llm.py" <<'EOF'
"""Calls to the llm_router (fixture). As upstream: URL and token from the
environment, Bearer token, no timeout, no retry."""
import logging
import os

import requests
from requests.exceptions import HTTPError

log = logging.getLogger("llm_verification")


def _router():
    url = os.environ.get("LLMV_ROUTER_URL")
    if url is None:
        raise ValueError("LLM Verification Router URL is not set")
    token = os.environ.get("LLMV_ROUTER_TOKEN")
    if token is None:
        raise ValueError("LLM Verification Router token is not set")
    return url, {"Authorization": f"Bearer {token}"}


def get_models():
    url, headers = _router()
    route = url + "/chat/models"
    log.info("Getting models from %s", route)
    response = requests.get(route, headers=headers)
    if response.status_code != 200:
        raise HTTPError(f"LLM Router returned {response.status_code} for {route}: {response.text}")
    models = response.json()["models"]
    log.info("Available models are %s", models)
    return models


def generate_text(idempotency_uuid, preprompt, prompt, model, history=None):
    url, headers = _router()
    response = requests.post(
        url + "/chat/generate",
        headers=headers,
        json={"uuid": idempotency_uuid, "prompt": prompt, "system": preprompt,
              "model": model, "history": history or []},
    )
    if response.status_code == 200:
        body = response.json()
        if body.get("error") is not None:
            raise HTTPError("Model Error")
        return body["generation"]
    raise HTTPError(f"LLM Router API returned error status code {response.status_code}: {response.text}")
EOF

  cat >"$d/llmv_models.py" <<'EOF'
"""Plugin tables and the challenge type (fixture), on the CTFd stand-in's
db helper and challenge-class interface. LlmChallenge behaves as upstream's
LlmSubmissionChallenge: create forces state "visible", read() gives
upstream's keys, attempt() is always (False, "Submission under review"),
solve() does nothing and fail() grades nothing: it marks the submitted
generation (the submission text is its id) "pending", then records an award
while the user has models left to submit for, else a solve (type llm_solves)."""
import os

from flask import abort

from CTFd.models import db
from CTFd.plugins.challenges import BaseChallenge, ChallengeModel, record_solve, request_data

from .remote_llm import get_models

TABLES = (
    """CREATE TABLE IF NOT EXISTS llm_challenges (
        id INT PRIMARY KEY, preprompt TEXT NULL, chat_limit INT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS llm_models (
        id INT AUTO_INCREMENT PRIMARY KEY, model VARCHAR(255) NOT NULL,
        anon_name VARCHAR(80) NULL, UNIQUE KEY llm_models_model (model))""",
    """CREATE TABLE IF NOT EXISTS llmv_generations (
        id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NOT NULL, account_id INT NOT NULL,
        challenge_id INT NOT NULL, model_id INT NOT NULL,
        status VARCHAR(32) NOT NULL DEFAULT 'unsubmitted',
        date DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS llmv_chat_pairs (
        id INT AUTO_INCREMENT PRIMARY KEY, generation_id INT NOT NULL,
        prompt TEXT NULL, generation TEXT NULL, uuid VARCHAR(64) NULL,
        date DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))""",
    """CREATE TABLE IF NOT EXISTS llm_awards (
        id INT AUTO_INCREMENT PRIMARY KEY, user_id INT NULL, name VARCHAR(80) NULL,
        value INT NULL, category VARCHAR(80) NULL, generation_id INT NULL, challenge_id INT NULL,
        date DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS llm_solves (
        id INT PRIMARY KEY, generation_id INT NULL)""",
)
ANON_NAMES = ["Anu", "Ellil", "Enki", "Marduk", "Ashur", "Nabu", "Nanna", "Utu"]
MODELS = []
SUBMITTED = ("pending", "correct", "awarded", "incorrect")


def create_tables():
    db.create_tables(*TABLES)


def fill_models_table():
    MODELS[:] = get_models()
    for model, anon in zip(MODELS, ANON_NAMES):
        db.execute("INSERT IGNORE INTO llm_models (model, anon_name) VALUES (%s, %s)", (model, anon))


def pick_model():
    wanted = os.environ.get("LLMV_STANDIN_MODEL") or MODELS[0]
    return db.fetchone("SELECT * FROM llm_models WHERE model=%s", (wanted,))


def models_not_submitted(user_id, challenge_id):
    """Anonymous names of the models this user has no submitted generation with."""
    used = {row.anon_name for row in db.fetchall(
        "SELECT m.anon_name FROM llmv_generations g JOIN llm_models m ON m.id = g.model_id"
        " WHERE g.user_id=%s AND g.challenge_id=%s AND g.status IN %s", (user_id, challenge_id, SUBMITTED))}
    return [row.anon_name for row in db.fetchall("SELECT anon_name FROM llm_models ORDER BY id")
            if row.anon_name not in used]


class LlmChallenge(BaseChallenge):
    id = "llm_verification"
    name = "llm_verification"
    templates = {
        "create": "/plugins/llm_verification/assets/create.html",
        "update": "/plugins/llm_verification/assets/update.html",
        "view": "/plugins/llm_verification/assets/view.html",
    }
    scripts = {
        "create": "/plugins/llm_verification/assets/create.js",
        "update": "/plugins/llm_verification/assets/update.js",
        "view": "/plugins/llm_verification/assets/view.js",
    }
    route = "/plugins/llm_verification/assets/"
    challenge_model = ChallengeModel("llm_challenges", ("preprompt", "chat_limit"), identity="llm_verification")

    @classmethod
    def create(cls, request):
        data = request_data(request)
        data["state"] = "visible"  # whatever was asked, as upstream
        return cls.challenge_model.get(cls.challenge_model.insert(data))

    @classmethod
    def read(cls, challenge):
        out = {key: challenge[key] for key in (
            "id", "name", "value", "description", "preprompt", "chat_limit", "connection_info", "next_id",
            "category", "state", "max_attempts", "type")}
        out["type_data"] = {"id": cls.id, "name": cls.name, "templates": cls.templates, "scripts": cls.scripts}
        return out

    @staticmethod
    def attempt(challenge, request):
        return False, "Submission under review"

    @staticmethod
    def solve(user, team, challenge, request):
        return None

    @staticmethod
    def fail(user, team, challenge, request):
        generation_id = int(request_data(request)["submission"].strip())  # not a number: 500, as upstream
        db.execute("UPDATE llmv_generations SET status='pending' WHERE id=%s", (generation_id,))
        generation = db.fetchone("SELECT id, challenge_id FROM llmv_generations WHERE id=%s", (generation_id,))
        if generation is None:
            abort(404)
        if generation.challenge_id != challenge.id:
            raise AssertionError("generation of another challenge")  # 500, as upstream
        if models_not_submitted(user.id, challenge.id):
            db.execute("INSERT INTO llm_awards (user_id, name, value, category, generation_id, challenge_id)"
                       " VALUES (%s, %s, %s, %s, %s, %s)",
                       (user.id, f"Challenge {challenge.name}", challenge.value, challenge.category,
                        generation.id, challenge.id))
        else:
            solve_id = record_solve(user, team, challenge, request, "", kind="llm_solves")
            db.execute("INSERT INTO llm_solves (id, generation_id) VALUES (%s, %s)", (solve_id, generation.id))

    @staticmethod
    def get(challenge_id):
        return db.fetchone(
            "SELECT c.*, l.preprompt, l.chat_limit FROM challenges c JOIN llm_challenges l ON l.id = c.id"
            " WHERE c.id=%s", (challenge_id,))
EOF

  cat >"$d/llmv_routes.py" <<'EOF'
"""Plugin routes (fixture). get_conversation() carries upstream's access
check defect on purpose, in the same line form, so the deploy role's fix
(a regex turning that `or` into `and`) applies here as upstream."""
import logging
from uuid import uuid4

from flask import Blueprint, abort, jsonify, render_template, request
from requests.exceptions import HTTPError

from CTFd.models import db
from CTFd.plugins import bypass_csrf_protection
from CTFd.utils.decorators import admins_only, authed_only
from CTFd.utils.user import get_current_user, is_admin

from .llmv_models import LlmChallenge, pick_model
from .remote_llm import generate_text

log = logging.getLogger("llm_verification")


def add_routes():
    bp = Blueprint("llm_verifications", __name__, template_folder="templates")

    def complete():
        return jsonify({"success": False, "data": {"text": "This challenge is complete.", "id": -1}})

    @bp.route("/generate", methods=["POST"])
    @bypass_csrf_protection
    @authed_only
    def generate_for_challenge():
        data = request.get_json()
        user = get_current_user()
        challenge = LlmChallenge.get(data["challenge_id"])
        if challenge is None:
            abort(404)
        if "generation_id" in data:
            generation = db.fetchone("SELECT * FROM llmv_generations WHERE id=%s", (data["generation_id"],))
            if generation is None:
                abort(404)
            if generation.status != "unsubmitted" or generation.account_id != user.id \
                    or generation.challenge_id != challenge.id:
                return complete()
            model = db.fetchone("SELECT * FROM llm_models WHERE id=%s", (generation.model_id,))
            history = [{"prompt": p.prompt, "generation": p.generation} for p in db.fetchall(
                "SELECT prompt, generation FROM llmv_chat_pairs WHERE generation_id=%s ORDER BY date",
                (generation.id,))]
            generation_id = generation.id
        else:
            model = pick_model()
            generation_id = db.execute(
                "INSERT INTO llmv_generations (user_id, account_id, challenge_id, model_id)"
                " VALUES (%s, %s, %s, %s)", (user.id, user.id, challenge.id, model.id))
            history = []
        prompt = data["prompt"]
        idempotency_uuid = str(uuid4())
        try:
            text = generate_text(idempotency_uuid, challenge.preprompt, prompt, model.model, history)
        except HTTPError as error:
            log.error("Remote LLM error: %s", error)
            return jsonify({"success": False,
                            "data": {"text": "There was an error in the backend, try again?", "id": -1}})
        db.execute("INSERT INTO llmv_chat_pairs (generation_id, prompt, generation, uuid) VALUES (%s, %s, %s, %s)",
                   (generation_id, prompt, text, idempotency_uuid))
        fragment = get_conversation(generation_id)
        return jsonify({"success": True, "data": {"text": text, "fragment": fragment, "id": generation_id}})

    @bp.route("/llm_submissions/conversation/<generation_id>", methods=["GET"])
    @authed_only
    def get_conversation(generation_id):
        generation = db.fetchone("SELECT * FROM llmv_generations WHERE id=%s", (generation_id,))
        if generation is None:
            abort(404)
        if generation.account_id != get_current_user().id or not is_admin():
            abort(403, description="You are not authorized to view this page.")
        conversation = db.fetchall(
            "SELECT prompt, generation FROM llmv_chat_pairs WHERE generation_id=%s ORDER BY date",
            (generation_id,))
        return render_template("llmv_conversation.html", conversation=conversation)

    # Upstream: 50 generations a page, newest first, each row with a grade-submission marker; its page
    # count comes from every generation, pending or not (kept: a reader must not trust it).
    @bp.route("/admin/llm_submissions/pending", methods=["GET"])
    @admins_only
    def render_pending_submissions():
        page = abs(request.args.get("page", 1, type=int)) or 1
        total = db.fetchone("SELECT COUNT(*) AS n FROM llmv_generations").n
        generations = db.fetchall(
            "SELECT id, challenge_id FROM llmv_generations WHERE status='pending' ORDER BY date DESC, id DESC"
            " LIMIT 50 OFFSET %s", ((page - 1) * 50,))
        return render_template("llmv_pending.html", generations=generations,
                               page_count=(total + 49) // 50, curr_page=page)

    @bp.route("/chat_limit/<challenge_id>", methods=["GET"])
    @authed_only
    def chat_limit(challenge_id):
        challenge = LlmChallenge.get(challenge_id)
        if challenge is None:
            abort(404)
        return jsonify({"success": True, "data": {"chat_limit": challenge.chat_limit}})

    return bp
EOF

  cat >"$d/templates/llmv_pending.html" <<'EOF'
<h1>Pending Submissions</h1>
<table id="teamsboard">
{% for gen in generations %}
  <tr><td class="text-center" id="{{ gen.id }}">{{ gen.id }}</td><td class="chal" id="{{ gen.challenge_id }}"></td>
  <td class="text-center"><span class="grade-submission" title="Grade submission #{{ gen.id }}"></span></td></tr>
{% endfor %}
</table>
{% if page_count > 1 %}<div class="text-center">Page {{ curr_page }} of {{ page_count }}</div>{% endif %}
EOF

  cat >"$d/templates/llmv_conversation.html" <<'EOF'
<div class="llmv-conversation">
{% for pair in conversation %}
  <div class="llmv-prompt">{{ pair.prompt }}</div>
  <div class="llmv-generation">{{ pair.generation }}</div>
{% endfor %}
</div>
EOF

  cat >"$d/assets/view.js" <<'EOF'
// llm_verification fixture: challenge view script (grt-deploy tests).
window.llmvFixture = {
  generate: function (challengeId, prompt, generationId) {
    var body = { challenge_id: challengeId, prompt: prompt };
    if (generationId !== undefined) { body.generation_id = generationId; }
    return fetch("/generate", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (r) { return r.json(); });
  }
};
EOF

  cat >"$d/assets/create.html" <<'EOF'
<!-- llm_verification fixture: challenge creation form (grt-deploy tests) -->
<form>
  <label>Pre-prompt <textarea name="preprompt"></textarea></label>
  <label>Chat limit <input name="chat_limit" type="number" value="1"></label>
</form>
EOF

  cat >"$d/assets/update.html" <<'EOF'
<!-- llm_verification fixture: challenge update form (grt-deploy tests) -->
<form>
  <label>Pre-prompt <textarea name="preprompt"></textarea></label>
  <label>Chat limit <input name="chat_limit" type="number" min="1"></label>
</form>
EOF

  cat >"$d/assets/view.html" <<'EOF'
<!-- llm_verification fixture: challenge view (grt-deploy tests) -->
<div class="llmv-challenge" data-challenge-id="{{ challenge.id }}">
  <h3>{{ challenge.name }}</h3>
  <div class="llmv-chat" data-chat-limit="{{ challenge.chat_limit }}"></div>
</div>
EOF

  local js
  for js in create update; do
    printf '// llm_verification fixture: challenge %s script (grt-deploy tests).\n' "$js" >"$d/assets/$js.js"
  done

  printf '{\n    "name": "LLM Submissions",\n    "route": "/admin/llm_verification"\n}\n' >"$d/config.json"
  commit "$d" "llm_verification fixture plugin" "2024-01-01T12:00:00Z"
  upgrade_branch "$d"
  newer_commit "$d"
  echo "$d"
}

# Branch upgrade-fixture, from the pinned commit, for the upgrade tests: a
# commit whose load() migrates the schema (a new column, as a plugin's
# migration adds one), then one whose load() crashes, so CTFd never comes up.
upgrade_branch() {
  git -C "$1" checkout -q -b upgrade-fixture
  cat >>"$1/llmv_models.py" <<'EOF2'


MIGRATION = "ALTER TABLE llmv_generations ADD COLUMN IF NOT EXISTS rating INT NULL"


def create_tables():  # noqa: F811 - this commit's schema: the first's plus a column
    db.create_tables(*TABLES)
    db.execute(MIGRATION)
EOF2
  commit "$1" "Rate generations (a schema migration, fixture)" "2024-01-15T12:00:00Z"
  cat >>"$1/__init__.py" <<'EOF2'


_load = load


def load(app):  # noqa: F811 - this commit crashes at load, as a broken plugin release does
    raise RuntimeError("llm_verification fixture: this commit crashes at load")
EOF2
  commit "$1" "Crash at load (fixture)" "2024-01-16T12:00:00Z"
  git -C "$1" checkout -q main
}

# ----------------------------------------------------------------- theme
make_aiv_ctfd_theme() {
  local d i
  d=$(newrepo aiv_ctfd_theme)
  mkdir -p "$d/aiv-beta/templates" "$d/aiv-beta/static/assets" "$d/aiv-beta/static/fonts" \
    "$d/aiv-beta/static/img" "$d/pages"

  cat >"$d/README.md" <<'EOF'
# aiv_ctfd_theme (grt-deploy test fixture)

Stand-in for aivillage/aiv_ctfd_theme: the `aiv-beta` theme folder (copied to
`CTFd/themes/aiv-beta`, activated by the config `ctf_theme=aiv-beta`) with
built assets under `aiv-beta/static/`, and `pages/index.html`, the CTF's
index page content (stored in CTFd's database, not in the theme). `grt-event/`
is the same theme under another name.
EOF

  cat >"$d/aiv-beta/templates/base.html" <<'EOF'
<!DOCTYPE html>
<html lang="en">
<head>
  <title>{{ title or Configs.ctf_name }}</title>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="icon" href="/themes/aiv-beta/static/img/logo.png">
  <link rel="stylesheet" href="/themes/aiv-beta/static/assets/main.css">
  {{ Plugins.styles }}
  <script type="text/javascript">
      window.init = {
          'urlRoot': "{{ request.script_root }}",
          'csrfNonce': "{{ Session.nonce }}",
          'userMode': "{{ Configs.user_mode }}",
          'userId': {{ Session.id }},
      }
  </script>
  {{ Configs.theme_header }}
</head>
<body class="aiv-beta">
  <nav class="navbar"><img src="/themes/aiv-beta/static/img/logo.png" alt=""> {{ Configs.ctf_name }}</nav>
  <main role="main">{% block content %}{% endblock %}</main>
  <script type="module" src="/themes/aiv-beta/static/assets/index.js"></script>
  {{ Plugins.scripts }}
  {{ Configs.theme_footer }}
</body>
</html>
EOF

  cat >"$d/aiv-beta/templates/page.html" <<'EOF'
{% extends "base.html" %}
{% block content %}
<div class="container aiv-beta-page" data-theme="aiv-beta">
  {{ content | safe }}
</div>
{% endblock %}
EOF

  {
    echo "/* aiv-beta fixture stylesheet (grt-deploy tests): built-asset stand-in */"
    for i in $(seq 1 80); do
      printf '.aiv-beta .block-%d { margin: %dpx; padding: %dpx; color: #33%02x99; }\n' "$i" "$i" "$((i % 7))" "$i"
    done
  } >"$d/aiv-beta/static/assets/main.css"

  {
    echo "// aiv-beta fixture script (grt-deploy tests): built-asset stand-in"
    for i in $(seq 1 80); do
      printf 'export function aivBetaWidget%d(el) { el.dataset.widget = "aiv-beta-%d"; return el; }\n' "$i" "$i"
    done
  } >"$d/aiv-beta/static/assets/index.js"

  # Binary assets from fixed bytes: a 16x16 PNG and a small WOFF2-looking file.
  base64 -d >"$d/aiv-beta/static/img/logo.png" <<'EOF'
iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR42mM4Y2yMFTEMLQkACspMgaigR3AAAAAASUVORK5CYII=
EOF
  base64 -d >"$d/aiv-beta/static/fonts/x.woff2" <<'EOF'
d09GMgABAABf7Otm/8hvONlSeGxtaWx5wtvCOd1OkbRnKdc6J/tX6WuGsnP/NPzhnWuATv9aP1dH
raTqoi8dScAeUt23h1tL1HNeOiZeFu7gP1lxi5tdAwGcB9i2xR+Q2jpmbuwTqzVOB0CFYr7bi2DO
BcHez+OtFrciMJZ94B9kC35HKbSfzksid3fU3R/GHG+IT0hkHQK00SHT/TKMsItVMfys2r+K7y0S
feN7lCuq0GFF5UsMYZofIjJ7LrvPvsePVWSv453n9sARd26Nt80zC1QXT9dvfQIWthI4el/8+4Hm
8JGWg3kCaZvkLIqORvu7RQFyZRfoayLFahifdiWm2kkIGyRRLGJCMs3SIXcSlN+7MQrKAAoN9qyL
ZraW2Q7wb977ZKMZWB4n3nztAP8c5QsgR+elZ8drHLrrq+XvA/fDAXu1t0pE3BU2QgSoD+gOkDlF
XMFggoGCD+KyTx5SM63mrx3VT8grJq7LR9KGjE7741gXMqPny8xsLvsyBiwIFwoF7rhrUdQx311/
FBy+zsz3nt892GHDtAafCxFmGj7vrLupGD/bo18E3IxGKYbJkrz4dVRiVxEwcqkJwWL35HDlgeJ4
hSeokeIkE2lQ/zLKIStFvJP2n7uAHDsevtrFJ3X5nmHmKfplmNcydo98cmtLYhKF+cO4UwOQCqkS
AX23YX2L27F+9tGcelse6DuQfFlVJtyx6wbbgifWUNXdoKn0zozZRSNUDxUEzRcQDEg16Ft+79SZ
EVgPjv/wWZqPKDvmueNOyVmfwgPRdqMBU2wuCRoZvIUnWbJVvWgYgQpCxf7RSpQA8bIctSfX+j0+
q7qTVXoY6+eiyk5HHP5eTFtMp/dn9co490ih1ur3JrikL7V1w8cfGGSoFDMBeC3hPaLZICtvS2YS
El+zoNrs0nmd/WycKZQk/ZIPmzCBEKLB+9j0Q3hfPsfrMvMLkM0PzzZX04i1/0KX8vlxb/Zum2nA
Xd0JU1+jDX4l3YpJ8VNneXNOyChhCNEV2lBF1387QYXY95DCNWBp6dHnnKkkN4FTz7v7TUQWsfmd
QaKUC/22bFMZ27elaHPNdx8sRG02m2SUMLZadWuieP+X7IG7b1Wy5zVpX5xKsIysdFfpERow5GZJ
IGB+osEVoUM9e+mOl+ZCRMpnBnHNl0BBViJuUHlz8quDMNMCLKluDJO9vbMgxBrcr1nhlwbVHTn2
ZxHCZTzX6xKRyU2bVesUvadM5NxjbQFaNRNaqmzCOJG0DLPzeMU6F6ESchDOYOElzPA+/P2uxFhi
S2DFjJ2L+2/xiGwv1gXSretupNpXYGggG2xpWM6T9OseM+ioG2l7dYVa9r/NvL98u96flJYs6uwe
2K8h9aUP4pycGAxiebCwKr1qGAHHwECCz0huwCeqE1FeTziEu2vG86xXlEpTFJDNOZAtD3d3Ff0A
XvrJowYi1fUgXn9olIblAUllhmExKp4LNVWNhPbG09p5f1Uqllf+BVjKQM3vnxQCWvAGWzDkfiPr
s7SR05ro7RfTNznl/zgn/7NjSVN2pQiH2PHC6TAXVUKJkK2BR57iHCW0MhXPUkVB4FAyaXphtTcB
vv2uDu7/rsxz8U4gtTe7D4uRrXwpNtxjVislrqkhMsTL6yY+asK/bBg7XYFzfxefIe/cWGNzlnLw
9HALkYlD3wlivHoYJMBVWjiTR7T+vcfPnRJUQG2AzkTj+Q==
EOF

  cat >"$d/pages/index.html" <<'EOF'
<div class="row aiv-index">
  <div class="col-md-8 offset-md-2">
    <h1>AI Village Generative Red Team</h1>
    <p class="grt-fixture-marker">GRT-FIXTURE-INDEX-PAGE: welcome to the generative red team challenge.</p>
    <p>Register, then pick a challenge and talk to the models.</p>
  </div>
</div>
EOF
  # A second theme folder under another name, as a repository holding several
  # themes has: the split scenario builds the image with it
  # (ctfd_image_theme_name), to show that what nginx serves follows the name.
  cp -a "$d/aiv-beta" "$d/grt-event"
  commit "$d" "aiv-beta theme fixture" "2024-01-01T12:00:00Z"
  newer_commit "$d"
  echo "$d"
}

# ---------------------------------------------------------------- router
make_llm_router() {
  local d
  d=$(newrepo llm_router)
  mkdir -p "$d/dockerfiles" "$d/models/chat"

  cat >"$d/README.md" <<'EOF'
# llm_router (grt-deploy test fixture)

Stand-in for aivillage/llm_router: the role builds
`docker build -f dockerfiles/Dockerfile .` from the repository root and mounts
`models/` as MODEL_DIR. The Dockerfile only layers this tree's marker onto
the router stand-in image (aivillage/llm_router:dev in the test registry), so
a build is cheap and verifiably made from this commit.
EOF

  cat >"$d/dockerfiles/Dockerfile" <<'EOF'
# grt-deploy fixture: build context is the repository root, as upstream.
FROM aivillage/llm_router:dev
COPY FIXTURE_BUILD /opt/grt-fixture/FIXTURE_BUILD
LABEL org.grt-deploy.fixture="llm_router" org.grt-deploy.fixture-build-file="/opt/grt-fixture/FIXTURE_BUILD"
EOF

  printf 'llm_router fixture tree, pinned commit\n' >"$d/FIXTURE_BUILD"

  cat >"$d/models/chat/mock.json" <<'EOF'
{
    "mock_model": {
        "name": "mock_model",
        "short": "This is a valid response from the mock model",
        "long": "This is a long response from the mock model. It repeats itself to look long. It repeats itself to look long."
    }
}
EOF

  cat >"$d/models/chat/openai.json" <<'EOF'
[
    {
        "name": "gpt-fake",
        "model": "gpt-fake-0001",
        "parameters": {
            "max_tokens": 100,
            "temperature": 0.9,
            "top_p": 0.9,
            "frequency_penalty": 0.5,
            "presence_penalty": 0.5
        },
        "context_size": 2048
    }
]
EOF
  commit "$d" "llm_router fixture" "2024-01-01T12:00:00Z"
  printf 'llm_router fixture tree, newer than the pin\n' >"$d/FIXTURE_BUILD"
  newer_commit "$d"
  echo "$d"
}

shas_file="$OUTDIR/shas.env.tmp"
: >"$shas_file"
for repo in llm_verification aiv_ctfd_theme llm_router; do
  tree=$("make_$repo" | tail -1)
  read -r pinned head < <(publish "$repo" "$tree")
  var=$(echo "$repo" | tr '[:lower:]' '[:upper:]')
  printf '%s_SHA=%s\n%s_HEAD_SHA=%s\n' "$var" "$pinned" "$var" "$head" >>"$shas_file"
  if git -C "$tree" rev-parse -q --verify refs/heads/upgrade-fixture > /dev/null; then
    printf '%s_MIGRATE_SHA=%s\n%s_CRASH_SHA=%s\n' "$var" "$(git -C "$tree" rev-parse upgrade-fixture~1)" \
      "$var" "$(git -C "$tree" rev-parse upgrade-fixture)" >>"$shas_file"
  fi
done
if ! cmp -s "$shas_file" "$OUTDIR/shas.env"; then
  mv "$shas_file" "$OUTDIR/shas.env"
else
  rm -f "$shas_file"
fi
cat "$OUTDIR/shas.env"
