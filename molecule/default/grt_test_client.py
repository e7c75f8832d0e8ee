"""Test client run ON the test host: a participant's or the admin's browser,
through the front proxy (https://127.0.0.1 by default), stdlib only.

  python3 grt_test_client.py <command>   (settings in /root/grt-test-client.json, 0600)

  write     as admin: create a page (a DB row) and upload a file; remember them
  check     as admin: the remembered page and file are still there, unchanged
  events    as admin: seconds until the first server-sent event of /events
  generate  as a new non-admin participant: POST /generate (the plugin's chat)
  request   what CTFd saw of the request (stand-in only endpoint /_standin/request)
  dump      as admin: every challenge (with flags, tags, hints, files, requirements), page and config
  play NAME as a new participant: see challenge NAME, chat in it (POST /generate) and submit the chat
  guess NAME TEXT   as a new participant: submit TEXT as the flag of challenge NAME
  submissions NAME  as admin: the submissions of challenge NAME
  login NAME PASSWORD   log in as NAME: the status and who /api/v1/users/me says we are
  storm N NAME      N new participants at once from this one address: register, then all chat in
                    challenge NAME at once while browsing; every status seen, the registrations' seconds

Prints one JSON object.
"""

import http.cookiejar
import json
import re
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

SETTINGS = "/root/grt-test-client.json"
REMEMBERED = "/root/grt-persistence.json"
NONCE = (
    re.compile(r"""csrfNonce['"]?\s*:\s*["']([^"']+)["']"""),
    re.compile(r"""<input[^>]*name=["']nonce["'][^>]*value=["']([^"']+)["']"""),
    re.compile(r"""<input[^>]*value=["']([^"']+)["'][^>]*name=["']nonce["']"""),
)
# The test host trusts nothing about the self-signed certificate; the tests
# look at the certificate separately.
TLS = ssl._create_unverified_context()  # noqa: S323


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            urllib.request.HTTPSHandler(context=TLS),
            NoRedirect,
        )
        self.nonce = None

    def call(self, method, path, data=None, headers=None, timeout=30):
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {}, method=method)
        try:
            with self.opener.open(req, timeout=timeout) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def page_nonce(self, path):
        status, _, body = self.call("GET", path)
        text = body.decode("utf-8", "replace")
        for pattern in NONCE:
            match = pattern.search(text)
            if match:
                return match.group(1)
        raise SystemExit(f"no nonce in {path} ({status})")

    def form(self, path, fields):
        fields = dict(fields, nonce=self.page_nonce(path))
        data = urllib.parse.urlencode(fields).encode()
        return self.call("POST", path, data, {"Content-Type": "application/x-www-form-urlencoded"})

    def login(self, name, password):
        status, _, _ = self.form("/login", {"name": name, "password": password})
        assert status in (301, 302, 303), f"login as {name} answered {status}"
        self.nonce = self.page_nonce("/admin/pages")

    def api(self, method, path, body=None):
        headers = {"Content-Type": "application/json", "Accept": "application/json", "CSRF-Token": self.nonce}
        data = json.dumps(body).encode() if body is not None else None
        status, _, raw = self.call(method, path, data, headers)
        return status, json.loads(raw or b"{}")

    def upload(self, filename, content):
        boundary = uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="nonce"\r\n\r\n{self.nonce}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\npage\r\n'.encode(),
            (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n").encode() + content + b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
        status, _, raw = self.call("POST", "/api/v1/files", b"".join(parts),
                                   {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return status, json.loads(raw or b"{}")


def admin(settings):
    browser = Browser(settings["url"])
    browser.login(settings["admin_name"], settings["admin_password"])
    return browser


def write(settings):
    browser = admin(settings)
    marker = uuid.uuid4().hex
    status, answer = browser.api("POST", "/api/v1/pages", {
        "title": f"persist {marker}", "route": f"persist-{marker}", "content": f"row {marker}",
        "format": "markdown", "draft": False})
    assert status == 200 and answer.get("success"), (status, answer)
    content = f"file {marker}\n".encode()
    status, uploaded = browser.upload(f"{marker}.txt", content)
    assert status == 200 and uploaded.get("success"), (status, uploaded)
    remembered = {"page_id": answer["data"]["id"], "page_content": f"row {marker}",
                  "file_location": uploaded["data"][0]["location"], "file_content": content.decode()}
    with open(REMEMBERED, "w", encoding="utf-8") as stream:
        json.dump(remembered, stream)
    return remembered


def check(settings):
    with open(REMEMBERED, encoding="utf-8") as stream:
        remembered = json.load(stream)
    browser = admin(settings)
    status, answer = browser.api("GET", f"/api/v1/pages/{remembered['page_id']}")
    page_content = (answer.get("data") or {}).get("content")
    file_status, _, file_body = browser.call("GET", "/files/" + remembered["file_location"])
    return {"page_status": status, "page_ok": page_content == remembered["page_content"],
            "file_status": file_status, "file_ok": file_body.decode("utf-8", "replace") == remembered["file_content"]}


def events(settings):
    browser = admin(settings)
    started = time.monotonic()
    req = urllib.request.Request(browser.base + "/events", headers={"Accept": "text/event-stream"})
    with browser.opener.open(req, timeout=10) as response:
        line = response.readline()
        while line in (b"\r\n", b"\n"):
            line = response.readline()
        return {"seconds": time.monotonic() - started, "first_line": line.decode("utf-8", "replace").strip(),
                "content_type": response.headers.get("Content-Type")}


def generate(settings):
    # An admin makes a challenge of the plugin's type, as organisers do...
    status, made = admin(settings).api("POST", "/api/v1/challenges", {
        "name": "chat " + uuid.uuid4().hex[:8], "category": "test", "description": "say hello",
        "value": 100, "state": "visible", "type": "llm_verification",
        "preprompt": "You are a test.", "chat_limit": 5})
    assert status == 200 and made.get("success"), (status, made)
    # ...and a new participant chats in it through the plugin's POST /generate.
    browser = Browser(settings["url"])
    name = "player-" + uuid.uuid4().hex[:8]
    status, _, _ = browser.form("/register", {"name": name, "email": f"{name}@example.org", "password": uuid.uuid4().hex})
    assert status in (301, 302, 303), f"register answered {status}"
    data = json.dumps({"challenge_id": made["data"]["id"], "prompt": f"hello from {name}"}).encode()
    status, _, raw = browser.call("POST", "/generate", data, {"Content-Type": "application/json"}, timeout=60)
    return {"status": status, "body": raw.decode("utf-8", "replace")[:500]}


def spend(settings, count):
    """One participant sends `count` chats back to back, then opens a page; a second participant sends one.
    Every answer's status, content type and JSON (the front proxy's spend guard)."""
    status, made = admin(settings).api("POST", "/api/v1/challenges", {
        "name": "spend " + uuid.uuid4().hex[:8], "category": "test", "description": "say hello",
        "value": 100, "state": "visible", "type": "llm_verification",
        "preprompt": "You are a test.", "chat_limit": 1000})
    assert status == 200 and made.get("success"), (status, made)

    def chat(browser, name):
        data = json.dumps({"challenge_id": made["data"]["id"], "prompt": f"hello from {name}"}).encode()
        status, headers, raw = browser.call("POST", "/generate", data, {"Content-Type": "application/json"},
                                            timeout=60)
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = raw.decode("utf-8", "replace")[:200]
        return {"status": status, "type": headers.get("Content-Type"), "retry_after": headers.get("Retry-After"),
                "json": answer}

    first, name = participant(settings)
    began = time.monotonic()
    calls = [chat(first, name) for _ in range(int(count))]
    seconds = round(time.monotonic() - began, 2)
    page = first.call("GET", "/challenges")[0]
    second, other = participant(settings)
    return {"calls": calls, "seconds": seconds, "page_after": page, "other_session": chat(second, other)}


def request(settings):
    status, _, raw = Browser(settings["url"]).call("GET", "/_standin/request")
    return {"status": status, "seen": json.loads(raw or b"{}")}


def data(browser, path):
    status, answer = browser.api("GET", path)
    assert status == 200 and answer.get("success"), (path, status, answer)
    return answer["data"]


def dump(settings):
    browser = admin(settings)
    challenges = []
    for listed in data(browser, "/api/v1/challenges?view=admin"):
        cid = listed["id"]
        challenge = data(browser, f"/api/v1/challenges/{cid}?view=admin")
        for part in ("flags", "tags", "hints", "files", "requirements"):
            challenge["_" + part] = data(browser, f"/api/v1/challenges/{cid}/{part}")
        challenges.append(challenge)
    pages = [data(browser, f"/api/v1/pages/{p['id']}") for p in data(browser, "/api/v1/pages")]
    configs = {row["key"]: row["value"] for row in data(browser, "/api/v1/configs")}
    files = data(browser, "/api/v1/files")
    return {"challenges": challenges, "pages": pages, "configs": configs, "files": files}


def participant(settings):
    browser = Browser(settings["url"])
    name = "player-" + uuid.uuid4().hex[:8]
    status, _, _ = browser.form("/register", {"name": name, "email": f"{name}@example.org",
                                              "password": uuid.uuid4().hex})
    assert status in (301, 302, 303), f"register answered {status}"
    browser.nonce = browser.page_nonce("/challenges")
    return browser, name


def find(browser, name):
    listed = [c for c in data(browser, "/api/v1/challenges") if c["name"] == name]
    return listed[0]["id"] if listed else None


def play(settings, name):
    browser, player = participant(settings)
    cid = find(browser, name)
    assert cid is not None, f"{player} does not see challenge {name}"
    opened = data(browser, f"/api/v1/challenges/{cid}")
    body = json.dumps({"challenge_id": cid, "prompt": f"hello from {player}"}).encode()
    status, _, raw = browser.call("POST", "/generate", body, {"Content-Type": "application/json"}, timeout=60)
    assert status == 200, (status, raw[:300])
    generation = json.loads(raw)["data"]
    status, submitted = browser.api("POST", "/api/v1/challenges/attempt",
                                    {"challenge_id": cid, "submission": str(generation["id"])})
    return {"player": player, "challenge_id": cid, "opened": opened["name"], "generate_status": 200,
            "generation": generation, "attempt_status": status, "attempt": submitted.get("data")}


def guess(settings, name, text):
    browser, player = participant(settings)
    cid = find(browser, name)
    assert cid is not None, f"{player} does not see challenge {name}"
    status, answer = browser.api("POST", "/api/v1/challenges/attempt", {"challenge_id": cid, "submission": text})
    return {"player": player, "challenge_id": cid, "status": status, "data": answer.get("data")}


def submissions(settings, name):
    browser = admin(settings)
    listed = [c for c in data(browser, "/api/v1/challenges?view=admin") if c["name"] == name]
    cid = listed[0]["id"]
    return {"challenge_id": cid, "submissions": data(browser, f"/api/v1/submissions?challenge_id={cid}")}


def login(settings, name, password):
    browser = Browser(settings["url"])
    status, _, _ = browser.form("/login", {"name": name, "password": password})
    me_status, _, raw = browser.call("GET", "/api/v1/users/me", headers={"Accept": "application/json"})
    me = json.loads(raw or b"{}").get("data", {}) if me_status == 200 else {}
    return {"status": status, "me": me.get("name")}


def session(settings, name, password):
    """Log in and hand back the session cookie (the backup tests replay it after a restore)."""
    browser = Browser(settings["url"])
    browser.form("/login", {"name": name, "password": password})
    jar = next(h for h in browser.opener.handlers if isinstance(h, urllib.request.HTTPCookieProcessor)).cookiejar
    return {"cookie": next(c.value for c in jar if c.name == "session")}


def whoami(settings, cookie):
    """Who a session cookie logs in as, in a fresh browser."""
    browser = Browser(settings["url"])
    status, _, raw = browser.call("GET", "/api/v1/users/me",
                                  headers={"Accept": "application/json", "Cookie": "session=" + cookie})
    return {"status": status, "me": json.loads(raw or b"{}").get("data", {}).get("name") if status == 200 else None}


def storm(settings, count, name):
    """N registrations at once from this one address (the door queues CTFd's 429s), then all N
    chat at once while they browse: every status seen, and each registration's seconds."""
    count = int(count)
    statuses, seconds, lock = [], [], threading.Lock()
    cid = find(admin(settings), name)
    assert cid is not None, f"no challenge {name}"
    registered, chatting = threading.Barrier(count), threading.Barrier(count)

    def record(*seen):
        with lock:
            statuses.append(list(seen))

    def browse(browser):
        for path in ("/", "/challenges", "/api/v1/challenges", "/api/v1/users/me"):
            record(path, browser.call("GET", path, headers={"Accept": "application/json"}, timeout=120)[0])

    def one():
        browser = Browser(settings["url"])
        player = "storm-" + uuid.uuid4().hex[:8]
        try:
            fields = {"name": player, "email": f"{player}@example.org", "password": uuid.uuid4().hex,
                      "nonce": browser.page_nonce("/register")}
            registered.wait(timeout=300)
            began = time.monotonic()
            status, _, _ = browser.call("POST", "/register", urllib.parse.urlencode(fields).encode(),
                                        {"Content-Type": "application/x-www-form-urlencoded"}, timeout=120)
            with lock:
                seconds.append(round(time.monotonic() - began, 2))
            record("/register", status)
        except Exception as error:  # noqa: BLE001 - reported, never swallowed
            record("error", repr(error))
        try:
            chatting.wait(timeout=300)
            pages = threading.Thread(target=browse, args=(browser,))
            pages.start()
            body = json.dumps({"challenge_id": cid, "prompt": f"storm from {player}"}).encode()
            record("/generate", browser.call("POST", "/generate", body, {"Content-Type": "application/json"},
                                             timeout=120)[0])
            pages.join()
        except Exception as error:  # noqa: BLE001 - reported, never swallowed
            record("error", repr(error))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"statuses": statuses, "register_seconds": sorted(seconds)}


def main():
    with open(SETTINGS, encoding="utf-8") as stream:
        settings = json.load(stream)
    command = {"write": write, "check": check, "events": events, "generate": generate, "request": request,
               "dump": dump, "play": play, "guess": guess, "submissions": submissions,
               "storm": storm, "login": login, "spend": spend,
               "session": session, "whoami": whoami}[sys.argv[1]]
    print(json.dumps(command(settings, *sys.argv[2:])))


if __name__ == "__main__":
    main()
