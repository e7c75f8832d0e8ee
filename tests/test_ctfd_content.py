"""The ctfd_content module (roles/ctfd_content/library/ctfd_content.py):
every bad input of an event gives one message naming the file and the field
and makes no API call; and the reconciliation rules, against a small
in-memory CTFd that records every call (the Molecule monolith scenario runs
the same module against the CTFd stand-in)."""

import importlib.util
import json
import pathlib
import shutil

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "inventories" / "monolith" / "event"
TYPES = yaml.safe_load((ROOT / "roles" / "ctfd_content" / "defaults" / "main.yml").read_text())[
    "ctfd_content_challenge_types"]

_spec = importlib.util.spec_from_file_location("ctfd_content", ROOT / "roles/ctfd_content/library/ctfd_content.py")
module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(module)


class FakeCtfd:
    """CTFd's admin API as the module uses it, in memory; `calls` records every request."""

    def __init__(self, types=("standard", "dynamic", "llm_verification")):
        self.calls = []
        self.types = {t: {"id": t, "name": t} for t in types}
        self.tables = {"challenges": {}, "flags": {}, "tags": {}, "hints": {}, "files": {}, "pages": {},
                       "configs": {}, "submissions": {}, "users": {}}
        self.next_id = 1

    def _new(self, table, row):
        row = dict(row, id=self.next_id)
        self.next_id += 1
        self.tables[table][row["id"]] = row
        return row

    def _children(self, table, cid):
        return [r for r in self.tables[table].values() if r.get("challenge_id") == cid]

    def upload(self, path, fields):
        self.calls.append(("POST", "/files", dict(fields)))
        content = pathlib.Path(path).read_bytes()
        import hashlib
        row = self._new("files", {"type": fields["type"], "challenge_id": fields.get("challenge_id"),
                                  "location": f"{self.next_id:032x}/{pathlib.Path(path).name}",
                                  "sha1sum": hashlib.sha1(content).hexdigest()})
        return 200, {"success": True, "data": [row]}

    def call(self, method, path, body=None):
        self.calls.append((method, path, body))
        t = self.tables
        route, _, query = path.partition("?")
        parts = route.strip("/").split("/")
        ok = lambda data=None: (200, {"success": True, "data": data})  # noqa: E731
        if parts == ["challenges", "types"]:
            return ok(self.types)
        if parts == ["challenges"] and method == "GET":
            return ok([{k: c[k] for k in ("id", "name", "type", "value", "category")}
                       for c in t["challenges"].values()])
        if parts == ["challenges"] and method == "POST":
            if body["type"] not in self.types:
                return 500, {"message": "unknown type"}
            row = self._new("challenges", dict(body))
            row.setdefault("max_attempts", 0)
            if body["type"] == "llm_verification":  # as the real plugin: visible at creation
                row["state"] = "visible"
            return ok(row)
        if parts[0] == "challenges" and len(parts) >= 2:
            cid = int(parts[1])
            row = t["challenges"].get(cid)
            if row is None:
                return 404, {"success": False}
            if len(parts) == 3:
                if parts[2] == "requirements":
                    return ok(row.get("requirements"))
                return ok(self._children(parts[2], cid))
            if method == "PATCH":
                row.update(body)
            return ok(dict(row))
        if parts[0] in ("flags", "tags", "hints", "files", "pages"):
            if len(parts) == 1 and method == "POST":
                return ok(self._new(parts[0], {k: v for k, v in body.items() if k != "challenge"}))
            if len(parts) == 1:
                rows = t[parts[0]].values()
                if parts[0] == "files" and "type=" in query:
                    rows = [r for r in rows if r["type"] == query.split("type=")[1]]
                return ok([dict(r) for r in rows])
            row = t[parts[0]][int(parts[1])]
            if method == "DELETE":
                del t[parts[0]][row["id"]]
                return ok()
            if method == "PATCH":
                row.update(body)
            return ok(dict(row))
        if parts == ["users"] and method == "GET":  # CTFd: 50 a page, names without emails
            page = int(query.split("page=")[1]) if "page=" in query else 1
            users = sorted(t["users"].values(), key=lambda u: u["id"])
            more = len(users) > page * 50
            return 200, {"success": True, "meta": {"pagination": {"next": page + 1 if more else None}},
                         "data": [{"id": u["id"], "name": u["name"]} for u in users[(page - 1) * 50:page * 50]]}
        if parts == ["users"] and method == "POST":
            if any(u["email"] == body["email"] for u in t["users"].values()):
                return 400, {"success": False, "errors": {"email": ["Email address has already been used"]}}
            return ok(self._new("users", dict(body)))
        if parts == ["configs"] and method == "GET":
            return ok([{"key": k, "value": v} for k, v in t["configs"].items()])
        if parts == ["configs"] and method == "PATCH":
            t["configs"].update({k: module._config_text(v) for k, v in body.items()})
            return ok()
        if parts[0] == "configs":
            if method == "PATCH":
                t["configs"][parts[1]] = body["value"]
            if parts[1] not in t["configs"]:
                return 404, {"success": False}
            return ok({"key": parts[1], "value": t["configs"][parts[1]]})
        raise AssertionError(f"the fake has no {method} {path}")

    def writes(self):
        return [c for c in self.calls if c[0] != "GET"]


def event_copy(tmp_path):
    target = tmp_path / "event"
    shutil.copytree(EXAMPLE, target)
    return target


def sync(path, ctfd, check_mode=False, prune="keep", passwords=None):
    """What the role does: read and check everything, then sync (files staged where they are)."""
    event, flags = module.load_event(str(path), TYPES, ["index"])
    stage = path.parent / "stage"
    for item in [f for c in event["challenges"] for f in c["files"]] + list(
            (event["settings"] or {}).get("uploads", {}).values()):
        (stage / item["sha1"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(item["src"], stage / item["sha1"] / item["name"])
    return module.Sync(ctfd, json.loads(json.dumps(event)), flags, str(stage), prune, passwords).run(check_mode)


def edit(path, relative, change):
    file = path / relative
    file.write_text(change(file.read_text()))


# ---------------------------------------------------------------- bad input

BAD_INPUTS = {
    "not YAML": ("challenges/prompt-leak/challenge.yml", lambda t: t + "\n  : - [unclosed\n",
                 "prompt-leak/challenge.yml", "could not be loaded"),
    "no name": ("challenges/prompt-leak/challenge.yml", lambda t: t.replace("name: Prompt leak\n", ""),
                "prompt-leak/challenge.yml", "'name' is missing"),
    "no value": ("challenges/prompt-leak/challenge.yml", lambda t: t.replace("value: 100\n", ""),
                 "prompt-leak/challenge.yml", "'value' is missing"),
    "no type": ("challenges/prompt-leak/challenge.yml", lambda t: t.replace("type: llm_verification\n", ""),
                "prompt-leak/challenge.yml", "'type' is missing"),
    "unknown type": ("challenges/prompt-leak/challenge.yml",
                     lambda t: t.replace("type: llm_verification", "type: llm_verificaton"),
                     "prompt-leak/challenge.yml", "field 'type': unknown challenge type 'llm_verificaton'"),
    "wrong field type": ("challenges/prompt-leak/challenge.yml", lambda t: t.replace("value: 100", "value: lots"),
                         "prompt-leak/challenge.yml", "field 'value' must be a whole number"),
    "wrong extra type": ("challenges/prompt-leak/challenge.yml",
                         lambda t: t.replace("chat_limit: 10", "chat_limit: ten"),
                         "prompt-leak/challenge.yml", "field 'extra.chat_limit' must be a whole number"),
    "extra field of no type": ("challenges/model-card/challenge.yml",
                               lambda t: t + "extra:\n  preprompt: hi\n",
                               "model-card/challenge.yml", "field 'extra.preprompt' is not a field of type standard"),
    "flag without content": ("challenges/model-card/challenge.yml",
                             lambda t: t.replace("  - grt{redteam-eval-2026}", "  - {type: static}"),
                             "model-card/challenge.yml", "field 'flags[0]' has no content"),
    "missing file": ("challenges/model-card/challenge.yml",
                     lambda t: t.replace("dist/model-card.md", "dist/missing.md"),
                     "model-card/challenge.yml", "field 'files[0]': file dist/missing.md does not exist"),
    "unknown requirement": ("challenges/poem-jailbreak/challenge.yml",
                            lambda t: t.replace("- Prompt leak", "- Prompt leek"),
                            "poem-jailbreak/challenge.yml", "field 'requirements': no other challenge is named"),
    "duplicate names": ("challenges/poem-jailbreak/challenge.yml",
                        lambda t: t.replace("name: Poem jailbreak", "name: Prompt leak"),
                        "poem-jailbreak/challenge.yml", "field 'name': 'Prompt leak' is also the name in"),
    "misspelt field": ("challenges/model-card/challenge.yml", lambda t: t.replace("hints:", "hint:"),
                       "model-card/challenge.yml", "field 'hint' is not a ctfcli challenge field"),
    "page without route": ("pages/rules.md", lambda t: t.replace("route: rules\n", ""),
                           "pages/rules.md", "field 'route' is missing"),
    "page on the theme's index": ("pages/rules.md", lambda t: t.replace("route: rules", "route: index"),
                                  "pages/rules.md", "field 'route': index is managed by ctfd_setup"),
    "bad setting": ("settings.yml", lambda t: t.replace("user_mode: users", "user_mode: people"),
                    "settings.yml", "field 'user_mode' must be one of users, teams"),
    "time without offset": ("settings.yml", lambda t: t.replace("2026-08-07T10:00:00-07:00", "2026-08-07 10:00"),
                            "settings.yml", "field 'start' must be an ISO 8601 time with its offset"),
    "code of conduct page missing": ("settings.yml", lambda t: t.replace("code_of_conduct: rules",
                                                                         "code_of_conduct: conduct"),
                                     "settings.yml", "field 'code_of_conduct': no page in pages/ has route"),
    "participant without email": ("participants.csv", lambda t: t.replace("laptop-02@grt.example", ""),
                                  "participants.csv: line 3", "field 'email' must be an email address"),
    "participant named twice": ("participants.csv", lambda t: t.replace("laptop-03,", "LAPTOP-01,"),
                                "participants.csv: line 4", "field 'name': 'LAPTOP-01' is also on line 2"),
    "participants with teams": ("participants.csv", lambda t: t.replace("name,email", "name,email,team"),
                                "participants.csv", "column 'team': teams are not imported"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_file_and_field_before_any_api_call(tmp_path, case):
    relative, change, file_part, message = BAD_INPUTS[case]
    path = event_copy(tmp_path)
    edit(path, relative, change)
    ctfd = FakeCtfd()
    with pytest.raises(module.ContentError) as error:
        sync(path, ctfd)
    assert file_part in str(error.value) and message in str(error.value), str(error.value)
    assert ctfd.calls == [], "an API call was made before the whole event was checked"


def test_a_type_ctfd_does_not_offer_stops_before_any_change(tmp_path):
    ctfd = FakeCtfd(types=("standard", "dynamic"))  # the plugin is not loaded
    with pytest.raises(module.CtfdError, match="poem-jailbreak .*no challenge type 'llm_verification'"):
        sync(event_copy(tmp_path), ctfd)
    assert ctfd.writes() == []


# ---------------------------------------------------------------- reconciliation


def challenge_by_name(ctfd, name):
    return next(c for c in ctfd.tables["challenges"].values() if c["name"] == name)


def test_first_sync_creates_everything_and_a_second_changes_nothing(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    first = sync(path, ctfd)
    assert first["changed"] and {c["key"] for c in first["changes"] if c["kind"] == "challenge"} == {
        "model-card", "poem-jailbreak", "prompt-leak"}
    card = challenge_by_name(ctfd, "Read the model card")
    assert card["state"] == "visible" and card["max_attempts"] == 20
    assert len(ctfd._children("flags", card["id"])) == 2 and len(ctfd._children("files", card["id"])) == 1
    poem = challenge_by_name(ctfd, "Poem jailbreak")
    assert poem["requirements"]["prerequisites"] == [challenge_by_name(ctfd, "Prompt leak")["id"]]
    ctfd.calls.clear()
    second = sync(path, ctfd)
    assert not second["changed"] and second["changes"] == [] and ctfd.writes() == []


def test_one_edited_field_is_one_change_shown_in_the_diff_and_check_mode_applies_nothing(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    sync(path, ctfd)
    edit(path, "challenges/prompt-leak/challenge.yml", lambda t: t.replace("value: 100", "value: 150"))
    ctfd.calls.clear()
    checked = sync(path, ctfd, check_mode=True)
    assert [(c["key"], c["fields"]) for c in checked["changes"]] == [("prompt-leak", ["value"])]
    assert checked["diff"][0]["before"] == "value: 100\n" and checked["diff"][0]["after"] == "value: 150\n"
    assert ctfd.writes() == [] and challenge_by_name(ctfd, "Prompt leak")["value"] == 100
    applied = sync(path, ctfd)
    assert [(c["key"], c["fields"]) for c in applied["changes"]] == [("prompt-leak", ["value"])]
    assert challenge_by_name(ctfd, "Prompt leak")["value"] == 150


def test_a_renamed_challenge_is_updated_in_place(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    sync(path, ctfd)
    before = challenge_by_name(ctfd, "Prompt leak")["id"]
    edit(path, "challenges/prompt-leak/challenge.yml", lambda t: t.replace("name: Prompt leak", "name: Leaky prompt"))
    edit(path, "challenges/poem-jailbreak/challenge.yml", lambda t: t.replace("- Prompt leak", "- Leaky prompt"))
    result = sync(path, ctfd)
    assert [(c["key"], c["fields"]) for c in result["changes"]] == [("prompt-leak", ["name"])]
    assert challenge_by_name(ctfd, "Leaky prompt")["id"] == before
    assert len(ctfd.tables["challenges"]) == 3, "the rename made a second challenge"


def test_a_removed_challenge_is_hidden_never_deleted_and_comes_back_as_itself(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    sync(path, ctfd)
    card = challenge_by_name(ctfd, "Read the model card")
    moved = tmp_path / "model-card"
    shutil.move(str(path / "challenges" / "model-card"), moved)
    kept = sync(path, ctfd)
    assert kept["changes"] == [] and kept["orphans"] == ["challenge model-card"] and card["state"] == "visible"
    hidden = sync(path, ctfd, prune="hide")
    assert [(c["key"], c["fields"]) for c in hidden["changes"]] == [("model-card", ["state"])]
    assert card["state"] == "hidden" and not [c for c in ctfd.calls if c[0] == "DELETE" and "challenges" in c[1]]
    shutil.move(str(moved), path / "challenges" / "model-card")
    back = sync(path, ctfd)
    assert [(c["key"], c["fields"]) for c in back["changes"]] == [("model-card", ["state"])]
    assert card["state"] == "visible" and len(ctfd.tables["challenges"]) == 3


def test_a_file_is_uploaded_once_per_content(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    sync(path, ctfd)
    uploads = lambda: [c for c in ctfd.calls if c[:2] == ("POST", "/files")]  # noqa: E731
    assert len(uploads()) == 2  # the attachment and the logo
    ctfd.calls.clear()
    sync(path, ctfd)
    assert uploads() == []
    edit(path, "challenges/model-card/dist/model-card.md", lambda t: t + "\nRevised.\n")
    result = sync(path, ctfd)
    assert [(c["key"], c["fields"]) for c in result["changes"]] == [("model-card", ["files"])]
    assert len(uploads()) == 1 and len(ctfd._children("files", challenge_by_name(ctfd, "Read the model card")["id"])) == 1


def test_flags_never_show_in_the_result(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    result = sync(path, ctfd)
    edit(path, "challenges/model-card/challenge.yml", lambda t: t.replace("grt{redteam-eval-2026}", "grt{new-one}"))
    result = sync(path, ctfd)
    assert [(c["key"], c["fields"]) for c in result["changes"]] == [("model-card", ["flags"])]
    assert "grt{" not in json.dumps(result) and "flag sha256:" in result["diff"][0]["after"]


def test_a_failing_new_challenge_is_left_hidden(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    real_call = ctfd.call

    def refuse_hints(method, path_, body=None):
        if method == "POST" and path_ == "/hints":
            ctfd.calls.append((method, path_, body))
            return 400, {"success": False, "errors": {"cost": ["refused"]}}
        return real_call(method, path_, body)

    ctfd.call = refuse_hints
    with pytest.raises(module.CtfdError, match="challenge model-card .*hints.*refused"):
        sync(path, ctfd)
    assert all(c["state"] == "hidden" for c in ctfd.tables["challenges"].values())


# ---------------------------------------------------------------- participants


def test_participants_are_created_once_and_an_existing_account_is_left_alone(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    ctfd._new("users", {"name": "laptop-02", "email": "laptop-02@grt.example", "password": "changed-by-owner"})
    first = sync(path, ctfd, passwords={"laptop-01": "p1" * 8, "laptop-03": "p3" * 8})
    made = [c for c in first["changes"] if c["kind"] == "participant"]
    assert [c["key"] for c in made] == ["laptop-01", "laptop-03"]
    users = {u["name"]: u for u in ctfd.tables["users"].values()}
    assert users["laptop-01"]["password"] == "p1" * 8 and users["laptop-01"]["verified"] is True
    assert users["laptop-02"]["password"] == "changed-by-owner"
    assert not any("p1" * 8 in json.dumps(d) for d in first["diff"]), "a password in the diff"
    ctfd.calls.clear()
    assert not sync(path, ctfd)["changed"] and ctfd.writes() == []


def test_a_participant_whose_email_is_taken_stops_the_run_naming_them(tmp_path):
    path, ctfd = event_copy(tmp_path), FakeCtfd()
    ctfd._new("users", {"name": "someone-else", "email": "laptop-03@grt.example"})
    with pytest.raises(module.CtfdError, match="participant laptop-03: POST /users answered 400.*already been used"):
        sync(path, ctfd)


def test_passwords_are_generated_once_kept_0600_and_given_ones_win(tmp_path):
    file = tmp_path / "participant-passwords.csv"
    names = ["laptop-01", "laptop-02"]
    checked, changed = module.participant_passwords(str(file), names, {}, check_mode=True)
    assert changed and not file.exists(), "check mode wrote the password file"
    first, changed = module.participant_passwords(str(file), names, {}, check_mode=False)
    assert changed and oct(file.stat().st_mode & 0o777) == "0o600"
    assert len(set(first.values())) == 2 and all(len(p) == 16 for p in first.values())
    again, changed = module.participant_passwords(str(file), names, {}, check_mode=False)
    assert again == first and not changed
    given, _ = module.participant_passwords(str(file), names, {"laptop-02": "from-the-vault"}, check_mode=False)
    assert given == {"laptop-01": first["laptop-01"], "laptop-02": "from-the-vault"}
