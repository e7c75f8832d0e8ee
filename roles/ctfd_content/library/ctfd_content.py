#!/usr/bin/python
"""The event as code: challenges, pages and settings from a content directory
into CTFd, with Ansible's changed / check mode / diff semantics.

Two modes, one file, so that what is checked and what is applied cannot drift:

- ``validate`` runs on the controller (where the content directory is). It reads
  every file with ctfcli's own loaders (challenge.yml through
  ``ctfcli.core.challenge.Challenge``, pages through python-frontmatter as
  ctfcli's ``Page`` does, file hashes with ctfcli's ``hash_file``) and checks all
  of them before anything else happens. It returns the event as plain data,
  with the flags apart (they are secrets of the event).
- ``sync`` runs on the CTFd host against CTFd's API (stdlib only: the host needs
  neither ctfcli nor requests). It reads everything it needs first, plans every
  change, and only then applies them (nothing in check mode).

Reconciliation (README "The event as code" documents it for operators):
- A challenge's key is its directory name. CTFd keeps the key -> id map in its
  own config table (key ``grt_content_challenges``), so a renamed challenge is
  updated in place, and the map travels with CTFd's database (backups,
  export/import). A challenge not in the map yet is adopted by name when a
  CTFd challenge of that name is not mapped to a directory still present
  (a renamed directory keeps its challenge, as long as the name stays).
- A page's key is its route; the managed routes are kept in ``grt_content_pages``.
- Challenges or pages gone from the directory are kept (prune ``keep``) or
  hidden (prune ``hide``); never deleted, so solves and submissions stay.
- Attachments are uploaded once per content (CTFd's sha1sum); a changed file
  replaces the old upload.
- Participants (``participants.csv``: name, email) are matched by name: a
  missing one is created through CTFd's admin API with the password the role
  keeps for it on the controller; an existing account is never changed or
  removed (its owner may have changed the password).
- ``state`` is applied only when challenge.yml sets it: a new challenge without
  it is created visible (ctfcli's default), an existing one keeps the state an
  admin gave it. New challenges stay hidden until all their parts are in.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import http.cookiejar
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid

DOCUMENTATION = r"""
module: ctfd_content
short_description: Reconcile CTFd's challenges, pages and settings with an event content directory
description:
  - C(mode=validate) (controller) reads and checks a content directory with ctfcli's loaders and returns
    the event as data; C(mode=sync) (CTFd host) makes CTFd match it through CTFd's API.
  - Supports check mode and diff mode; a run that changes nothing reports C(changed=false).
options:
  mode:
    description:
      - C(validate) and C(passwords) on the controller, C(sync) on the CTFd host.
      - C(passwords) keeps the participants' passwords in the 0600 file C(path) (name,password).
      - C(status) (CTFd host, read-only) counts the participants, the challenges and the submissions pending a grade.
    type: str
    required: true
    choices: [validate, passwords, sync, status]
  path:
    description: The content directory (validate), the participants' password file (passwords).
    type: path
  challenge_types:
    description: Challenge types CTFd offers and the C(extra) fields of each, as C({type: {field: kind}}).
    type: dict
    default: {}
  reserved_routes:
    description: Page routes another role manages (validate).
    type: list
    elements: str
    default: []
  url:
    description: CTFd's base URL as seen from the CTFd host (sync).
    type: str
  admin_name:
    description: The admin account (sync).
    type: str
  admin_password:
    description: Its password (sync).
    type: str
  event:
    description: The event as C(mode=validate) returned it (sync).
    type: dict
  flags:
    description: The flags' contents by challenge key, as C(mode=validate) returned them (sync).
    type: dict
  files_dir:
    description: Where the attachments are staged on the CTFd host, as C(<sha1>/<file name>) (sync).
    type: path
  prune:
    description: What happens to challenges and pages gone from the directory.
    type: str
    default: keep
    choices: [keep, hide]
  names:
    description: The participants' names (passwords).
    type: list
    elements: str
    default: []
  passwords:
    description: Passwords by participant name - given ones (passwords), the ones to create accounts with (sync).
    type: dict
    default: {}
"""

RETURN = r"""
event:
  description: The event as data (validate; flags left out).
  type: dict
  returned: mode=validate
flags:
  description: The flags' contents by challenge key (validate).
  type: dict
  returned: mode=validate
changes:
  description: One entry per changed challenge, page or setting group, with the fields that change.
  type: list
  returned: mode=sync
orphans:
  description: Challenges and pages CTFd has from earlier runs whose files are gone.
  type: list
  returned: mode=sync
status:
  description: C(participants), C(challenges), C(pending) (null without the llm_verification plugin).
  type: dict
  returned: mode=status
passwords:
  description: Each participant's password (passwords; register the result with no_log).
  type: dict
  returned: mode=passwords
"""

MAP_KEY_CHALLENGES = "grt_content_challenges"
MAP_KEY_PAGES = "grt_content_pages"

# ctfcli 0.1.8's challenge.yml keys (Challenge.key_order), split by what this module does with them.
APPLIED_KEYS = (
    "name", "category", "description", "value", "type", "extra", "connection_info", "attempts",
    "flags", "tags", "hints", "files", "requirements", "state",
)
# Metadata for people and ctfcli's own tools (deploying challenge images, writeups): not CTFd's data.
IGNORED_KEYS = ("author", "version", "image", "protocol", "host", "healthcheck", "solution")
# ctfcli keys this module does not manage yet: refused rather than silently dropped.
UNSUPPORTED_KEYS = ("attribution", "topics", "logic", "next", "scheduled_at", "module")

FIELD_KINDS = {
    "name": "str", "category": "str", "description": "str", "value": "int", "type": "str",
    "connection_info": "str?", "attempts": "int", "state": "state",
}
# CTFd's API name for a challenge.yml field, where they differ.
API_NAMES = {"attempts": "max_attempts"}
NAME_MAX = 80  # CTFd's Challenges.name / Pages.title column
PAGE_KEYS = ("route", "title", "draft", "hidden", "auth_required", "format")
PAGE_FORMATS = {".md": "markdown", ".html": "html", ".htm": "html"}
CHOICES = {
    "user_mode": ("users", "teams"),
    "registration_visibility": ("public", "private", "mlc"),
    "challenge_visibility": ("public", "private", "admins"),
    "score_visibility": ("public", "private", "hidden", "admins"),
    "account_visibility": ("public", "private", "admins"),
}
SETTING_KINDS = {
    "ctf_name": "str", "ctf_description": "str", "start": "time", "end": "time", "freeze": "time",
    "team_size": "int", "theme_color": "colour", "logo": "file", "banner": "file", "small_icon": "file",
    "code_of_conduct": "route", "configs": "dict",
    **{key: "choice" for key in CHOICES},
}
# settings.yml name -> CTFd config key, where they differ.
CONFIG_NAMES = {"logo": "ctf_logo", "banner": "ctf_banner", "small_icon": "ctf_small_icon",
                "code_of_conduct": "tos_url"}
DEFAULT_TYPES = {"standard": {}, "dynamic": {"initial": "int", "decay": "int", "minimum": "int", "function": "str"}}


class ContentError(Exception):
    """Bad input: the message names the file and the field."""


class CtfdError(Exception):
    """CTFd refused or failed: the message names what was being done."""


# ---------------------------------------------------------------- validate


def _kind_ok(value, kind):
    if kind == "str":
        return isinstance(value, str)
    if kind == "str?":
        return value is None or isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "state":
        return value in ("visible", "hidden")
    raise AssertionError(kind)


KIND_TEXT = {"str": "a string", "str?": "a string or null", "int": "a whole number >= 0",
             "bool": "true or false", "state": "visible or hidden"}


def _check(value, kind, where, field):
    if not _kind_ok(value, kind):
        raise ContentError(f"{where}: field '{field}' must be {KIND_TEXT[kind]}, not {value!r}")
    return value


def _sha1(path):
    from ctfcli.utils.hashing import hash_file

    with open(path, "rb") as handle:
        return hash_file(handle)


def _attachment(base, relative, where, field):
    if not isinstance(relative, str) or not relative:
        raise ContentError(f"{where}: field '{field}' must name a file, not {relative!r}")
    path = os.path.normpath(os.path.join(base, relative))
    if not path.startswith(os.path.normpath(base) + os.sep):
        raise ContentError(f"{where}: field '{field}': {relative} is outside {base}")
    if not os.path.isfile(path):
        raise ContentError(f"{where}: field '{field}': file {relative} does not exist")
    return {"name": os.path.basename(path), "sha1": _sha1(path), "src": path}


def _load_challenge(path, key, types):
    from ctfcli.core.challenge import Challenge
    from ctfcli.core.exceptions import ChallengeException

    try:
        spec = dict(Challenge(path))
    except ChallengeException as error:  # not YAML, empty, not a mapping, unresolvable image
        raise ContentError(str(error).replace("\n", " ")) from None
    for field in spec:
        if field in UNSUPPORTED_KEYS:
            raise ContentError(f"{path}: field '{field}' is not supported by ctfd_content (remove it)")
        if field not in APPLIED_KEYS and field not in IGNORED_KEYS:
            raise ContentError(f"{path}: field '{field}' is not a ctfcli challenge field")
    for field in ("name", "value", "type"):
        if field not in spec:
            raise ContentError(f"{path}: field '{field}' is missing")
    out = {"key": key, "file": path}
    for field, kind in FIELD_KINDS.items():
        if field in spec:
            out[field] = _check(spec[field], kind, path, field)
    if not out["name"].strip() or len(out["name"]) > NAME_MAX:
        raise ContentError(f"{path}: field 'name' must be 1 to {NAME_MAX} characters")
    if out["type"] not in types:
        raise ContentError(f"{path}: field 'type': unknown challenge type {out['type']!r} "
                           f"(known: {', '.join(sorted(types))})")
    extra = spec.get("extra") or {}
    if not isinstance(extra, dict):
        raise ContentError(f"{path}: field 'extra' must be a mapping")
    for field, value in extra.items():
        kind = types[out["type"]].get(field)
        if kind is None:
            raise ContentError(f"{path}: field 'extra.{field}' is not a field of type {out['type']} "
                               f"(its fields: {', '.join(sorted(types[out['type']])) or 'none'})")
        _check(value, kind, path, f"extra.{field}")
    out["extra"] = extra
    base = os.path.dirname(path)
    flags, secrets = [], []
    for index, flag in enumerate(spec.get("flags") or []):
        where = f"flags[{index}]"
        if isinstance(flag, str):
            flag = {"content": flag}
        if not isinstance(flag, dict) or not isinstance(flag.get("content"), str) or not flag["content"].strip():
            raise ContentError(f"{path}: field '{where}' has no content")
        if flag.get("type", "static") not in ("static", "regex"):
            raise ContentError(f"{path}: field '{where}.type' must be static or regex")
        if flag.get("data", "") not in ("", None, "case_sensitive", "case_insensitive"):
            raise ContentError(f"{path}: field '{where}.data' must be case_sensitive or case_insensitive")
        data = flag.get("data") or ""
        flags.append({"type": flag.get("type", "static"), "data": "" if data == "case_sensitive" else data})
        secrets.append(flag["content"])
    out["flags"] = flags
    tags = spec.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ContentError(f"{path}: field 'tags' must be a list of strings")
    out["tags"] = tags
    hints = []
    for index, hint in enumerate(spec.get("hints") or []):
        where = f"hints[{index}]"
        if isinstance(hint, str):
            hint = {"content": hint}
        if not isinstance(hint, dict) or not isinstance(hint.get("content"), str) or not hint["content"]:
            raise ContentError(f"{path}: field '{where}' has no content")
        for field in hint:
            if field not in ("content", "cost", "title"):
                raise ContentError(f"{path}: field '{where}.{field}' is not supported (content, title, cost)")
        hints.append({"content": hint["content"], "title": _check(hint.get("title", ""), "str", path, where + ".title"),
                      "cost": _check(hint.get("cost", 0), "int", path, where + ".cost")})
    out["hints"] = hints
    files = spec.get("files") or []
    if not isinstance(files, list):
        raise ContentError(f"{path}: field 'files' must be a list of paths")
    out["files"] = [_attachment(base, f, path, f"files[{i}]") for i, f in enumerate(files)]
    names = [f["name"] for f in out["files"]]
    if len(set(names)) != len(names):
        raise ContentError(f"{path}: field 'files': two files share a name (CTFd keys them by name)")
    requirements = spec.get("requirements")
    if requirements is not None:
        anonymize = False
        if isinstance(requirements, dict):
            anonymize = requirements.get("anonymize", False)
            requirements = requirements.get("prerequisites", [])
            _check(anonymize, "bool", path, "requirements.anonymize")
        if not isinstance(requirements, list) or not all(isinstance(r, str) for r in requirements):
            raise ContentError(f"{path}: field 'requirements' must list challenge names "
                               "(ids differ from one CTFd to another)")
        out["requirements"] = {"prerequisites": requirements, "anonymize": anonymize}
    return out, secrets


def _front_matter(path):
    import frontmatter  # python-frontmatter, ctfcli's page loader

    try:
        with open(path, encoding="utf-8") as handle:
            post = frontmatter.load(handle)
    except Exception as error:  # noqa: BLE001 - YAML, encoding: all are bad input
        raise ContentError(f"{path}: the front matter could not be read: {error}".replace("\n", " ")) from None
    return post.metadata, post.content


def _load_page(path, reserved):
    meta, content = _front_matter(path)
    for field in meta:
        if field not in PAGE_KEYS:
            raise ContentError(f"{path}: field '{field}' is not a page field ({', '.join(PAGE_KEYS)})")
    for field in ("route", "title"):
        if not isinstance(meta.get(field), str) or not meta[field].strip("/ "):
            raise ContentError(f"{path}: field '{field}' is missing or empty")
    route = meta["route"].strip("/")
    if len(route) > 128 or len(meta["title"]) > NAME_MAX:
        raise ContentError(f"{path}: field 'route' (128) or 'title' ({NAME_MAX} characters) is too long")
    if route in reserved:
        raise ContentError(f"{path}: field 'route': {route} is managed by ctfd_setup (the theme's index page); "
                           "set ctfd_setup_manage_index_page: false to manage it here")
    page = {"file": path, "route": route, "title": meta["title"], "content": content,
            "format": meta.get("format", PAGE_FORMATS[os.path.splitext(path)[1]])}
    if page["format"] not in ("markdown", "html"):
        raise ContentError(f"{path}: field 'format' must be markdown or html")
    for field in ("draft", "hidden", "auth_required"):
        page[field] = _check(meta.get(field, False), "bool", path, field)
    return page


def _epoch(value, where, field):
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            value = None
    if not isinstance(value, datetime.datetime) or value.tzinfo is None:
        raise ContentError(f"{where}: field '{field}' must be an ISO 8601 time with its offset "
                           "(e.g. 2027-08-06T10:00:00-07:00) or null")
    return int(value.timestamp())


def _load_settings(path, base, routes):
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            spec = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as error:
        raise ContentError(f"{path} could not be loaded: {error}".replace("\n", " ")) from None
    spec = spec or {}
    if not isinstance(spec, dict):
        raise ContentError(f"{path} is not a mapping")
    configs, uploads = {}, {}
    for field, value in spec.items():
        kind = SETTING_KINDS.get(field)
        key = CONFIG_NAMES.get(field, field)
        if kind is None:
            raise ContentError(f"{path}: field '{field}' is not a setting ({', '.join(sorted(SETTING_KINDS))})")
        if kind in ("str", "int"):
            configs[key] = _check(value, kind, path, field)
        elif kind == "choice":
            if value not in CHOICES[field]:
                raise ContentError(f"{path}: field '{field}' must be one of {', '.join(CHOICES[field])}")
            configs[key] = value
        elif kind == "time":
            configs[key] = _epoch(value, path, field)
        elif kind == "colour":
            if not isinstance(value, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
                raise ContentError(f"{path}: field '{field}' must be a colour like #1b5e20")
            configs[key] = value
        elif kind == "file":
            uploads[key] = _attachment(base, value, path, field)
        elif kind == "route":
            if not isinstance(value, str) or value.strip("/") not in routes:
                raise ContentError(f"{path}: field '{field}': no page in pages/ has route {value!r}")
            configs[key] = "/" + value.strip("/")
        else:  # configs: any other CTFd config key, scalar values
            if not isinstance(value, dict) or not all(
                    isinstance(v, (str, int, bool)) or v is None for v in value.values()):
                raise ContentError(f"{path}: field 'configs' must map config keys to plain values")
            clash = sorted(set(value) & set(configs) | {MAP_KEY_CHALLENGES, MAP_KEY_PAGES} & set(value))
            if clash:
                raise ContentError(f"{path}: field 'configs' sets {', '.join(clash)}, which is set elsewhere")
            configs.update(value)
    return {"file": path, "configs": configs, "uploads": uploads}


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _load_participants(path):
    """participants.csv: a header line with name and email (team is refused: CTFd's teams mode is not
    managed here), one participant a line."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ContentError(f"{path}: empty; the first line names the columns: name,email")
    header = [h.strip().lower() for h in rows[0]]
    if "team" in header:
        raise ContentError(f"{path}: column 'team': teams are not imported (CTFd's user mode only); "
                           "remove the column")
    unknown = sorted(set(header) - {"name", "email"})
    if unknown or "name" not in header or "email" not in header:
        raise ContentError(f"{path}: line 1: the columns must be name,email (got {','.join(header)})")
    participants, names, emails = [], {}, {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise ContentError(f"{path}: line {number}: {len(row)} fields where the header has {len(header)}")
        entry = {h: cell.strip() for h, cell in zip(header, row)}
        where = f"{path}: line {number}"
        if not entry["name"] or len(entry["name"]) > 128 or EMAIL.match(entry["name"]):
            raise ContentError(f"{where}: field 'name' must be 1-128 characters and not an email address")
        if not EMAIL.match(entry["email"]) or len(entry["email"]) > 128:
            raise ContentError(f"{where}: field 'email' must be an email address, not {entry['email']!r}")
        for field, seen in (("name", names), ("email", emails)):
            value = entry[field].lower()
            if value in seen:
                raise ContentError(f"{where}: field '{field}': {entry[field]!r} is also on line {seen[value]}")
            seen[value] = number
        participants.append({"name": entry["name"], "email": entry["email"]})
    return participants


def load_event(path, challenge_types=None, reserved_routes=()):
    """Read and check the whole content directory; raise ContentError on the first bad input."""
    types = dict(DEFAULT_TYPES, **(challenge_types or {}))
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise ContentError(f"{path}: the content directory does not exist (see inventories/monolith/event; "
                           "ctfd_content_dir: '' leaves CTFd's content to its admin UI)")
    challenges, secrets, names = [], {}, {}
    root = os.path.join(path, "challenges")
    for key in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        spec = os.path.join(root, key, "challenge.yml")
        if not os.path.isdir(os.path.join(root, key)):
            continue
        if not os.path.isfile(spec):
            raise ContentError(f"{os.path.join(root, key)}: no challenge.yml in this challenge directory")
        challenge, flags = _load_challenge(spec, key, types)
        if challenge["name"] in names:
            raise ContentError(f"{spec}: field 'name': {challenge['name']!r} is also the name in "
                               f"{names[challenge['name']]}")
        names[challenge["name"]] = spec
        challenges.append(challenge)
        secrets[key] = flags
    for challenge in challenges:
        for required in (challenge.get("requirements") or {}).get("prerequisites", []):
            if required not in names or required == challenge["name"]:
                raise ContentError(f"{challenge['file']}: field 'requirements': no other challenge is named "
                                   f"{required!r}")
    pages, routes = [], {}
    root = os.path.join(path, "pages")
    for name in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        if os.path.splitext(name)[1] not in PAGE_FORMATS:
            continue
        page = _load_page(os.path.join(root, name), set(reserved_routes))
        if page["route"] in routes:
            raise ContentError(f"{page['file']}: field 'route': {page['route']} is also the route of "
                               f"{routes[page['route']]}")
        routes[page["route"]] = page["file"]
        pages.append(page)
    settings_file = os.path.join(path, "settings.yml")
    settings = _load_settings(settings_file, path, routes) if os.path.isfile(settings_file) else None
    people = os.path.join(path, "participants.csv")
    participants = _load_participants(people) if os.path.isfile(people) else []
    return {"challenges": challenges, "pages": pages, "settings": settings, "participants": participants}, secrets


PASSWORD_ALPHABET = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXYZ2345679"


def participant_passwords(path, names, given, check_mode):
    """The password of each participant: given (vault) first, else the one kept in `path` (name,password;
    0600), else a new one, added to `path` (not in check mode). Returns (passwords, changed)."""
    import secrets as random

    kept = {}
    if os.path.isfile(path):
        with open(path, newline="", encoding="utf-8") as handle:
            kept = {row[0]: row[1] for row in list(csv.reader(handle))[1:] if len(row) >= 2}
    passwords, new = {}, False
    for name in names:
        if name in given:
            passwords[name] = given[name]
        elif name in kept:
            passwords[name] = kept[name]
        else:
            passwords[name] = kept[name] = "".join(random.choice(PASSWORD_ALPHABET) for _ in range(16))
            new = True
    if new and not check_mode:
        directory = os.path.dirname(os.path.abspath(path))
        temporary = os.path.join(directory, f".{os.path.basename(path)}.{uuid.uuid4().hex}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["name", "password"])
            writer.writerows(sorted(kept.items()))
        os.replace(temporary, path)
    elif os.path.isfile(path) and os.stat(path).st_mode & 0o077 and not check_mode:
        os.chmod(path, 0o600)
        new = True
    return passwords, new


# ---------------------------------------------------------------- CTFd client


NONCE = (
    re.compile(r"""csrfNonce['"]?\s*:\s*["']([^"']+)["']"""),
    re.compile(r"""<input[^>]*name=["']nonce["'][^>]*value=["']([^"']+)["']"""),
    re.compile(r"""<input[^>]*value=["']([^"']+)["'][^>]*name=["']nonce["']"""),
)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Ctfd:
    """CTFd's admin API through an admin session, as CTFd's own admin pages use it."""

    def __init__(self, url, timeout=60):
        self.base = url.rstrip("/")
        self.timeout = timeout
        self.nonce = None
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)

    def _send(self, method, path, data=None, headers=None):
        request = urllib.request.Request(self.base + path, data=data, headers=headers or {}, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def _nonce(self, path):
        status, page = self._send("GET", path)
        for pattern in NONCE:
            match = pattern.search(page)
            if match:
                return match.group(1)
        raise CtfdError(f"GET {path} answered {status} without a CSRF nonce")

    def login(self, name, password):
        form = urllib.parse.urlencode({"name": name, "password": password, "nonce": self._nonce("/login")})
        status, _ = self._send("POST", "/login", form.encode(),
                               {"Content-Type": "application/x-www-form-urlencoded"})
        if status not in (301, 302, 303):
            raise CtfdError(f"logging in to CTFd as {name!r} failed ({status})")
        self.nonce = self._nonce("/admin/pages")

    def call(self, method, path, body=None):
        headers = {"Accept": "application/json", "Content-Type": "application/json", "CSRF-Token": self.nonce}
        data = json.dumps({} if body is None and method != "GET" else body).encode() if method != "GET" else None
        status, text = self._send(method, "/api/v1" + path, data, headers)
        try:
            answer = json.loads(text)
        except ValueError:
            answer = {"raw": text[:300]}
        return status, answer

    def upload(self, path, fields):
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in dict(fields, nonce=self.nonce).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        with open(path, "rb") as handle:
            content = handle.read()
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{os.path.basename(path)}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
                     + content + b"\r\n")
        parts.append(f"--{boundary}--\r\n".encode())
        status, text = self._send("POST", "/api/v1/files", b"".join(parts),
                                  {"Content-Type": f"multipart/form-data; boundary={boundary}",
                                   "Accept": "application/json"})
        try:
            return status, json.loads(text)
        except ValueError:
            return status, {"raw": text[:300]}


# ---------------------------------------------------------------- plan and apply


def _flag_text(content):
    return "flag sha256:" + hashlib.sha256(content.encode()).hexdigest()[:12]


def _show(value):
    if isinstance(value, str) and "\n" in value:
        return "|\n" + "\n".join("    " + line for line in value.splitlines())
    return json.dumps(value, ensure_ascii=False)


def _config_text(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return None if value is None else str(value)


class Sync:
    """Reads CTFd, plans every change against the event, then applies them."""

    def __init__(self, ctfd, event, flags, files_dir, prune="keep", passwords=None):
        self.ctfd = ctfd
        self.passwords = passwords or {}
        self.event = event
        self.flags = flags
        self.files_dir = files_dir
        self.prune = prune
        self.changes = []   # [{"kind", "key", "fields": [...], "apply": callable}]
        self.diffs = []
        self.orphans = []
        self.maps = {}      # {config key: (as stored, callable giving the map after the run)}

    # -- reading
    def get(self, path, what):
        status, answer = self.ctfd.call("GET", path)
        if status != 200 or not answer.get("success", False):
            raise CtfdError(f"reading {what} failed: GET {path} answered {status} {str(answer)[:300]}")
        return answer.get("data")

    def send(self, method, path, body, what):
        status, answer = self.ctfd.call(method, path, body)
        if status != 200 or not answer.get("success", False):
            raise CtfdError(f"{what}: {method} {path} answered {status} "
                            f"{answer.get('errors') or answer.get('message') or str(answer)[:300]}")
        return answer.get("data")

    def read_map(self, key):
        status, answer = self.ctfd.call("GET", f"/configs/{key}")
        if status == 404:
            return {}
        if status != 200:
            raise CtfdError(f"reading config {key} failed ({status})")
        value = (answer.get("data") or {}).get("value")
        try:
            return json.loads(value) if value else {}
        except ValueError:
            raise CtfdError(f"config {key} does not hold JSON; remove it in CTFd's admin config") from None

    def change(self, kind, key, fields, before, after, apply):
        self.changes.append({"kind": kind, "key": key, "fields": fields, "apply": apply})
        self.diffs.append({
            "before_header": f"{kind} {key}", "after_header": f"{kind} {key}",
            "before": "".join(f"{f}: {_show(before.get(f))}\n" for f in fields),
            "after": "".join(f"{f}: {_show(after.get(f))}\n" for f in fields),
        })

    # -- settings
    def plan_settings(self):
        settings = self.event.get("settings")
        if not settings:
            return
        current = {row["key"]: row.get("value") for row in self.get("/configs", "CTFd's configs") or []}
        wanted, before = {}, {}
        for key, value in settings["configs"].items():
            if _config_text(value) != _config_text(current.get(key)) and not (
                    value is None and current.get(key) in (None, "")):
                wanted[key], before[key] = value, current.get(key)
        files = {f["location"]: f for f in self.get("/files?type=page", "CTFd's page files") or []}
        uploads = {}
        for key, upload in settings["uploads"].items():
            have = files.get(current.get(key) or "")
            if have is None or have.get("sha1sum") != upload["sha1"]:
                uploads[key] = upload
                before[key] = current.get(key)
                wanted[key] = f"(upload {upload['name']}, sha1 {upload['sha1']})"
        if not wanted:
            return

        def apply():
            values = {k: v for k, v in wanted.items() if k not in uploads}
            for key, upload in uploads.items():
                values[key] = self.upload(upload, {"type": "page"}, f"settings: {key}")["location"]
            self.send("PATCH", "/configs", values, f"settings ({settings['file']})")

        self.change("settings", "settings.yml", sorted(wanted), before, wanted, apply)

    def upload(self, upload, fields, what):
        path = os.path.join(self.files_dir, upload["sha1"], upload["name"])
        status, answer = self.ctfd.upload(path, fields)
        if status != 200 or not answer.get("success"):
            raise CtfdError(f"{what}: uploading {upload['name']} answered {status} {str(answer)[:300]}")
        return answer["data"][0]

    # -- pages
    def plan_pages(self):
        remote = {p["route"].strip("/"): p for p in self.get("/pages", "CTFd's pages") or []}
        managed = self.read_map(MAP_KEY_PAGES)
        routes = [page["route"] for page in self.event["pages"]]
        for page in self.event["pages"]:
            wanted = {k: page[k] for k in ("title", "route", "content", "format", "draft", "hidden", "auth_required")}
            have = remote.get(page["route"])
            if have is None:
                self.change("page", page["route"], ["created"], {}, {"created": page["file"]},
                            lambda w=wanted: self.send("POST", "/pages", w, f"page {w['route']}"))
                continue
            have = self.get(f"/pages/{have['id']}", f"page {page['route']}")
            fields = [k for k in wanted if (have.get(k).strip("/") if k == "route" else have.get(k)) != wanted[k]]
            if fields:
                body = {k: wanted[k] for k in fields}
                self.change("page", page["route"], fields, have, wanted,
                            lambda i=have["id"], b=body, r=page["route"]: self.send("PATCH", f"/pages/{i}", b,
                                                                                     f"page {r}"))
        for route in sorted(set(managed) - set(routes)):
            have = remote.get(route)
            if have is None:
                continue
            self.orphans.append(f"page {route}")
            if self.prune == "hide" and not have.get("hidden"):
                self.change("page", route, ["hidden"], {"hidden": False}, {"hidden": True},
                            lambda i=have["id"], r=route: self.send("PATCH", f"/pages/{i}", {"hidden": True},
                                                                     f"page {r}"))
        self.maps[MAP_KEY_PAGES] = (managed, lambda: sorted(set(managed) | set(routes)))

    # -- challenges
    def plan_challenges(self):
        types = self.get("/challenges/types", "CTFd's challenge types") or {}
        for challenge in self.event["challenges"]:
            if challenge["type"] not in types:
                raise CtfdError(f"challenge {challenge['key']} ({challenge['file']}): CTFd has no challenge type "
                                f"{challenge['type']!r} (is its plugin loaded? CTFd offers: {', '.join(types)})")
        remote = {c["id"]: c for c in self.get("/challenges?view=admin", "CTFd's challenges") or []}
        by_name = {c["name"]: c["id"] for c in remote.values()}
        mapping = {k: v for k, v in self.read_map(MAP_KEY_CHALLENGES).items() if v in remote}
        keys = {c["key"] for c in self.event["challenges"]}
        ids = {}
        for challenge in self.event["challenges"]:
            cid = mapping.get(challenge["key"])
            if cid is None and challenge["name"] in by_name:
                owner = next((k for k, v in mapping.items() if v == by_name[challenge["name"]]), None)
                if owner is None or owner not in keys:
                    cid = by_name[challenge["name"]]
                    mapping.pop(owner, None)
            ids[challenge["key"]] = cid
        names = {c["name"]: c["key"] for c in self.event["challenges"]}
        taken = {remote[i]["name"] for i in remote if i not in ids.values()}
        for challenge in self.event["challenges"]:
            if challenge["name"] in taken:
                raise CtfdError(f"challenge {challenge['key']} ({challenge['file']}): CTFd already has another "
                                f"challenge named {challenge['name']!r}, not made from this directory")
        self.ids = ids
        for challenge in self.event["challenges"]:
            self.plan_challenge(challenge, ids[challenge["key"]], names)
        for key, cid in sorted(mapping.items()):
            if key in keys:
                continue
            self.orphans.append(f"challenge {key}")
            if self.prune == "hide":
                state = self.get(f"/challenges/{cid}?view=admin", f"challenge {key}").get("state")
                if state != "hidden":
                    self.change("challenge", key, ["state"], {"state": state}, {"state": "hidden"},
                                lambda i=cid, k=key: self.send("PATCH", f"/challenges/{i}", {"state": "hidden"},
                                                               f"challenge {k}"))
        # Adopted and new challenges join the key -> id map (new ids are known only once made).
        self.maps[MAP_KEY_CHALLENGES] = (self.read_map(MAP_KEY_CHALLENGES),
                                         lambda: dict(mapping, **{k: v for k, v in ids.items() if v is not None}))

    def _wanted_fields(self, challenge):
        wanted = {}
        for field in ("name", "category", "description", "value", "connection_info", "attempts"):
            if field in challenge:
                wanted[API_NAMES.get(field, field)] = challenge[field]
        wanted.update(challenge["extra"])
        return wanted

    def plan_challenge(self, challenge, cid, names):
        key = challenge["key"]
        what = f"challenge {key} ({challenge['file']})"
        wanted = self._wanted_fields(challenge)
        state = challenge.get("state")
        if cid is None:
            self.change("challenge", key, ["created"], {}, {"created": challenge["file"]},
                        lambda: self.create(challenge, wanted))
            return
        have = self.get(f"/challenges/{cid}?view=admin", what)
        if have.get("type") != challenge["type"]:
            raise CtfdError(f"{what}: CTFd's challenge {cid} is of type {have.get('type')}, the file says "
                            f"{challenge['type']}; a type cannot change (give the challenge a new directory)")
        fields = [f for f in wanted if have.get(f) != wanted[f] and not (f == "description" and
                                                                           (have.get(f) or "") == wanted[f])]
        before = {f: have.get(f) for f in fields}
        after = {f: wanted[f] for f in fields}
        parts = self.read_parts(cid, what)
        steps = []
        if fields:
            steps.append(lambda b={f: wanted[f] for f in fields}: self.send("PATCH", f"/challenges/{cid}", b, what))
        for part, (old, new, step) in self.plan_parts(challenge, cid, parts, names, what).items():
            before[part], after[part] = old, new
            fields.append(part)
            steps.append(step)
        if state is not None and have.get("state") != state:
            before["state"], after["state"] = have.get("state"), state
            fields.append("state")
            steps.append(lambda: self.send("PATCH", f"/challenges/{cid}", {"state": state}, what))
        if fields:
            self.change("challenge", key, fields, before, after, lambda: [step() for step in steps])

    def read_parts(self, cid, what):
        parts = {
            "flags": self.get(f"/challenges/{cid}/flags", what) or [],
            "tags": self.get(f"/challenges/{cid}/tags", what) or [],
            # The admin list carries every hint's content (CTFd's HintSchema without a view).
            "hints": self.get(f"/challenges/{cid}/hints", what) or [],
            "files": self.get(f"/challenges/{cid}/files", what) or [],
            "requirements": self.get(f"/challenges/{cid}/requirements", what) or {},
        }
        return parts

    def plan_parts(self, challenge, cid, parts, names, what):
        """{part: (before text, after text, apply step)} for the parts that differ."""
        out = {}
        secrets = self.flags.get(challenge["key"], [])
        want = [dict(f, content=c) for f, c in zip(challenge["flags"], secrets)]
        have = [{"type": f.get("type"), "data": f.get("data") or "", "content": f.get("content")}
                for f in parts["flags"]]
        if sorted(map(json.dumps, want)) != sorted(map(json.dumps, have)):
            out["flags"] = ([_flag_text(f["content"] or "") for f in have], [_flag_text(f["content"]) for f in want],
                            lambda: self.replace_flags(cid, parts["flags"], want, what))
        tags = [t["value"] for t in parts["tags"]]
        if sorted(tags) != sorted(challenge["tags"]):
            out["tags"] = (tags, challenge["tags"], lambda: self.replace_tags(cid, parts["tags"], challenge, what))
        hints = [{"content": h.get("content"), "title": h.get("title") or "", "cost": h.get("cost") or 0}
                 for h in parts["hints"]]
        if hints != challenge["hints"]:
            out["hints"] = (hints, challenge["hints"], lambda: self.replace_hints(cid, parts["hints"], challenge, what))
        remote = {f["location"].split("/")[-1]: f for f in parts["files"]}
        local = {f["name"]: f for f in challenge["files"]}
        stale = [f for n, f in remote.items() if n not in local or local[n]["sha1"] != f.get("sha1sum")]
        fresh = [f for n, f in local.items() if n not in remote or remote[n].get("sha1sum") != f["sha1"]]
        if stale or fresh:
            out["files"] = ({n: f.get("sha1sum") for n, f in remote.items()}, {n: f["sha1"] for n, f in local.items()},
                            lambda: self.replace_files(cid, stale, fresh, what))
        if "requirements" in challenge:
            out.update(self.plan_requirements(challenge, cid, parts["requirements"] or {}, names, what))
        return out

    def plan_requirements(self, challenge, cid, have, names, what):
        wanted = challenge["requirements"]
        by_id = {v: k for k, v in self.ids.items() if v is not None}
        have_names = sorted(
            next((c["name"] for c in self.event["challenges"] if c["key"] == by_id.get(i)), f"id {i}")
            for i in have.get("prerequisites") or [])
        if have_names == sorted(wanted["prerequisites"]) and bool(have.get("anonymize")) == wanted["anonymize"]:
            return {}
        return {"requirements": ({"prerequisites": have_names, "anonymize": bool(have.get("anonymize"))}, wanted,
                                 lambda: self.set_requirements(cid, challenge, names, what))}

    # -- applying
    def create(self, challenge, wanted):
        what = f"challenge {challenge['key']} ({challenge['file']})"
        body = dict(wanted, type=challenge["type"], state="hidden")
        data = self.send("POST", "/challenges", body, what)
        cid = self.ids[challenge["key"]] = data["id"]
        try:
            if data.get("state") != "hidden":  # a type may force its own state at creation (llm_verification does)
                self.send("PATCH", f"/challenges/{cid}", {"state": "hidden"}, what)
            self.save_map(MAP_KEY_CHALLENGES, dict(self.read_map(MAP_KEY_CHALLENGES), **{challenge["key"]: cid}))
            secrets = self.flags.get(challenge["key"], [])
            self.replace_flags(cid, [], [dict(f, content=c) for f, c in zip(challenge["flags"], secrets)], what)
            self.replace_tags(cid, [], challenge, what)
            self.replace_hints(cid, [], challenge, what)
            self.replace_files(cid, [], challenge["files"], what)
        except CtfdError:
            self.ctfd.call("PATCH", f"/challenges/{cid}", {"state": "hidden"})
            raise
        self.pending.append((challenge, cid, what))

    def finish_created(self):
        """Requirements need every id; then the new challenges become visible, last."""
        names = {c["name"]: c["key"] for c in self.event["challenges"]}
        for challenge, cid, what in self.pending:
            if challenge.get("requirements"):
                self.set_requirements(cid, challenge, names, what)
        for challenge, cid, what in self.pending:
            if challenge.get("state", "visible") == "visible":
                self.send("PATCH", f"/challenges/{cid}", {"state": "visible"}, what)

    def replace_flags(self, cid, old, new, what):
        for flag in old:
            self.send("DELETE", f"/flags/{flag['id']}", None, what + " flags")
        for flag in new:
            self.send("POST", "/flags", dict(flag, challenge_id=cid), what + " flags")

    def replace_tags(self, cid, old, challenge, what):
        for tag in old:
            self.send("DELETE", f"/tags/{tag['id']}", None, what + " tags")
        for value in challenge["tags"]:
            self.send("POST", "/tags", {"challenge_id": cid, "value": value}, what + " tags")

    def replace_hints(self, cid, old, challenge, what):
        for index, hint in enumerate(challenge["hints"]):
            if index < len(old):
                self.send("PATCH", f"/hints/{old[index]['id']}", hint, what + " hints")
            else:
                self.send("POST", "/hints", dict(hint, challenge_id=cid), what + " hints")
        for hint in old[len(challenge["hints"]):]:
            self.send("DELETE", f"/hints/{hint['id']}", None, what + " hints")

    def replace_files(self, cid, stale, fresh, what):
        for upload in fresh:
            self.upload(upload, {"type": "challenge", "challenge_id": cid}, what)
        for remote in stale:
            self.send("DELETE", f"/files/{remote['id']}", None, what + " files")

    def set_requirements(self, cid, challenge, names, what):
        ids = sorted(self.ids[names[n]] for n in challenge["requirements"]["prerequisites"])
        self.send("PATCH", f"/challenges/{cid}", {"requirements": {
            "prerequisites": ids, "anonymize": challenge["requirements"]["anonymize"]}}, what)

    # -- participants
    def plan_participants(self):
        wanted = self.event.get("participants") or []
        if not wanted:
            return
        have, page = set(), 1
        while page:
            status, answer = self.ctfd.call("GET", f"/users?view=admin&page={page}")
            if status != 200 or not answer.get("success", False):
                raise CtfdError(f"reading the users failed: GET /users answered {status} {str(answer)[:300]}")
            have.update(user["name"] for user in answer.get("data") or [])
            page = ((answer.get("meta") or {}).get("pagination") or {}).get("next")
        for person in wanted:
            if person["name"] in have:
                continue
            body = {"name": person["name"], "email": person["email"], "verified": True,
                    "password": self.passwords.get(person["name"], "")}
            self.change("participant", person["name"], ["account"], {"account": None},
                        {"account": f"{person['name']} <{person['email']}>"},
                        lambda body=body: self.send("POST", "/users", body, f"participant {body['name']}"))

    def save_map(self, key, value):
        self.send("PATCH", f"/configs/{key}", {"value": json.dumps(value, sort_keys=True)}, f"config {key}")

    def run(self, check_mode):
        self.pending = []
        self.plan_settings()
        self.plan_pages()
        self.plan_challenges()
        self.plan_participants()
        if not check_mode:
            for change in self.changes:
                change["apply"]()
            self.finish_created()
            # The maps are bookkeeping, not changes of the event: saved when they differ, never reported.
            for key, (stored, wanted) in self.maps.items():
                if wanted() != stored:
                    self.save_map(key, wanted())
        return {
            "changed": bool(self.changes),
            "changes": [{k: v for k, v in c.items() if k != "apply"} for c in self.changes],
            "orphans": self.orphans,
            "diff": self.diffs,
        }


# ---------------------------------------------------------------- the event, counted (status)

PENDING_ROW = re.compile(r"""class=["']grade-submission["']""")
PENDING_PAGE_SIZE = 50  # the plugin's fixed page size


def pagination_total(ctfd, path, what):
    status, answer = ctfd.call("GET", path)
    if status != 200 or not answer.get("success", False):
        raise CtfdError(f"reading {what} failed: GET {path} answered {status} {str(answer)[:300]}")
    total = ((answer.get("meta") or {}).get("pagination") or {}).get("total")
    return len(answer.get("data") or []) if total is None else int(total)


def event_status(ctfd, max_pages=200):
    """What the organisers watch: participants (CTFd's visible users: admins are hidden), challenges,
    and LLM submissions waiting for a grade. The plugin shows those only on its admin page (HTML, no
    API), 50 a page with a page count that includes graded ones: pages are read until one is short."""
    challenges = ctfd.call("GET", "/challenges?view=admin")
    if challenges[0] != 200 or not challenges[1].get("success", False):
        raise CtfdError(f"reading the challenges failed: GET /challenges answered {challenges[0]}")
    pending, page = 0, 1
    while page <= max_pages:
        status, text = ctfd._send("GET", f"/admin/llm_submissions/pending?page={page}")
        if status == 404 and page == 1:
            pending = None  # no llm_verification plugin: nothing to grade
            break
        if status != 200:
            raise CtfdError(f"reading the pending submissions failed: GET /admin/llm_submissions/pending "
                            f"answered {status}")
        rows = len(PENDING_ROW.findall(text))
        pending += rows
        if rows < PENDING_PAGE_SIZE:
            break
        page += 1
    return {"participants": pagination_total(ctfd, "/users", "the participants"),
            "challenges": len(challenges[1].get("data") or []),
            "pending": pending}


# ---------------------------------------------------------------- module


def main():
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "mode": {"type": "str", "required": True, "choices": ["validate", "passwords", "sync", "status"]},
            "path": {"type": "path"},
            "challenge_types": {"type": "dict", "default": {}},
            "reserved_routes": {"type": "list", "elements": "str", "default": []},
            "url": {"type": "str"},
            "admin_name": {"type": "str"},
            "admin_password": {"type": "str", "no_log": True},
            "event": {"type": "dict"},
            "flags": {"type": "dict", "no_log": True},
            "files_dir": {"type": "path"},
            "prune": {"type": "str", "default": "keep", "choices": ["keep", "hide"]},
            "names": {"type": "list", "elements": "str", "default": []},
            "passwords": {"type": "dict", "default": {}, "no_log": True},
        },
        required_if=[("mode", "validate", ["path"]), ("mode", "passwords", ["path"]),
                     ("mode", "sync", ["url", "admin_name", "admin_password", "event", "flags", "files_dir"]),
                     ("mode", "status", ["url", "admin_name", "admin_password"])],
        supports_check_mode=True,
    )
    params = module.params
    if params["mode"] == "validate":
        try:
            event, flags = load_event(params["path"], params["challenge_types"], params["reserved_routes"])
        except ContentError as error:
            module.fail_json(msg=f"ctfd_content: {error}")
        except ImportError as error:
            module.fail_json(msg=f"ctfd_content: ctfcli is missing on the controller ({error}); run make deps")
        module.exit_json(changed=False, event=event, flags=flags)
    if params["mode"] == "passwords":
        try:
            passwords, changed = participant_passwords(params["path"], params["names"], params["passwords"],
                                                       module.check_mode)
        except OSError as error:
            module.fail_json(msg=f"ctfd_content: the participants' password file {params['path']}: {error}")
        module.exit_json(changed=changed, passwords=passwords)
    ctfd = Ctfd(params["url"])
    if params["mode"] == "status":
        try:
            ctfd.login(params["admin_name"], params["admin_password"])
            module.exit_json(changed=False, status=event_status(ctfd))
        except (CtfdError, OSError) as error:
            module.fail_json(msg=f"ctfd_content: {error}")
    try:
        ctfd.login(params["admin_name"], params["admin_password"])
        result = Sync(ctfd, params["event"], params["flags"], params["files_dir"], params["prune"],
                      params["passwords"]).run(module.check_mode)
    except (CtfdError, OSError) as error:
        module.fail_json(msg=f"ctfd_content: {error}")
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
