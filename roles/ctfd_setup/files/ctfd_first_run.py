"""CTFd's unattended first run, through CTFd's own HTTP contract (stdlib only).

Runs inside the CTFd container (python is there, curl is not) against
http://127.0.0.1:8000, so it needs neither the front proxy nor a host port.
Parameters arrive as JSON on stdin (they include the admin password, which
must not show up in a process list or in `docker inspect`). Prints one JSON
object: {"changed": bool, "actions": [...]} or {"failed": true, "msg": ...}.

1. GET /setup: 200 means CTFd is not set up. POST /setup with the session's
   nonce, exactly as CTFd's setup form does; success is a 302 and leaves the
   new admin logged in. Otherwise log in through POST /login.
2. Take the CSRF nonce of the admin session from an admin page (the admin
   theme ships with CTFd, whatever theme is active).
3. Make each config key (ctf_theme, ctf_name, ...) hold its value and the
   index page hold the theme's HTML, through the admin API, changing only
   what differs.
"""

import http.cookiejar
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request

NONCE_PATTERNS = (
    re.compile(r"""csrfNonce['"]?\s*:\s*["']([^"']+)["']"""),
    re.compile(r"""<input[^>]*name=["']nonce["'][^>]*value=["']([^"']+)["']"""),
    re.compile(r"""<input[^>]*value=["']([^"']+)["'][^>]*name=["']nonce["']"""),
)


class Failure(Exception):
    pass


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
        )

    def request(self, method, path, form=None, body=None, headers=None):
        headers = dict(headers or {})
        data = None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")


def nonce_in(page, where):
    for pattern in NONCE_PATTERNS:
        match = pattern.search(page)
        if match:
            return match.group(1)
    raise Failure(f"no CSRF nonce in the page of {where}")


def page_errors(page):
    text = re.sub(r"<[^>]+>", " ", page)
    found = re.findall(r"(Please [^.<]+|That [^.<]+|Pick a [^.<]+|Your [^.<]+|incorrect[^.<]*)", text)
    return "; ".join(dict.fromkeys(s.strip() for s in found)) or "no error text found"


def set_up_or_log_in(client, params, actions):
    status, page = client.request("GET", "/setup")
    if status == 200:
        form = dict(params["setup_form"])
        form.update(
            name=params["admin_name"],
            email=params["admin_email"],
            password=params["admin_password"],
            nonce=nonce_in(page, "GET /setup"),
        )
        status, page = client.request("POST", "/setup", form=form)
        if status != 302:
            raise Failure(f"POST /setup answered {status}: {page_errors(page)}")
        actions.append("ran the first-run setup")
        return
    if status not in (301, 302, 303):
        raise Failure(f"GET /setup answered {status}")
    status, page = client.request("GET", "/login")
    if status != 200:
        raise Failure(f"GET /login answered {status}")
    status, page = client.request(
        "POST",
        "/login",
        form={"name": params["admin_name"], "password": params["admin_password"],
              "nonce": nonce_in(page, "GET /login")},
    )
    if status not in (301, 302, 303):
        raise Failure(
            f"logging in as '{params['admin_name']}' failed ({status}: {page_errors(page)}); "
            "was the admin password changed in CTFd? Put the current one in grt_ctfd_admin_password."
        )


def api(client, nonce, method, path, body=None):
    headers = {"Accept": "application/json", "CSRF-Token": nonce}
    if body is None and method != "GET":
        body = {}
    status, text = client.request(method, path, body=body, headers=headers)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"raw": text[:200]}


def ensure_configs(client, nonce, configs, actions):
    for key, value in configs.items():
        status, answer = api(client, nonce, "GET", f"/api/v1/configs/{urllib.parse.quote(key)}")
        current = (answer.get("data") or {}).get("value") if status == 200 else None
        if current is not None and str(current) == str(value):
            continue
        status, answer = api(client, nonce, "PATCH", f"/api/v1/configs/{urllib.parse.quote(key)}", {"value": value})
        if status != 200 or not answer.get("success"):
            raise Failure(f"setting config {key} failed: {status} {answer}")
        actions.append(f"config {key}")


def ensure_index_page(client, nonce, html, title, actions):
    status, answer = api(client, nonce, "GET", "/api/v1/pages?route=index")
    if status != 200:
        raise Failure(f"listing pages failed: {status} {answer}")
    pages = answer.get("data") or []
    wanted = {"content": html, "format": "html", "draft": False}
    if not pages:
        status, answer = api(client, nonce, "POST", "/api/v1/pages",
                             dict(wanted, title=title, route="index", auth_required=False))
        if status != 200 or not answer.get("success"):
            raise Failure(f"creating the index page failed: {status} {answer}")
        actions.append("created the index page")
        return
    page_id = pages[0]["id"]
    status, answer = api(client, nonce, "GET", f"/api/v1/pages/{page_id}")
    current = answer.get("data") or {}
    if all(current.get(k) == v for k, v in wanted.items()):
        return
    status, answer = api(client, nonce, "PATCH", f"/api/v1/pages/{page_id}", wanted)
    if status != 200 or not answer.get("success"):
        raise Failure(f"updating the index page failed: {status} {answer}")
    actions.append("updated the index page")


def main():
    params = json.load(sys.stdin)
    client = Client(params["url"])
    actions = []
    try:
        set_up_or_log_in(client, params, actions)
        status, page = client.request("GET", "/admin/pages")
        if status != 200:
            raise Failure(f"GET /admin/pages answered {status} after logging in")
        nonce = nonce_in(page, "GET /admin/pages")
        ensure_configs(client, nonce, params["configs"], actions)
        if params.get("index_html") is not None:
            ensure_index_page(client, nonce, params["index_html"], params["configs"].get("ctf_name", "CTF"), actions)
    except (Failure, OSError, ValueError, KeyError) as error:
        print(json.dumps({"failed": True, "msg": f"{type(error).__name__}: {error}", "actions": actions}))
        return 1
    print(json.dumps({"changed": bool(actions), "actions": actions}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
