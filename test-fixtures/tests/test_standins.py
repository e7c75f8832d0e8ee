"""Contract tests of the GRT stand-ins: the CTFd image (ctfd/ctfd:3.8.7), the
llm_router image (aivillage/llm_router:dev), the fake OpenAI vendor and the
fixture upstream repositories (test-fixtures/upstream/make-repos.sh).

The stand-ins replace images and repositories the test machines cannot
reach, so these tests pin down the upstream behaviour the roles depend on
(test-fixtures/images/*/Dockerfile, /work/shared/upstream-contracts.md):
start-up failures of CTFd with the llm_verification plugin, its setup/login/
API/SSE flows, the plugin's access-check defect, and the router's uuid cache
and key forwarding. Images are passed by tag (the harness builds them):

    GRT_OFFLINE_CTFD_IMAGE        (default grt-test/offline/ctfd)
    GRT_OFFLINE_LLM_ROUTER_IMAGE  (default grt-test/offline/llm-router)
    GRT_FAKE_VENDOR_IMAGE         (default grt-test/fake-vendor)
    GRT_OFFLINE_MARIADB_IMAGE     (default grt-test/offline/mariadb)
    GRT_OFFLINE_REDIS_IMAGE       (default grt-test/offline/redis)

One stack (MariaDB, Redis, fake vendor, router, CTFd with the fixture plugin
and theme installed as the ctfd_image role does) is shared by the module.
Every docker object gets a unique name and the label
``grt-test.standins=<run id>`` and is removed at the end (plus a sweep by
label). Ports are published on 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from dockercli import docker, is_running, logs
from dockercli import wait_until as _wait_until

CTFD_IMAGE = os.environ.get("GRT_OFFLINE_CTFD_IMAGE", "grt-test/offline/ctfd")
ROUTER_IMAGE = os.environ.get("GRT_OFFLINE_LLM_ROUTER_IMAGE", "grt-test/offline/llm-router")
VENDOR_IMAGE = os.environ.get("GRT_FAKE_VENDOR_IMAGE", "grt-test/fake-vendor")
MARIADB_IMAGE = os.environ.get("GRT_OFFLINE_MARIADB_IMAGE", "grt-test/offline/mariadb")
REDIS_IMAGE = os.environ.get("GRT_OFFLINE_REDIS_IMAGE", "grt-test/offline/redis")

FIXTURES = Path(__file__).resolve().parent.parent
MAKE_REPOS = FIXTURES / "upstream" / "make-repos.sh"

RUN_ID = uuid.uuid4().hex[:10]
LABEL_KEY = "grt-test.standins"
LABEL = f"{LABEL_KEY}={RUN_ID}"
READY_TIMEOUT = 90

ROUTER_TOKEN = "router-token-" + uuid.uuid4().hex[:8]
OPENAI_KEY = "sk-fake-" + uuid.uuid4().hex[:12]
DB_PASSWORD = "ctfd-" + uuid.uuid4().hex[:8]
NONCE_RE = re.compile(r"""'csrfNonce': "([0-9a-f]*)",""")
HIDDEN_NONCE_RE = re.compile(r'<input id="nonce" name="nonce" type="hidden" value="([0-9a-f]{64})">')
DEFECT_LINE = "        if generation.account_id != get_current_user().id or not is_admin():"


# --------------------------------------------------------------------------
# helpers


def wait_until(predicate, what: str, container: str | None = None,
               timeout: float = READY_TIMEOUT, interval: float = 0.3):
    return _wait_until(predicate, what, container, timeout, interval)


def unique(purpose: str) -> str:
    return f"grt-standins-{RUN_ID}-{purpose}"


def host_port(container: str, port: int) -> int:
    out = docker("port", container, f"{port}/tcp").stdout.split("\n")[0].strip()
    host, _, hport = out.rpartition(":")
    assert host == "127.0.0.1", f"published on {out}, expected loopback only"
    return int(hport)


class Resources:
    def __init__(self, tmp: Path | None = None) -> None:
        self.tmp = tmp
        self.containers: list[str] = []
        self.networks: list[str] = []
        self.images: list[str] = []

    def network(self, purpose: str) -> str:
        name = unique(purpose)
        self.networks.append(name)
        docker("network", "create", "--label", LABEL, name)
        return name

    def run(self, purpose: str, image: str, *args: str, opts: tuple[str, ...] = ()) -> str:
        name = unique(purpose)
        self.containers.append(name)
        docker("run", "-d", "--name", name, "--label", LABEL, *opts, image, *args)
        return name

    def cleanup(self) -> None:
        for name in reversed(self.containers):
            docker("rm", "-f", "-v", name, check=False)
        for name in reversed(self.networks):
            docker("network", "rm", name, check=False)
        for image in self.images:
            docker("rmi", "-f", image, check=False)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Response:
    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def nonce(self) -> str:
        match = NONCE_RE.search(self.text)
        assert match, f"no csrfNonce in page (status {self.status}):\n{self.text[:2000]}"
        return match.group(1)


class Client:
    """A browser-like HTTP client: cookies kept, redirects not followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def request(self, method: str, path: str, data: bytes | None = None,
                headers: dict | None = None, timeout: float = 30) -> Response:
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, err.headers, err.read())
        except (urllib.error.URLError, http.client.HTTPException, OSError):
            return Response(0, {}, b"")  # not answering (yet)

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def form(self, path: str, fields: dict, method: str = "POST") -> Response:
        return self.request(method, path, urllib.parse.urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def api(self, method: str, path: str, body=None, nonce: str | None = None,
            headers: dict | None = None) -> Response:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if nonce is not None:
            hdrs["CSRF-Token"] = nonce
        data = json.dumps(body).encode() if body is not None else None
        return self.request(method, path, data, hdrs)

    def multipart(self, path: str, fields: dict, files: dict) -> Response:
        boundary = "grt" + uuid.uuid4().hex
        parts = []
        for key, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
        for key, (filename, content) in files.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{filename}"\r\n'
                         f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def json_post(url: str, body: dict, headers: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def http_json(method: str, url: str, body=None, timeout: float = 10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=timeout) as resp:
        return json.loads(resp.read())


# --------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module", autouse=True)
def _docker_ready():
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not installed")
    if docker("info", check=False, timeout=30).returncode != 0:
        pytest.fail("docker engine not reachable (docker info failed)")
    for image in (CTFD_IMAGE, ROUTER_IMAGE, VENDOR_IMAGE, MARIADB_IMAGE, REDIS_IMAGE):
        if docker("image", "inspect", image, check=False).returncode != 0:
            pytest.fail(f"image {image} not found; build the harness first: test-fixtures/harness/up.sh")
    yield
    for ls_cmd, rm_cmd in ((["ps", "-aq"], ["rm", "-f", "-v"]), (["network", "ls", "-q"], ["network", "rm"])):
        ids = docker(*ls_cmd, "--filter", f"label={LABEL}", check=False).stdout.split()
        if ids:
            docker(*rm_cmd, *ids, check=False)


@pytest.fixture(scope="module")
def repos(tmp_path_factory) -> dict:
    """The fixture repositories, made afresh, with their pinned commits."""
    out = tmp_path_factory.mktemp("upstream")
    subprocess.run([str(MAKE_REPOS), str(out)], check=True, capture_output=True, text=True, timeout=60)
    shas = dict(line.split("=", 1) for line in (out / "shas.env").read_text().split())
    return {"dir": out, "shas": shas}


def export_tree(repo: Path, sha: str, dest: Path, *paths: str) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", sha, *paths], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


@pytest.fixture(scope="module")
def stack(request, repos, tmp_path_factory) -> dict:
    res = Resources(tmp_path_factory.mktemp("stack"))
    request.addfinalizer(res.cleanup)
    shas, up = repos["shas"], repos["dir"]

    # The CTFd image as the ctfd_image role builds it: plugin and theme at
    # their pinned commits copied into the package directory.
    ctx = tmp_path_factory.mktemp("ctfd-image")
    export_tree(up / "llm_verification", shas["LLM_VERIFICATION_SHA"], ctx / "llm_verification")
    export_tree(up / "aiv_ctfd_theme", shas["AIV_CTFD_THEME_SHA"], ctx / "theme")
    (ctx / "Dockerfile").write_text(
        f"FROM {CTFD_IMAGE}\n"
        "COPY --chown=1001:1001 llm_verification /opt/CTFd/CTFd/plugins/llm_verification\n"
        "COPY --chown=1001:1001 theme/aiv-beta /opt/CTFd/CTFd/themes/aiv-beta\n")
    image = f"grt-standins-{RUN_ID}-ctfd:test"
    res.images.append(image)
    docker("build", "-q", "--label", LABEL, "-t", image, str(ctx), timeout=300)

    models = export_tree(up / "llm_router", shas["LLM_ROUTER_SHA"], tmp_path_factory.mktemp("router"), "models")
    for path in [models, *models.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    net = res.network("net")
    db = res.run("mariadb", MARIADB_IMAGE, "--character-set-server=utf8mb4", "--skip-name-resolve",
                 "--collation-server=utf8mb4_unicode_ci", opts=(
                     "--network", net, "-e", "MARIADB_ROOT_PASSWORD=" + DB_PASSWORD, "-e", "MARIADB_DATABASE=ctfd",
                     "-e", "MARIADB_USER=ctfd", "-e", "MARIADB_PASSWORD=" + DB_PASSWORD,
                     "-e", "MARIADB_INITDB_SKIP_TZINFO=1"))
    cache = res.run("redis", REDIS_IMAGE, opts=("--network", net))
    vendor = res.run("vendor", VENDOR_IMAGE, opts=("--network", net, "-p", "127.0.0.1::8080"))
    router = res.run("router", ROUTER_IMAGE, opts=(
        "--network", net, "--network-alias", "llm-router", "-p", "127.0.0.1::8000",
        "-v", f"{models / 'models'}:/opt/models:ro", "-e", f"REDIS_URL=redis://{cache}:6379/1",
        "-e", f"OPENAI_API_TOKEN={OPENAI_KEY}", "-e", f"GRT_STANDIN_OPENAI_BASE_URL=http://{vendor}:8080/v1"))
    router_url = f"http://127.0.0.1:{host_port(router, 8000)}"
    vendor_url = f"http://127.0.0.1:{host_port(vendor, 8080)}"
    ctfd_env = {
        "DATABASE_URL": f"mysql+pymysql://ctfd:{DB_PASSWORD}@{db}/ctfd",
        "REDIS_URL": f"redis://{cache}:6379",
        "LLMV_ROUTER_URL": "http://llm-router:8000",
        "LLMV_ROUTER_TOKEN": ROUTER_TOKEN,
        "LOG_FOLDER": "/var/log/CTFd",
        "UPLOAD_FOLDER": "/var/uploads",
        "REVERSE_PROXY": "true",
        "SECRET_KEY": "secret-" + RUN_ID,
        "WORKERS": "2",
    }
    env_opts = tuple(x for k, v in ctfd_env.items() for x in ("-e", f"{k}={v}"))
    ctfd = res.run("ctfd", image, opts=("--network", net, "-p", "127.0.0.1::8000", *env_opts))
    base = f"http://127.0.0.1:{host_port(ctfd, 8000)}"
    wait_until(lambda: Client(base).get("/healthcheck").status == 200 if is_running(ctfd) else False,
               "CTFd /healthcheck", container=ctfd)
    ctfd_ip = docker("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}",
                     ctfd).stdout.strip()
    return {"res": res, "net": net, "image": image, "db": db, "cache": cache, "vendor": vendor, "ctfd_ip": ctfd_ip,
            "router": router, "ctfd": ctfd, "base": base, "router_url": router_url,
            "vendor_url": vendor_url, "env": ctfd_env}


def run_to_exit(stack: dict, purpose: str, env: dict, extra: tuple[str, ...] = ()) -> tuple[int, str]:
    """Start a CTFd container next to the stack; wait for it to stop."""
    name = stack["res"].run(purpose, stack["image"], opts=(
        "--network", stack["net"], *(x for k, v in env.items() for x in ("-e", f"{k}={v}")), *extra))
    wait_until(lambda: not is_running(name), f"{purpose} to exit", timeout=60)
    code = int(docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip())
    return code, logs(name)


@pytest.fixture(scope="module")
def setup_flow(stack) -> dict:
    """Runs CTFd's first-run setup through HTTP, recording each step."""
    c = Client(stack["base"])
    seen = {
        "root_before": c.get("/"),
        "health_before": c.get("/healthcheck"),
        "theme_file_before": c.get("/themes/core/static/css/core.css"),
        "login_before": c.get("/login"),
    }
    page = c.get("/setup")
    seen["setup_get"] = page
    nonce = page.nonce()
    fields = {
        "ctf_name": "GRT Test CTF", "ctf_description": "stand-in test", "user_mode": "users",
        "challenge_visibility": "private", "account_visibility": "public", "score_visibility": "public",
        "registration_visibility": "public", "verify_emails": "false", "team_size": "",
        "ctf_theme": "core", "theme_color": "", "start": "", "end": "",
        "name": "admin", "email": "admin@example.org", "password": "admin-pw-" + RUN_ID,
    }
    seen["wrong_nonce"] = c.form("/setup", {**fields, "nonce": "0" * 64})
    seen["no_nonce"] = c.form("/setup", fields)
    seen["invalid"] = c.form("/setup", {**fields, "email": "not-an-email", "nonce": nonce})
    seen["done"] = c.form("/setup", {**fields, "nonce": nonce})
    seen["setup_after"] = c.get("/setup")
    seen["setup_nonce"] = nonce
    seen["client"] = c
    seen["password"] = fields["password"]
    return seen


@pytest.fixture(scope="module")
def admin(stack, setup_flow) -> Client:
    return setup_flow["client"]


def register(stack, name: str) -> Client:
    c = Client(stack["base"])
    nonce = c.get("/register").nonce()
    resp = c.form("/register", {"name": name, "email": f"{name}@example.org", "password": "pw-" + name,
                                "nonce": nonce})
    assert resp.status == 302, resp.text[:2000]
    return c


# --------------------------------------------------------------------------
# images and repositories


def test_ctfd_image_layout():
    cfg = json.loads(docker("image", "inspect", CTFD_IMAGE).stdout)[0]["Config"]
    assert cfg["User"] == "1001"
    assert cfg["Entrypoint"] == ["/opt/CTFd/docker-entrypoint.sh"]
    assert "8000/tcp" in cfg["ExposedPorts"]
    assert cfg["WorkingDir"] == "/opt/CTFd"
    assert any(e.startswith("PATH=/opt/venv/bin:") for e in cfg["Env"])
    out = docker("run", "--rm", "--entrypoint", "bash", CTFD_IMAGE, "-c",
                 "id -un; command -v python pip; stat -c '%u %n' /var/log/CTFd /var/uploads /opt/CTFd;"
                 " test -d /opt/CTFd/CTFd/plugins && test -d /opt/CTFd/CTFd/themes/core && echo dirs;"
                 " python -c 'import flask, pymysql, redis, requests; print(\"libs\")'").stdout.split("\n")
    assert out[0] == "ctfd"
    assert out[1:3] == ["/opt/venv/bin/python", "/opt/venv/bin/pip"]
    assert out[3:6] == ["1001 /var/log/CTFd", "1001 /var/uploads", "1001 /opt/CTFd"]
    assert out[6:8] == ["dirs", "libs"]


def test_router_image_layout_and_missing_models():
    cfg = json.loads(docker("image", "inspect", ROUTER_IMAGE).stdout)[0]["Config"]
    assert cfg["Entrypoint"] == ["llm_router"]
    assert cfg.get("User", "") in ("", "root", "0")
    out = docker("run", "--rm", "--entrypoint", "bash", ROUTER_IMAGE, "-c",
                 "id -u; command -v curl; grep -o bookworm /etc/os-release | head -1").stdout.split()
    assert out == ["0", "/usr/bin/curl", "bookworm"]
    # Like upstream, no models in the image: without MODEL_DIR/chat it cannot start.
    proc = docker("run", "--rm", "--label", LABEL, ROUTER_IMAGE, check=False, timeout=60)
    assert proc.returncode == 1
    assert "Failed to read directory" in proc.stderr


def test_fixture_repos_are_deterministic_and_pinned(repos, tmp_path):
    again = tmp_path / "again"
    subprocess.run([str(MAKE_REPOS), str(again)], check=True, capture_output=True, timeout=60)
    assert (again / "shas.env").read_text() == (repos["dir"] / "shas.env").read_text()
    shas = repos["shas"]
    assert set(shas) == {f"{r}_{k}" for r in ("LLM_VERIFICATION", "AIV_CTFD_THEME", "LLM_ROUTER")
                         for k in ("SHA", "HEAD_SHA")} | {"LLM_VERIFICATION_MIGRATE_SHA", "LLM_VERIFICATION_CRASH_SHA"}

    def show(repo, ref, path):
        return subprocess.run(["git", "-C", str(repos["dir"] / repo), "show", f"{ref}:{path}"],
                              capture_output=True, text=True, check=True).stdout

    routes = show("llm_verification", shas["LLM_VERIFICATION_SHA"], "llmv_routes.py")
    assert DEFECT_LINE in routes.split("\n")
    files = subprocess.run(["git", "-C", str(repos["dir"] / "llm_verification"), "ls-tree", "-r", "--name-only",
                            shas["LLM_VERIFICATION_SHA"]], capture_output=True, text=True, check=True).stdout.split()
    assert "requirements.txt" not in files and "__init__.py" in files and "assets/view.js" in files
    theme = subprocess.run(["git", "-C", str(repos["dir"] / "aiv_ctfd_theme"), "ls-tree", "-r", "-l",
                            shas["AIV_CTFD_THEME_SHA"]], capture_output=True, text=True, check=True).stdout
    for path in ("aiv-beta/templates/page.html", "aiv-beta/static/assets/index.js", "aiv-beta/static/assets/main.css",
                 "aiv-beta/static/fonts/x.woff2", "aiv-beta/static/img/logo.png", "pages/index.html"):
        assert path in theme
    assert "GRT-FIXTURE-INDEX-PAGE" in show("aiv_ctfd_theme", shas["AIV_CTFD_THEME_SHA"], "pages/index.html")
    dockerfile = show("llm_router", shas["LLM_ROUTER_SHA"], "dockerfiles/Dockerfile")
    assert "FROM aivillage/llm_router:dev" in dockerfile
    assert "pinned commit" in show("llm_router", shas["LLM_ROUTER_SHA"], "FIXTURE_BUILD")
    # The head is one commit past the pin, marked as such.
    assert "NEWER_THAN_PIN" not in files
    show("llm_verification", shas["LLM_VERIFICATION_HEAD_SHA"], "NEWER_THAN_PIN")
    # The upgrade branch: the pin, then a schema migration, then a crash at load.
    log = subprocess.run(["git", "-C", str(repos["dir"] / "llm_verification"), "rev-list", "--parents", "-n", "2",
                          shas["LLM_VERIFICATION_CRASH_SHA"]], capture_output=True, text=True, check=True).stdout.split()
    assert log == [shas["LLM_VERIFICATION_CRASH_SHA"], shas["LLM_VERIFICATION_MIGRATE_SHA"],
                   shas["LLM_VERIFICATION_MIGRATE_SHA"], shas["LLM_VERIFICATION_SHA"]]
    assert "ADD COLUMN" in show("llm_verification", shas["LLM_VERIFICATION_MIGRATE_SHA"], "llmv_models.py")
    assert "raise RuntimeError" not in show("llm_verification", shas["LLM_VERIFICATION_MIGRATE_SHA"], "__init__.py")
    assert "raise RuntimeError" in show("llm_verification", shas["LLM_VERIFICATION_CRASH_SHA"], "__init__.py")


def test_ctfd_refuses_workers_without_secret_key(stack):
    env = {k: v for k, v in stack["env"].items() if k != "SECRET_KEY"}
    code, out = run_to_exit(stack, "workers-nosecret", {**env, "WORKERS": "3"})
    assert code == 1
    assert "SECRET_KEY" in out


# --------------------------------------------------------------------------
# CTFd start-up with the llm_verification plugin


def test_ctfd_start_failures(stack):
    """Each of these stops CTFd with exit 1 (started together: faster)."""
    env = stack["env"]
    cases = {
        "no-url": ({k: v for k, v in env.items() if k != "LLMV_ROUTER_URL"}, (),
                   "LLM Verification Router URL is not set"),
        "no-token": ({k: v for k, v in env.items() if k != "LLMV_ROUTER_TOKEN"}, (),
                     "LLM Verification Router token is not set"),
        "router-down": ({**env, "LLMV_ROUTER_URL": "http://no-such-router.invalid:8000"}, (), "ConnectionError"),
        # Something answers, but not /chat/models (the vendor 404s it).
        "models-404": ({**env, "LLMV_ROUTER_URL": f"http://{stack['vendor']}:8080"}, (), "/chat/models"),
        # LOG_FOLDER not writable by uid 1001: the plugin's log file fails.
        "log-ro": (env, ("--tmpfs", "/var/log/CTFd:mode=0755,uid=0"), "PermissionError"),
    }
    names = {}
    for case, (case_env, extra, _) in cases.items():
        names[case] = stack["res"].run("fail-" + case, stack["image"], opts=(
            "--network", stack["net"], *(x for k, v in case_env.items() for x in ("-e", f"{k}={v}")), *extra))
    for case, (_, _, needle) in cases.items():
        name = names[case]
        wait_until(lambda: not is_running(name), f"{case}: CTFd to stop", timeout=60)
        code = int(docker("inspect", "-f", "{{.State.ExitCode}}", name).stdout.strip())
        out = logs(name)
        assert code == 1, f"{case}: exit code {code}\n{out[-3000:]}"
        assert needle in out, f"{case}: {needle!r} not in output\n{out[-3000:]}"
        assert "Starting CTFd" not in out, case  # stopped at the "db upgrade" step


def test_ctfd_runs_as_1001_and_writes_plugin_log(stack):
    out = docker("exec", stack["ctfd"], "sh", "-c",
                 "id -u; stat -c %u /proc/1; stat -c '%u %s' /var/log/CTFd/llmv_verification.log;"
                 " cat /proc/1/cmdline | tr '\\0' ' '").stdout.split("\n")
    assert out[0] == "1001" and out[1] == "1001"
    owner, size = out[2].split()
    assert owner == "1001" and int(size) > 0
    assert "gunicorn" in out[3] and "0.0.0.0:8000" in out[3] and "--workers 2" in out[3]
    # Every worker created the app, so every worker asked the router for models.
    router_log = logs(stack["router"])
    assert router_log.count("GET /chat/models") >= 3  # db upgrade + 2 workers


# --------------------------------------------------------------------------
# CTFd HTTP contract


def test_setup_redirects_before_setup(setup_flow):
    assert setup_flow["root_before"].status == 302
    assert setup_flow["root_before"].location.endswith("/setup")
    assert setup_flow["login_before"].status == 302
    assert setup_flow["health_before"].status == 200 and setup_flow["health_before"].text == "OK"
    assert setup_flow["theme_file_before"].status == 200


def test_setup_page_carries_the_session_nonce(setup_flow):
    page = setup_flow["setup_get"]
    assert page.status == 200
    nonce = page.nonce()
    assert re.fullmatch(r"[0-9a-f]{64}", nonce)
    assert HIDDEN_NONCE_RE.search(page.text).group(1) == nonce
    for field in ("ctf_name", "ctf_theme", "user_mode", "challenge_visibility", "name", "email", "password"):
        assert f'name="{field}"' in page.text


def test_setup_post_checks_nonce_and_input(setup_flow):
    assert setup_flow["wrong_nonce"].status == 403
    assert setup_flow["no_nonce"].status == 403
    invalid = setup_flow["invalid"]
    assert invalid.status == 200 and "Please enter a valid email address" in invalid.text
    base = setup_flow["client"].base
    done = setup_flow["done"]
    assert done.status == 302 and done.location in ("/", base + "/")
    after = setup_flow["setup_after"]
    assert after.status == 302 and after.location in ("/", base + "/")


def test_setup_result(stack, admin, setup_flow):
    # Logged in as the new admin, with a nonce regenerated at login.
    page = admin.get("/admin/pages")
    assert page.status == 200
    assert page.nonce() != setup_flow["setup_nonce"]
    index = admin.get("/")
    assert index.status == 200 and "<title>GRT Test CTF</title>" in index.text
    pages = admin.api("GET", "/api/v1/pages?route=index")
    assert pages.status == 200
    data = pages.json()["data"]
    assert len(data) == 1 and data[0]["route"] == "index" and data[0]["title"] == "GRT Test CTF"
    assert "content" not in data[0] and data[0]["draft"] is False
    theme = admin.api("GET", "/api/v1/configs/ctf_theme").json()
    assert theme == {"success": True, "data": {"id": theme["data"]["id"], "key": "ctf_theme", "value": "core"}}
    # Written to MariaDB and the session to Redis.
    rows = docker("exec", "-e", f"MYSQL_PWD={DB_PASSWORD}", stack["db"], "mariadb", "-uctfd", "ctfd", "-B", "-N", "-e",
                  "SELECT name, type FROM users; SELECT value FROM config WHERE `key`='setup'").stdout.split("\n")
    assert rows[:2] == ["admin\tadmin", "1"]
    keys = docker("exec", stack["cache"], "redis-cli", "--scan", "--pattern", "*session*").stdout.split()
    assert keys, "no session in Redis"
    assert any(c.name == "session" for c in admin.jar)


def test_healthcheck_after_setup(stack):
    resp = Client(stack["base"]).get("/healthcheck")
    assert (resp.status, resp.text) == (200, "OK")


def test_login(stack, setup_flow):
    c = Client(stack["base"])
    nonce = c.get("/login").nonce()
    assert HIDDEN_NONCE_RE.search(c.get("/login").text).group(1) == nonce
    bad = c.form("/login", {"name": "admin", "password": "wrong", "nonce": nonce})
    assert bad.status == 200 and "Your username or password is incorrect" in bad.text
    ok = c.form("/login", {"name": "admin@example.org", "password": setup_flow["password"], "nonce": nonce})
    assert ok.status == 302
    assert c.get("/admin/pages").nonce() != nonce  # new nonce at login
    assert Client(stack["base"]).get("/admin/pages").status == 302  # anonymous: to /login


def test_api_csrf_pages_configs(admin):
    nonce = admin.get("/admin/pages").nonce()
    page_id = admin.api("GET", "/api/v1/pages?route=index").json()["data"][0]["id"]
    body = {"content": "<p>{ctf_name} stand-in index</p>", "format": "html"}
    assert admin.api("PATCH", f"/api/v1/pages/{page_id}", body).status == 403  # no CSRF-Token
    assert admin.api("PATCH", f"/api/v1/pages/{page_id}", body, nonce="f" * 64).status == 403
    resp = admin.api("PATCH", f"/api/v1/pages/{page_id}", body, nonce=nonce)
    assert resp.status == 200
    data = resp.json()["data"]
    assert data["content"] == body["content"] and data["format"] == "html" and data["route"] == "index"
    assert admin.get("/").text.count("<p>GRT Test CTF stand-in index</p>") == 1

    created = admin.api("POST", "/api/v1/pages", {"title": "Rules", "route": "/rules", "content": "# Rules",
                                                   "draft": False}, nonce=nonce)
    assert created.status == 200 and created.json()["data"]["route"] == "rules"
    assert "<h1>Rules</h1>" in admin.get("/rules").text  # markdown by default

    resp = admin.api("PATCH", "/api/v1/configs/ctf_theme", {"value": "aiv-beta"}, nonce=nonce)
    assert resp.status == 200 and resp.json()["data"]["value"] == "aiv-beta"
    index = admin.get("/")
    assert 'data-theme="aiv-beta"' in index.text and "/themes/aiv-beta/static/assets/main.css" in index.text
    assert admin.get("/themes/aiv-beta/static/assets/index.js").status == 200
    assert admin.get("/plugins/llm_verification/assets/view.js").status == 200
    assert admin.api("PATCH", "/api/v1/configs/ctf_theme", {"value": "core"}, nonce=nonce).status == 200


def test_api_file_upload(admin):
    nonce = admin.get("/admin/pages").nonce()
    content = b"\x89PNG fake logo " + RUN_ID.encode()
    assert admin.multipart("/api/v1/files", {}, {"file": ("logo.png", content)}).status == 403  # no nonce
    resp = admin.multipart("/api/v1/files", {"nonce": nonce}, {"file": ("logo.png", content)})
    assert resp.status == 200, resp.text[:1000]
    body = resp.json()
    assert body["success"] is True and len(body["data"]) == 1
    item = body["data"][0]
    assert set(item) == {"id", "type", "location", "sha1sum"} and item["type"] == "standard"
    assert re.fullmatch(r"[0-9a-f]{32}/logo\.png", item["location"])
    served = Client(admin.base).get("/files/" + item["location"])
    assert served.status == 200 and served.body == content


def test_api_token_auth_skips_csrf(stack, admin):
    nonce = admin.get("/admin/pages").nonce()
    created = admin.api("POST", "/api/v1/tokens", {"description": "automation"}, nonce=nonce)
    assert created.status == 200
    value = created.json()["data"]["value"]
    assert value.startswith("ctfd_")
    bot = Client(stack["base"])
    auth = {"Authorization": f"Token {value}"}
    got = bot.api("GET", "/api/v1/configs/ctf_name", headers=auth)
    assert got.status == 200 and got.json()["data"]["value"] == "GRT Test CTF"
    # No CSRF-Token needed with an Authorization header.
    patched = bot.api("PATCH", "/api/v1/configs/grt_probe", {"value": "from-token"}, headers=auth)
    assert patched.status == 200 and patched.json()["data"]["value"] == "from-token"
    assert bot.api("GET", "/api/v1/configs/ctf_name", headers={"Authorization": "Token ctfd_nope"}).status == 401
    # The image's CLI reads the same configuration.
    out = docker("exec", stack["ctfd"], "python", "manage.py", "get_config", "grt_probe").stdout
    assert out.strip().split("\n")[-1] == "from-token"


def test_events_ping(stack, admin):
    host, port = stack["base"].split("//")[1].split(":")
    anon = http.client.HTTPConnection(host, int(port), timeout=5)
    anon.request("GET", "/events", headers={"Accept": "text/event-stream"})
    assert anon.getresponse().status == 403
    anon.close()

    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    started = time.monotonic()
    conn.request("GET", "/events", headers={"Cookie": admin.cookie_header(), "Accept": "text/event-stream"})
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type").startswith("text/event-stream")
    first = [resp.readline() for _ in range(3)]
    assert time.monotonic() - started < 1.0
    assert first == [b"event:ping\n", b"data:ping\n", b"\n"]
    second = [resp.readline() for _ in range(3)]
    elapsed = time.monotonic() - started
    assert second == first and 4.0 < elapsed < 7.5
    conn.close()


def test_reverse_proxy_headers(stack):
    resp = Client(stack["base"]).get("/_standin/request", headers={
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "ctf.example.org", "X-Forwarded-Port": "443"})
    seen = resp.json()
    assert seen["remote_addr"] == "203.0.113.7"
    assert seen["scheme"] == "https"
    assert seen["url_root"] == "https://ctf.example.org/"
    assert seen["ip"] == "203.0.113.7"


@pytest.fixture(scope="module")
def challenge_id(admin) -> int:
    nonce = admin.get("/admin/pages").nonce()
    challenge = admin.api("POST", "/api/v1/challenges", {
        "name": "jailbreak", "category": "grt", "description": "d", "value": 100,
        "type": "llm_verification", "preprompt": "You are careful.", "chat_limit": 3}, nonce=nonce)
    assert challenge.status == 200
    data = challenge.json()["data"]
    assert data["type"] == "llm_verification" and data["preprompt"] == "You are careful."
    return data["id"]


@pytest.fixture(scope="module")
def player(stack, admin) -> Client:
    return register(stack, "player" + RUN_ID[:6])


def test_generate_forbidden_for_non_admin_with_unfixed_plugin(stack, admin, challenge_id, player):
    cid = challenge_id
    http_json("DELETE", stack["vendor_url"] + "/_calls")
    user = player
    resp = user.api("POST", "/generate", {"challenge_id": cid, "prompt": "hello model"})  # no CSRF needed
    assert resp.status == 403
    assert "You are not authorized to view this page." in resp.text
    # The router (and the vendor behind it) answered before the check refused.
    calls = http_json("GET", stack["vendor_url"] + "/_calls")
    assert len(calls) == 1
    assert calls[0]["body"]["messages"][-1] == {"role": "user", "content": "hello model"}
    assert calls[0]["body"]["messages"][0] == {"role": "system", "content": "You are careful."}

    # The admin passes the defective check for an own generation.
    ok = admin.api("POST", "/generate", {"challenge_id": cid, "prompt": "admin prompt"})
    assert ok.status == 200
    data = ok.json()
    assert data["success"] is True
    assert data["data"]["text"] == "fake-vendor reply to: admin prompt"
    assert "admin prompt" in data["data"]["fragment"] and isinstance(data["data"]["id"], int)
    # Anonymous JSON requests are refused.
    assert Client(stack["base"]).api("POST", "/generate", {"challenge_id": cid, "prompt": "x"}).status == 403


def test_generate_works_once_the_check_is_fixed(stack, challenge_id, player):
    """The role's fix (`or` -> `and` in that line) applies to the fixture."""
    ctx_dir = Path(stack["res"].tmp) / "fixed"
    ctx_dir.mkdir()
    plugin = "/opt/CTFd/CTFd/plugins/llm_verification/llmv_routes.py"
    (ctx_dir / "Dockerfile").write_text(
        f"FROM {stack['image']}\n"
        f"RUN sed -i -E 's/^( +if generation\\.account_id != get_current_user\\(\\)\\.id) or (not is_admin\\(\\):)$/\\1 and \\2/' {plugin}"
        f" && grep -q 'id and not is_admin():' {plugin}\n")
    image = f"grt-standins-{RUN_ID}-ctfd-fixed:test"
    stack["res"].images.append(image)
    docker("build", "-q", "--label", LABEL, "-t", image, str(ctx_dir), timeout=300)
    env = {**stack["env"], "WORKERS": "1"}
    name = stack["res"].run("ctfd-fixed", image, opts=(
        "--network", stack["net"], "-p", "127.0.0.1::8000", *(x for k, v in env.items() for x in ("-e", f"{k}={v}"))))
    base = f"http://127.0.0.1:{host_port(name, 8000)}"
    wait_until(lambda: Client(base).get("/healthcheck").status == 200, "fixed CTFd", container=name)
    # Same database, Redis and SECRET_KEY: the player's session is valid here too.
    fixed = Client(base)
    fixed.jar = player.jar
    fixed.opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(player.jar), _NoRedirect())
    resp = fixed.api("POST", "/generate", {"challenge_id": challenge_id, "prompt": "after the fix"})
    assert resp.status == 200, resp.text[:2000]
    data = resp.json()
    assert data["success"] is True and data["data"]["text"] == "fake-vendor reply to: after the fix"
    # A later turn of the same conversation carries the history.
    turn = fixed.api("POST", "/generate", {"challenge_id": challenge_id, "prompt": "second turn",
                                           "generation_id": data["data"]["id"]})
    assert turn.status == 200 and turn.json()["data"]["id"] == data["data"]["id"]
    calls = http_json("GET", stack["vendor_url"] + "/_calls")
    assert [m["content"] for m in calls[-1]["body"]["messages"]] == [
        "You are careful.", "after the fix", "fake-vendor reply to: after the fix", "second turn"]


def test_users_api_as_ctfd(stack, admin):
    nonce = admin.get("/admin/pages").nonce()
    made = admin.api("POST", "/api/v1/users", {"name": "laptop-x", "email": "laptop-x@example.org",
                                               "password": "pw-laptop-x", "verified": True}, nonce=nonce)
    assert made.status == 200, made.text[:500]
    data = made.json()["data"]
    assert data["name"] == "laptop-x" and data["email"] == "laptop-x@example.org" and data["verified"] is True
    assert "password" not in data
    again = admin.api("POST", "/api/v1/users", {"name": "laptop-x", "email": "laptop-x@example.org",
                                                "password": "x"}, nonce=nonce)
    assert again.status == 400 and again.json()["errors"] == {
        "name": ["User name has already been taken"], "email": ["Email address has already been used"]}
    listed = admin.api("GET", "/api/v1/users?view=admin&field=name&q=laptop-x").json()
    assert [u["name"] for u in listed["data"]] == ["laptop-x"] and "email" not in listed["data"][0]
    assert listed["meta"]["pagination"]["next"] is None
    # The account logs in with its password, like one registered through the form.
    c = Client(stack["base"])
    ok = c.form("/login", {"name": "laptop-x", "password": "pw-laptop-x", "nonce": c.get("/login").nonce()})
    assert ok.status == 302
    assert Client(stack["base"]).api("POST", "/api/v1/users", {"name": "n", "email": "n@example.org"}).status in (
        302, 403)


def mariadb_root(stack: dict, sql: str) -> str:
    return docker("exec", "-e", f"MYSQL_PWD={DB_PASSWORD}", stack["db"], "mariadb", "-uroot", "-B", "-N",
                  "-e", sql).stdout.strip()


def test_passwords_hashed_as_ctfd(stack, admin, player):
    """passlib's bcrypt_sha256 at cost 12, as CTFd/utils/crypto (the cost a registration storm pays)."""
    stored = mariadb_root(stack, "SELECT password FROM ctfd.users ORDER BY id").split("\n")
    assert len(stored) >= 2
    for value in stored:
        assert re.fullmatch(r"\$bcrypt-sha256\$v=2,t=2b,r=12\$[./A-Za-z0-9]{22}\$[./A-Za-z0-9]{31}", value), value


def test_database_pool_per_worker_as_ctfd(stack, admin, challenge_id):
    """Each worker keeps up to 5 connections open between requests and opens more (overflow) under
    load; a database that refuses them (1040) turns ordinary requests into 500s, as with the real CTFd."""
    def chat(i):
        return admin.api("POST", "/generate", {"challenge_id": challenge_id, "prompt": f"pool {i}"}).status

    def ctfd_connections():
        return int(mariadb_root(stack, f"SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                       f"WHERE USER='ctfd' AND HOST LIKE '{stack['ctfd_ip']}:%'"))

    http_json("PUT", stack["vendor_url"] + "/_config", {"delay": 1})  # a chat holds its connection 1 s
    try:
        with ThreadPoolExecutor(12) as pool:
            assert list(pool.map(chat, range(12))) == [200] * 12
        kept = ctfd_connections()
        assert 1 <= kept <= 2 * 5, kept  # 2 workers x pool size 5 stay open; the overflow was closed
        others = int(mariadb_root(stack, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                         "WHERE USER<>'system user'")) - 1
        mariadb_root(stack, f"SET GLOBAL max_connections={max(others, 10)}")
        with ThreadPoolExecutor(24) as pool:
            statuses = list(pool.map(chat, range(24)))
        assert 500 in statuses and 200 in statuses, statuses
        assert "1040" in logs(stack["ctfd"]) and "Too many connections" in logs(stack["ctfd"])
    finally:
        mariadb_root(stack, "SET GLOBAL max_connections=151")
        http_json("PUT", stack["vendor_url"] + "/_config", {"delay": 0})
    with ThreadPoolExecutor(12) as pool:
        assert list(pool.map(chat, range(12))) == [200] * 12


# --------------------------------------------------------------------------
# router stand-in and fake vendor


def test_router_health_and_models(stack):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(stack["router_url"] + "/health", timeout=5) as resp:
        assert resp.read() == b"Ok"
    assert http_json("GET", stack["router_url"] + "/chat/models") == {"models": ["gpt-fake", "mock_model"]}


def test_router_caches_by_uuid_and_forwards_key(stack):
    url = stack["router_url"] + "/chat/generate"
    http_json("DELETE", stack["vendor_url"] + "/_calls")
    key = str(uuid.uuid4())
    request = {"uuid": key, "model": "gpt-fake", "system": "sys", "prompt": "first", "history": [
        {"prompt": "p0", "generation": "g0"}]}
    # The Authorization header is ignored (no auth in the router).
    status, body = json_post(url, request, {"Authorization": "Bearer anything"})
    assert (status, body) == (200, {"generation": "fake-vendor reply to: first", "uuid": key})
    status, again = json_post(url, {**request, "prompt": "second"})
    assert (status, again) == (200, body)  # same uuid: cached answer, whatever the prompt
    calls = http_json("GET", stack["vendor_url"] + "/_calls")
    assert len(calls) == 1
    assert calls[0]["authorization"] == f"Bearer {OPENAI_KEY}"
    sent = calls[0]["body"]
    assert sent["model"] == "gpt-fake-0001" and sent["max_tokens"] == 100 and sent["temperature"] == 0.9
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    stored = docker("exec", stack["cache"], "redis-cli", "-n", "1", "GET", key).stdout.strip()
    assert stored == "OK:fake-vendor reply to: first"
    ttl = int(docker("exec", stack["cache"], "redis-cli", "-n", "1", "TTL", key).stdout.strip())
    assert 3500 < ttl <= 3600


def test_router_caches_errors(stack):
    url = stack["router_url"] + "/chat/generate"
    http_json("DELETE", stack["vendor_url"] + "/_calls")
    key = str(uuid.uuid4())
    http_json("PUT", stack["vendor_url"] + "/_config", {"status": 503})
    try:
        first = json_post(url, {"uuid": key, "model": "gpt-fake", "prompt": "x", "history": []})
    finally:
        http_json("PUT", stack["vendor_url"] + "/_config", {"status": 200})
    assert first == (500, {"error": "Upstream model error"})
    second = json_post(url, {"uuid": key, "model": "gpt-fake", "prompt": "x", "history": []})
    assert second == first  # cached error, the vendor is not asked again
    assert len(http_json("GET", stack["vendor_url"] + "/_calls")) == 1
    stored = docker("exec", stack["cache"], "redis-cli", "-n", "1", "GET", key).stdout.strip()
    assert stored == 'ERR:"UpstreamModelError"'

    other = str(uuid.uuid4())
    assert json_post(url, {"uuid": other, "model": "mock_model", "prompt": "error", "history": []}) == \
        (500, {"error": "Other error"})
    assert json_post(url, {"uuid": other, "model": "mock_model", "prompt": "fine", "history": []}) == \
        (500, {"error": "Other error"})
    assert json_post(url, {"uuid": str(uuid.uuid4()), "model": "nope", "prompt": "x", "history": []}) == \
        (404, {"error": "Model not found"})
    assert json_post(url, {"uuid": str(uuid.uuid4()), "model": "mock_model", "prompt": "prompt_too_long"}) == \
        (422, {"error": "Prompt too long"})
    ok = json_post(url, {"uuid": str(uuid.uuid4()), "model": "mock_model", "prompt": "hi", "history": []})
    assert ok[0] == 200 and ok[1]["generation"] == "response: 0, This is a valid response from the mock model"


def test_router_missing_key_and_overlapping_requests(stack):
    # Keys are read per request: without OPENAI_API_TOKEN an openai model fails.
    name = stack["res"].run("router-nokey", ROUTER_IMAGE, opts=(
        "--network", stack["net"], "-p", "127.0.0.1::8000",
        "--volumes-from", f"{stack['router']}:ro",
        "-e", f"GRT_STANDIN_OPENAI_BASE_URL=http://{stack['vendor']}:8080/v1"))
    url = f"http://127.0.0.1:{host_port(name, 8000)}"
    wait_until(lambda: "listening" in logs(name), "router without key", container=name, timeout=30)
    assert json_post(url + "/chat/generate", {"uuid": "u1", "model": "gpt-fake", "prompt": "x"}) == \
        (500, {"error": "Other error"})

    # No lock while a call is in flight: two overlapping requests with one
    # uuid both reach the vendor; the vendor's delay shows the threads overlap.
    import concurrent.futures

    http_json("DELETE", stack["vendor_url"] + "/_calls")
    http_json("PUT", stack["vendor_url"] + "/_config", {"delay": 1.5})
    key = str(uuid.uuid4())
    started = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: json_post(stack["router_url"] + "/chat/generate", {
                "uuid": key, "model": "gpt-fake", "prompt": "slow", "history": []}), range(2)))
    finally:
        http_json("PUT", stack["vendor_url"] + "/_config", {"delay": 0})
    assert time.monotonic() - started < 2.9
    assert [r[0] for r in results] == [200, 200]
    assert len(http_json("GET", stack["vendor_url"] + "/_calls")) == 2


def test_fake_vendor_delay_header(stack):
    started = time.monotonic()
    status, body = json_post(stack["vendor_url"] + "/v1/chat/completions",
                             {"model": "m", "messages": [{"role": "user", "content": "hi"}]},
                             {"X-Fake-Delay": "1", "Authorization": "Bearer direct"})
    assert status == 200 and time.monotonic() - started >= 1.0
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "fake-vendor reply to: hi"}
    assert http_json("GET", stack["vendor_url"] + "/_calls")[-1]["authorization"] == "Bearer direct"


# --------------------------------------------------------------------------
# CTFd challenge API contract (what ctfcli and the plugin's flow use)

BASE_READ_KEYS = {"id", "name", "value", "description", "attribution", "connection_info", "next_id", "category",
                  "state", "max_attempts", "position", "logic", "initial", "decay", "minimum", "function", "type",
                  "type_data"}
LLM_READ_KEYS = {"id", "name", "value", "description", "preprompt", "chat_limit", "connection_info", "next_id",
                 "category", "state", "max_attempts", "type", "type_data"}


def make_challenge(admin: Client, nonce: str, **fields) -> dict:
    body = {"name": "c-" + uuid.uuid4().hex[:8], "category": "grt", "description": "d", "value": 50, **fields}
    resp = admin.api("POST", "/api/v1/challenges", body, nonce=nonce)
    assert resp.status == 200, resp.text[:2000]
    return resp.json()["data"]


def test_challenge_crud_standard(admin):
    nonce = admin.get("/admin/pages").nonce()
    first = make_challenge(admin, nonce)
    made = make_challenge(admin, nonce, state="hidden", connection_info="nc host 1", attribution="grt",
                          position=3, max_attempts=2)
    assert set(made) == BASE_READ_KEYS
    assert made["type"] == "standard" and made["state"] == "hidden" and made["position"] == 3
    assert made["function"] == "static" and made["initial"] is None and made["logic"] == "any"
    assert made["type_data"]["templates"]["view"] == "/plugins/challenges/assets/view.html"
    # As CTFd: every key goes to the model (unknown -> 500), unknown type -> 500, schema errors -> 400.
    assert admin.api("POST", "/api/v1/challenges", {"name": "x", "bogus": 1}, nonce=nonce).status == 500
    assert admin.api("POST", "/api/v1/challenges", {"name": "x", "type": "nope"}, nonce=nonce).status == 500
    bad = admin.api("POST", "/api/v1/challenges", {"name": "x" * 81}, nonce=nonce)
    assert bad.status == 400
    assert bad.json()["errors"] == {"name": ["Challenge could not be saved. Challenge name too long"]}

    cid = made["id"]
    patch = {"requirements": {"prerequisites": [first["id"]], "anonymize": False}, "next_id": first["id"],
             "state": "visible", "value": 75, "not_a_column": "ignored"}
    patched = admin.api("PATCH", f"/api/v1/challenges/{cid}", patch, nonce=nonce)
    assert patched.status == 200, patched.text[:2000]
    data = patched.json()["data"]
    assert (data["next_id"], data["state"], data["value"]) == (first["id"], "visible", 75)
    req = admin.api("GET", f"/api/v1/challenges/{cid}/requirements").json()
    assert req == {"success": True, "data": {"prerequisites": [first["id"]], "anonymize": False}}
    bad = admin.api("PATCH", f"/api/v1/challenges/{cid}", {"requirements": {"prerequisites": [None]}}, nonce=nonce)
    assert bad.status == 400

    detail = admin.api("GET", f"/api/v1/challenges/{cid}?view=admin").json()["data"]
    assert BASE_READ_KEYS < set(detail)
    assert {"solves", "solved_by_me", "attempts", "files", "tags", "hints", "rating", "ratings", "solution_id",
            "solution_state", "view"} <= set(detail)
    assert (detail["files"], detail["tags"], detail["hints"], detail["attempts"]) == ([], [], [], 0)
    listed = {c["id"]: c for c in admin.api("GET", "/api/v1/challenges?view=admin").json()["data"]}
    assert set(listed[cid]) == {"id", "type", "name", "value", "position", "solves", "solved_by_me", "category",
                                "tags", "template", "script"}
    types = admin.api("GET", "/api/v1/challenges/types").json()["data"]
    assert {"standard", "llm_verification"} <= set(types) and "<" in types["standard"]["create"]

    assert admin.api("DELETE", f"/api/v1/challenges/{cid}", nonce=nonce).json() == {"success": True}
    assert admin.api("GET", f"/api/v1/challenges/{cid}").status == 404
    assert admin.api("DELETE", f"/api/v1/challenges/{first['id']}", nonce=nonce).status == 200


def test_llm_challenge_type_forces_visible_and_updates(admin):
    nonce = admin.get("/admin/pages").nonce()
    made = make_challenge(admin, nonce, type="llm_verification", state="hidden", preprompt="Be terse.",
                          chat_limit=4)
    assert set(made) == LLM_READ_KEYS
    assert made["state"] == "visible"  # the plugin's create overrides the state
    assert (made["preprompt"], made["chat_limit"]) == ("Be terse.", 4)
    assert made["type_data"]["scripts"]["view"] == "/plugins/llm_verification/assets/view.js"
    cid = made["id"]
    patched = admin.api("PATCH", f"/api/v1/challenges/{cid}", {"preprompt": "Be kind.", "chat_limit": 9,
                                                                "name": "renamed", "state": "hidden"}, nonce=nonce)
    assert patched.status == 200
    data = patched.json()["data"]
    assert (data["preprompt"], data["chat_limit"], data["name"], data["state"]) == ("Be kind.", 9, "renamed", "hidden")
    detail = admin.api("GET", f"/api/v1/challenges/{cid}").json()["data"]
    assert detail["preprompt"] == "Be kind." and 'data-chat-limit="9"' in detail["view"]
    assert admin.api("POST", "/api/v1/challenges", {"type": "llm_verification", "name": "x", "bogus": 1},
                     nonce=nonce).status == 500
    assert admin.api("DELETE", f"/api/v1/challenges/{cid}", nonce=nonce).status == 200
    assert admin.api("GET", f"/api/v1/challenges/{cid}").status == 404


def test_flags_tags_hints_round_trip(admin):
    nonce = admin.get("/admin/pages").nonce()
    cid = make_challenge(admin, nonce)["id"]
    flag = admin.api("POST", "/api/v1/flags", {"challenge": cid, "content": "  flag{a}  ", "type": "static",
                                               "data": "case_insensitive"}, nonce=nonce).json()["data"]
    assert flag == {"id": flag["id"], "challenge_id": cid, "challenge": cid, "type": "static",
                    "content": "flag{a}", "data": "case_insensitive"}
    got = admin.api("GET", f"/api/v1/flags/{flag['id']}").json()["data"]
    assert got["templates"]["create"] == "/plugins/flags/assets/static/create.html"
    patched = admin.api("PATCH", f"/api/v1/flags/{flag['id']}", {"content": " flag{b} ", "data": ""}, nonce=nonce)
    assert patched.json()["data"]["content"] == "flag{b}" and patched.json()["data"]["data"] == ""
    assert [f["id"] for f in admin.api("GET", f"/api/v1/flags?challenge_id={cid}").json()["data"]] == [flag["id"]]
    assert admin.api("GET", f"/api/v1/challenges/{cid}/flags").json()["data"][0]["content"] == "flag{b}"
    assert admin.api("DELETE", f"/api/v1/flags/{flag['id']}", nonce=nonce).json() == {"success": True}
    assert admin.api("GET", f"/api/v1/flags/{flag['id']}").status == 404

    tag = admin.api("POST", "/api/v1/tags", {"challenge_id": cid, "value": "web"}, nonce=nonce).json()["data"]
    assert tag == {"id": tag["id"], "challenge_id": cid, "challenge": cid, "value": "web"}
    renamed = admin.api("PATCH", f"/api/v1/tags/{tag['id']}", {"value": "pwn"}, nonce=nonce)
    assert renamed.json()["data"]["value"] == "pwn"
    assert admin.api("GET", f"/api/v1/challenges/{cid}/tags").json()["data"] == [
        {"id": tag["id"], "challenge_id": cid, "value": "pwn"}]
    assert admin.api("GET", f"/api/v1/challenges/{cid}").json()["data"]["tags"] == ["pwn"]

    hint = admin.api("POST", "/api/v1/hints", {"challenge": cid, "content": "look *here*", "cost": "5",
                                               "title": "H1"}, nonce=nonce).json()["data"]
    assert set(hint) == {"id", "title", "type", "challenge", "challenge_id", "content", "html", "cost",
                         "requirements"}
    assert (hint["cost"], hint["type"], hint["html"]) == (5, "standard", "<p>look <em>here</em></p>")
    hid = hint["id"]
    # Admins see the content only with ?preview, as CTFd.
    assert "content" not in admin.api("GET", f"/api/v1/hints/{hid}").json()["data"]
    assert admin.api("GET", f"/api/v1/hints/{hid}?preview=true").json()["data"]["content"] == "look *here*"
    assert set(admin.api("GET", "/api/v1/hints").json()["data"][-1]) == {"id", "title", "type", "challenge",
                                                                         "challenge_id", "cost"}
    patched = admin.api("PATCH", f"/api/v1/hints/{hid}", {"requirements": {"prerequisites": []}, "cost": 1},
                        nonce=nonce).json()["data"]
    assert patched["requirements"] == {"prerequisites": []} and patched["cost"] == 1
    assert admin.api("GET", f"/api/v1/challenges/{cid}/hints").json()["data"][0]["content"] == "look *here*"
    assert admin.api("GET", f"/api/v1/challenges/{cid}").json()["data"]["hints"] == [
        {"id": hid, "cost": 1, "title": "H1"}]
    assert admin.api("DELETE", f"/api/v1/hints/{hid}", nonce=nonce).status == 200
    # Deleting the challenge takes its tags along.
    assert admin.api("DELETE", f"/api/v1/challenges/{cid}", nonce=nonce).status == 200
    assert admin.api("GET", f"/api/v1/tags/{tag['id']}").status == 404


def test_challenge_files_round_trip(stack, admin):
    nonce = admin.get("/admin/pages").nonce()
    cid = make_challenge(admin, nonce)["id"]
    content = b"challenge attachment " + RUN_ID.encode()
    up = admin.multipart("/api/v1/files", {"nonce": nonce, "type": "challenge", "challenge_id": str(cid)},
                         {"file": ("task.txt", content)})
    assert up.status == 200, up.text[:1000]
    item = up.json()["data"][0]
    assert item["type"] == "challenge" and item["location"].endswith("/task.txt")
    assert admin.api("GET", f"/api/v1/challenges/{cid}/files").json()["data"] == [item]
    assert item in admin.api("GET", "/api/v1/files?type=challenge").json()["data"]
    assert item not in admin.api("GET", "/api/v1/files?type=page").json()["data"]
    urls = admin.api("GET", f"/api/v1/challenges/{cid}").json()["data"]["files"]
    assert len(urls) == 1 and urls[0].startswith(f"/files/{item['location']}?token=")
    assert Client(stack["base"]).get("/files/" + item["location"]).body == content
    assert admin.api("DELETE", f"/api/v1/files/{item['id']}", nonce=nonce).json() == {"success": True}
    assert admin.api("GET", f"/api/v1/files/{item['id']}").status == 404
    assert Client(stack["base"]).get("/files/" + item["location"]).status == 404
    folder = "/var/uploads/" + item["location"].split("/")[0]
    assert docker("exec", stack["ctfd"], "test", "-e", folder, check=False).returncode == 1
    assert admin.api("DELETE", f"/api/v1/challenges/{cid}", nonce=nonce).status == 200


def test_hidden_challenge_invisible_to_participant(admin, player):
    nonce = admin.get("/admin/pages").nonce()
    hidden = make_challenge(admin, nonce, state="hidden")["id"]
    shown = make_challenge(admin, nonce)["id"]
    seen = {c["id"] for c in player.api("GET", "/api/v1/challenges").json()["data"]}
    assert shown in seen and hidden not in seen
    # Admins see hidden ones only with ?view=admin in the list; the detail always.
    assert hidden not in {c["id"] for c in admin.api("GET", "/api/v1/challenges").json()["data"]}
    assert hidden in {c["id"] for c in admin.api("GET", "/api/v1/challenges?view=admin").json()["data"]}
    assert player.api("GET", f"/api/v1/challenges/{hidden}").status == 404
    assert player.api("GET", f"/api/v1/challenges/{shown}").status == 200
    assert admin.api("GET", f"/api/v1/challenges/{hidden}").status == 200
    pnonce = player.get("/").nonce()
    assert player.api("POST", "/api/v1/challenges/attempt", {"challenge_id": hidden, "submission": "x"},
                      nonce=pnonce).status == 404
    assert player.api("GET", f"/api/v1/challenges/{hidden}/flags").status == 403  # admin only
    assert Client(admin.base).api("GET", "/api/v1/challenges").status == 403  # private: login first
    for cid in (hidden, shown):
        admin.api("DELETE", f"/api/v1/challenges/{cid}", nonce=nonce)


def test_attempt_standard_challenge_records_submissions(admin, player):
    nonce = admin.get("/admin/pages").nonce()
    cid = make_challenge(admin, nonce, max_attempts=3)["id"]
    for body in ({"content": "flag{Case}", "type": "static", "data": "case_insensitive"},
                 {"content": r"re\{\d+\}", "type": "regex", "data": ""}):
        assert admin.api("POST", "/api/v1/flags", {**body, "challenge_id": cid}, nonce=nonce).status == 200
    pnonce = player.get("/").nonce()

    def attempt(submission):
        resp = player.api("POST", "/api/v1/challenges/attempt", {"challenge_id": cid, "submission": submission},
                          nonce=pnonce)
        return resp.status, resp.json()["data"]

    assert attempt("re{12}x") == (200, {"status": "incorrect", "message": "Incorrect. You have 2 tries remaining."})
    assert attempt(" FLAG{case} ") == (200, {"status": "correct", "message": "Correct"})
    assert attempt("re{1}") == (200, {"status": "already_solved", "message": "Correct but you already solved this"})
    user_id = player.api("GET", "/api/v1/users/me").json()["data"]["id"]
    subs = admin.api("GET", f"/api/v1/submissions?challenge_id={cid}").json()
    assert subs["success"] is True and subs["meta"]["pagination"] == {
        "page": 1, "next": None, "prev": None, "pages": 1, "per_page": 20, "total": 2}
    assert [(s["type"], s["provided"], s["user_id"]) for s in subs["data"]] == [
        ("incorrect", "re{12}x", user_id), ("correct", "FLAG{case}", user_id)]
    first = subs["data"][0]
    assert set(first) == {"id", "challenge_id", "user_id", "team_id", "ip", "provided", "type", "date", "challenge",
                          "user", "team"}
    assert first["challenge"] == {"id": cid, "name": first["challenge"]["name"], "category": "grt", "value": 50}
    correct = admin.api("GET", f"/api/v1/submissions?challenge_id={cid}&type=correct&user_id={user_id}").json()
    assert [s["type"] for s in correct["data"]] == ["correct"]
    detail = player.api("GET", f"/api/v1/challenges/{cid}").json()["data"]
    assert (detail["solves"], detail["solved_by_me"], detail["attempts"]) == (1, True, 2)
    assert player.api("GET", "/api/v1/submissions").status == 403
    assert admin.api("DELETE", f"/api/v1/challenges/{cid}", nonce=nonce).status == 200
    assert admin.api("GET", f"/api/v1/submissions?challenge_id={cid}").json()["meta"]["pagination"]["total"] == 0


def test_attempt_llm_verification_goes_under_review(stack, admin):
    nonce = admin.get("/admin/pages").nonce()
    cid = make_challenge(admin, nonce, type="llm_verification", preprompt="Review me.", chat_limit=2)["id"]
    gen = admin.api("POST", "/generate", {"challenge_id": cid, "prompt": "to be reviewed"})
    assert gen.status == 200, gen.text[:2000]
    generation_id = gen.json()["data"]["id"]
    resp = admin.api("POST", "/api/v1/challenges/attempt", {"challenge_id": cid, "submission": str(generation_id)},
                     nonce=nonce)
    assert resp.status == 200
    assert resp.json() == {"success": True, "data": {"status": "incorrect", "message": "Submission under review"}}

    def sql(query):
        return docker("exec", "-e", f"MYSQL_PWD={DB_PASSWORD}", stack["db"], "mariadb", "-uctfd", "ctfd", "-B", "-N",
                      "-e", query).stdout.split("\n")[0]

    assert sql(f"SELECT status FROM llmv_generations WHERE id={generation_id}") == "pending"
    # As upstream's admin page: one grade-submission marker per pending generation; participants may not see it.
    pending = admin.get("/admin/llm_submissions/pending")
    assert pending.status == 200 and f'title="Grade submission #{generation_id}"' in pending.text, pending.text[:500]
    assert pending.text.count('class="grade-submission"') == int(
        sql("SELECT COUNT(*) FROM llmv_generations WHERE status='pending'"))
    # As upstream: another model is left to submit for, so an award, and no submission row.
    assert sql(f"SELECT COUNT(*) FROM llm_awards WHERE generation_id={generation_id}") == "1"
    assert admin.api("GET", f"/api/v1/submissions?challenge_id={cid}").json()["data"] == []
    bad = admin.api("POST", "/api/v1/challenges/attempt", {"challenge_id": cid, "submission": "not-a-number"},
                    nonce=nonce)
    assert bad.status == 500
    assert admin.api("DELETE", f"/api/v1/challenges/{cid}", nonce=nonce).status == 200
