"""Behaviour tests for the offline image set (test-fixtures/images/manifest).

The images under test stand in for the official mariadb:10.11, redis:8.0 and
nginx:1.30 images on test hosts without Docker Hub, so these tests check the
parts of the official images' contracts that our roles rely on, against real
containers. Images are passed by tag (build them first, e.g.
``docker build -t grt-test/offline/mariadb --build-arg
BASE_IMAGE=grt-test/base:bookworm test-fixtures/images/mariadb``):

    GRT_OFFLINE_MARIADB_IMAGE  (default grt-test/offline/mariadb)
    GRT_OFFLINE_REDIS_IMAGE    (default grt-test/offline/redis)
    GRT_OFFLINE_NGINX_IMAGE    (default grt-test/offline/nginx)

Every container, volume and network gets a unique name and the label
``grt-test.offline-images=<run id>`` and is removed by fixture finalizers
(plus a session-wide sweep by label). Network traffic stays on loopback
(ports published on 127.0.0.1 only) or between this run's own containers.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
from dockercli import docker, is_running, logs
from dockercli import wait_until as _wait_until

MARIADB_IMAGE = os.environ.get("GRT_OFFLINE_MARIADB_IMAGE", "grt-test/offline/mariadb")
REDIS_IMAGE = os.environ.get("GRT_OFFLINE_REDIS_IMAGE", "grt-test/offline/redis")
NGINX_IMAGE = os.environ.get("GRT_OFFLINE_NGINX_IMAGE", "grt-test/offline/nginx")

RUN_ID = uuid.uuid4().hex[:10]
LABEL_KEY = "grt-test.offline-images"
LABEL = f"{LABEL_KEY}={RUN_ID}"
READY_TIMEOUT = 60  # seconds; every readiness poll is bounded by this

# The args our roles pass to the official mariadb image (compose "command:").
MARIADB_ARGS = [
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    "--wait_timeout=28800",
    "--max_connections=200",
]
MARIADB_HEALTHCHECK = ["healthcheck.sh", "--connect", "--innodb_initialized"]


# --------------------------------------------------------------------------
# helpers


def wait_until(predicate, what: str, container: str | None = None,
               timeout: float = READY_TIMEOUT, interval: float = 0.3):
    return _wait_until(predicate, what, container, timeout, interval)


def unique(purpose: str) -> str:
    return f"grt-offline-{RUN_ID}-{purpose}"


class DockerResources:
    """Creates labelled, uniquely named docker objects and removes them."""

    def __init__(self) -> None:
        self.containers: list[str] = []
        self.volumes: list[str] = []
        self.networks: list[str] = []

    def network(self, purpose: str) -> str:
        name = unique(purpose)
        self.networks.append(name)
        docker("network", "create", "--label", LABEL, name)
        return name

    def volume(self, purpose: str) -> str:
        name = unique(purpose)
        self.volumes.append(name)
        docker("volume", "create", "--label", LABEL, name)
        return name

    def run(self, purpose: str, image: str, *args: str, opts: tuple[str, ...] = (),
            detach: bool = True, check: bool = True,
            timeout: float = 120) -> tuple[str, subprocess.CompletedProcess]:
        """docker run --name <unique> --label ... [opts] image [args]."""
        name = unique(purpose)
        self.containers.append(name)
        cmd = ["run", "--name", name, "--label", LABEL]
        if detach:
            cmd.append("-d")
        proc = docker(*cmd, *opts, image, *args, check=check, timeout=timeout)
        return name, proc

    def cleanup(self) -> None:
        # -v: anonymous volumes (e.g. the images' VOLUME) go with the container.
        for name in reversed(self.containers):
            docker("rm", "-f", "-v", name, check=False)
        for name in reversed(self.networks):
            docker("network", "rm", name, check=False)
        for name in reversed(self.volumes):
            docker("volume", "rm", "-f", name, check=False)


def _new_resources(request) -> DockerResources:
    res = DockerResources()
    request.addfinalizer(res.cleanup)
    return res


@pytest.fixture(scope="session", autouse=True)
def _docker_ready():
    """Fail (not skip) when an image is missing: these tests guard the harness."""
    if shutil.which("docker") is None:
        pytest.skip("docker CLI not installed")
    if docker("info", check=False, timeout=30).returncode != 0:
        pytest.fail("docker engine not reachable (docker info failed)")
    for image, subdir, suite in (
        (MARIADB_IMAGE, "mariadb", "bookworm"),
        (REDIS_IMAGE, "redis", "trixie"),
        (NGINX_IMAGE, "nginx", "trixie"),
    ):
        if docker("image", "inspect", image, check=False).returncode != 0:
            pytest.fail(
                f"image {image} not found; build it with: docker build -t {image} "
                f"--build-arg BASE_IMAGE=grt-test/base:{suite} test-fixtures/images/{subdir}"
            )
    yield
    # Safety net: anything of this run that a finalizer could not remove.
    for kind, ls_cmd, rm_cmd in (
        ("container", ["ps", "-aq"], ["rm", "-f", "-v"]),
        ("network", ["network", "ls", "-q"], ["network", "rm"]),
        ("volume", ["volume", "ls", "-q"], ["volume", "rm", "-f"]),
    ):
        ids = docker(*ls_cmd, "--filter", f"label={LABEL}", check=False).stdout.split()
        if ids:
            docker(*rm_cmd, *ids, check=False)


@pytest.fixture
def resources(request) -> DockerResources:
    return _new_resources(request)


def image_config(image: str) -> dict:
    return json.loads(docker("image", "inspect", image).stdout)[0]["Config"]


# --------------------------------------------------------------------------
# image metadata (the Dockerfile-level parts of the contracts)


def test_mariadb_image_metadata():
    cfg = image_config(MARIADB_IMAGE)
    assert "3306/tcp" in (cfg.get("ExposedPorts") or {})
    assert "/var/lib/mysql" in (cfg.get("Volumes") or {})
    assert cfg["Cmd"] == ["mariadbd"]
    # Official image bakes no HEALTHCHECK; ours must not need secrets for one.
    assert not cfg.get("Healthcheck")
    check = docker("run", "--rm", "--entrypoint", "sh", MARIADB_IMAGE, "-c",
                   "test -x /usr/local/bin/healthcheck.sh && id -u mysql && id -g mysql")
    assert check.stdout.split() == ["999", "999"]


def test_redis_image_metadata():
    cfg = image_config(REDIS_IMAGE)
    assert "6379/tcp" in (cfg.get("ExposedPorts") or {})
    assert "/data" in (cfg.get("Volumes") or {})
    assert cfg["WorkingDir"] == "/data"
    assert cfg["Cmd"] == ["redis-server"]
    version = docker("run", "--rm", REDIS_IMAGE, "redis-server", "--version").stdout
    assert "v=8.0." in version


def test_nginx_image_metadata():
    cfg = image_config(NGINX_IMAGE)
    assert "80/tcp" in (cfg.get("ExposedPorts") or {})
    assert cfg["Cmd"] == ["nginx", "-g", "daemon off;"]
    assert cfg["StopSignal"] == "SIGQUIT"


# --------------------------------------------------------------------------
# MariaDB

INITDB_SQL = """\
CREATE TABLE seed (id INT PRIMARY KEY, source VARCHAR(32));
INSERT INTO seed VALUES (1, 'sql-file');
"""
# A shell script runs once too; it talks to the temporary server over the
# socket with the root password, which works the same with the official image.
INITDB_SH = """\
mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" "$MARIADB_DATABASE" <<<"INSERT INTO seed VALUES (2, 'sourced-sh');"
"""


class MariaDB:
    """State of the module's MariaDB server (container replaced on re-create)."""

    root_password = "r00t-" + uuid.uuid4().hex[:12] + "'\"x"  # needs SQL escaping
    database = "grt_app"
    user = "grt_user"
    password = "pw-" + uuid.uuid4().hex[:12]

    def __init__(self, res: DockerResources, network: str, volume: str,
                 client: str, container: str) -> None:
        self.res, self.network, self.volume = res, network, volume
        self.client, self.container = client, container

    def sql(self, query: str, user: str | None = None, password: str | None = None,
            database: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """Run SQL over TCP from the client container (a different host)."""
        user = user or "root"
        if password is None:
            password = self.root_password if user == "root" else self.password
        # -B -N -r: tab-separated rows, no headers, no escaping of the values.
        args = ["exec", "-e", f"MYSQL_PWD={password}", self.client,
                "mariadb", "-h", self.container, "-u", user, "-B", "-N", "-r"]
        if database:
            args.append(database)
        return docker(*args, "-e", query, check=check)


def wait_mariadb_healthy(container: str) -> None:
    wait_until(
        lambda: docker("exec", container, *MARIADB_HEALTHCHECK, check=False).returncode == 0,
        f"MariaDB in {container} to pass healthcheck.sh", container=container)


@pytest.fixture(scope="module")
def mariadb(request, tmp_path_factory) -> MariaDB:
    res = _new_resources(request)
    network = res.network("mariadb-net")
    volume = res.volume("mariadb-data")

    initdb = tmp_path_factory.mktemp("initdb")
    (initdb / "01-seed.sql").write_text(INITDB_SQL)
    (initdb / "02-more.sh").write_text(INITDB_SH)
    (initdb / "03-ignored.txt").write_text("not SQL\n")
    initdb.chmod(0o755)  # read by the mysql user inside the container
    for f in initdb.iterdir():
        f.chmod(0o644)

    env = {
        "MARIADB_ROOT_PASSWORD": MariaDB.root_password,
        "MARIADB_DATABASE": MariaDB.database,
        "MARIADB_USER": MariaDB.user,
        "MARIADB_PASSWORD": MariaDB.password,
    }
    opts = ["--network", network, "-v", f"{volume}:/var/lib/mysql",
            "-v", f"{initdb}:/docker-entrypoint-initdb.d:ro"]
    for k, v in env.items():
        opts += ["-e", f"{k}={v}"]
    server, _ = res.run("mariadb", MARIADB_IMAGE, *MARIADB_ARGS, opts=tuple(opts))
    # A second container on the same network acts as the remote client.
    client, _ = res.run("mariadb-client", MARIADB_IMAGE, "infinity",
                        opts=("--network", network, "--entrypoint", "sleep"))
    wait_mariadb_healthy(server)
    return MariaDB(res, network, volume, client, server)


def test_mariadb_first_run_creates_database_and_user(mariadb):
    out = mariadb.sql(
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64));"
        "INSERT INTO items VALUES (1, 'first');"
        "SELECT id, name FROM items;",
        user=mariadb.user, database=mariadb.database).stdout
    assert out.split("\n")[0].split("\t") == ["1", "first"]
    grants = mariadb.sql("SHOW GRANTS", user=mariadb.user).stdout
    # Official grant: ALL on the database name with "_" escaped (no wildcard).
    assert "GRANT ALL PRIVILEGES ON `grt\\_app`.* TO `grt_user`@`%`" in grants, grants
    # ALL on its own database only.
    denied = mariadb.sql("CREATE DATABASE grt_other", user=mariadb.user, check=False)
    assert denied.returncode != 0 and "denied" in denied.stderr


def test_mariadb_init_scripts_ran_once(mariadb):
    rows = mariadb.sql("SELECT id, source FROM seed ORDER BY id",
                       database=mariadb.database).stdout.split("\n")
    assert rows[:2] == ["1\tsql-file", "2\tsourced-sh"]
    assert "ignoring /docker-entrypoint-initdb.d/03-ignored.txt" in logs(mariadb.container)


def test_mariadb_server_args_honoured(mariadb):
    out = mariadb.sql(
        "SELECT @@character_set_server, @@collation_server, @@wait_timeout,"
        " @@max_connections, IFNULL(@@bind_address, '-')").stdout.strip()
    charset, collation, wait_timeout, max_conn, bind = out.split("\t")
    assert (charset, collation) == ("utf8mb4", "utf8mb4_unicode_ci")
    assert (wait_timeout, max_conn) == ("28800", "200")
    assert bind not in ("127.0.0.1", "localhost")  # reached from another container above


def test_mariadb_runs_as_mysql_in_foreground(mariadb):
    out = docker("exec", mariadb.container, "sh", "-c",
                 "stat -c %U /proc/1; cat /proc/1/comm").stdout.split()
    assert out == ["mysql", "mariadbd"]  # exec'd as PID 1: gets SIGTERM directly


def test_mariadb_healthcheck_script(mariadb):
    ok = docker("exec", mariadb.container, *MARIADB_HEALTHCHECK, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bogus = docker("exec", mariadb.container, "healthcheck.sh", "--no-such-test", check=False)
    assert bogus.returncode != 0
    # With no server running it must report unhealthy (not just exit 0).
    down = docker("run", "--rm", "--entrypoint", "healthcheck.sh", MARIADB_IMAGE,
                  "--connect", "--innodb_initialized", check=False)
    assert down.returncode == 1 and "cannot connect" in down.stderr


def test_mariadb_wrong_password_rejected(mariadb):
    for user in (mariadb.user, "root"):
        bad = mariadb.sql("SELECT 1", user=user, password="wrong-password", check=False)
        assert bad.returncode != 0
        assert "Access denied" in bad.stderr


def test_mariadb_data_survives_restart(mariadb):
    mariadb.sql("CREATE TABLE IF NOT EXISTS persist (marker VARCHAR(32));"
                "INSERT INTO persist VALUES ('before-restart');", database=mariadb.database)
    docker("restart", mariadb.container)
    wait_mariadb_healthy(mariadb.container)
    out = mariadb.sql("SELECT marker FROM persist", database=mariadb.database).stdout
    assert "before-restart" in out.split()
    # No second init: same container log holds exactly one init run.
    assert logs(mariadb.container).count("[entrypoint] initialisation done") == 1
    seeds = mariadb.sql("SELECT COUNT(*) FROM seed", database=mariadb.database).stdout
    assert seeds.strip() == "2"  # init scripts not re-run


def test_mariadb_data_survives_recreate_without_reinit(mariadb):
    mariadb.sql("CREATE TABLE IF NOT EXISTS app_rows (marker VARCHAR(32));"
                "INSERT INTO app_rows VALUES ('before-recreate');",
                user=mariadb.user, database=mariadb.database)
    old = mariadb.container
    # Graceful stop on SIGTERM: mariadbd shuts down cleanly, exit code 0.
    docker("stop", "-t", "30", old)
    state = json.loads(docker("inspect", old).stdout)[0]["State"]
    assert state["ExitCode"] == 0
    assert "Shutdown complete" in logs(old)
    docker("rm", old)

    # Same volume, different env: an initialised datadir must ignore it all.
    new, _ = mariadb.res.run(
        "mariadb-recreated", MARIADB_IMAGE, *MARIADB_ARGS,
        opts=("--network", mariadb.network, "-v", f"{mariadb.volume}:/var/lib/mysql",
              "-e", "MARIADB_ROOT_PASSWORD=changed-on-recreate",
              "-e", "MARIADB_DATABASE=grt_second", "-e", "MARIADB_USER=grt_intruder",
              "-e", "MARIADB_PASSWORD=intruder"))
    mariadb.container = new
    wait_mariadb_healthy(new)
    new_logs = logs(new)
    assert "Initializing database files" not in new_logs
    assert "first start: initialising" not in new_logs

    # Root password and app user from the first run still work; the row is there.
    out = mariadb.sql("SELECT marker FROM app_rows", database=mariadb.database).stdout
    assert "before-recreate" in out.split()
    out = mariadb.sql("SELECT marker FROM app_rows", user=mariadb.user,
                      database=mariadb.database).stdout
    assert "before-recreate" in out.split()
    refused = mariadb.sql("SELECT 1", password="changed-on-recreate", check=False)
    assert refused.returncode != 0 and "Access denied" in refused.stderr
    users = mariadb.sql("SELECT user FROM mysql.user").stdout.split()
    assert "grt_intruder" not in users and mariadb.user in users
    dbs = mariadb.sql("SHOW DATABASES").stdout.split()
    assert "grt_second" not in dbs and mariadb.database in dbs


def test_mariadb_requires_a_root_password_option(resources):
    _, proc = resources.run("mariadb-nopw", MARIADB_IMAGE, opts=("--rm",),
                            detach=False, check=False, timeout=90)
    assert proc.returncode != 0
    assert "no root password is set" in proc.stderr + proc.stdout


def test_mariadb_root_password_file(resources, tmp_path):
    secret = tmp_path / "root_pw"
    secret.write_text("from-a-secret-file\n")
    secret.chmod(0o644)
    name, _ = resources.run(
        "mariadb-pwfile", MARIADB_IMAGE,
        opts=("-v", f"{secret}:/run/secrets/db_root:ro",
              "-e", "MARIADB_ROOT_PASSWORD_FILE=/run/secrets/db_root",
              "-e", "MARIADB_INITDB_SKIP_TZINFO=1"))  # skip tz tables: faster init
    wait_mariadb_healthy(name)
    # The trailing newline of the file is not part of the password (as upstream).
    ok = docker("exec", "-e", "MYSQL_PWD=from-a-secret-file", name,
                "mariadb", "-uroot", "-B", "-N", "-e", "SELECT CURRENT_USER()", check=False)
    assert ok.returncode == 0 and ok.stdout.strip() == "root@localhost", ok.stderr


# --------------------------------------------------------------------------
# Redis


def redis_cli(container: str, *args: str, host: str | None = None,
              via: str | None = None) -> str:
    """redis-cli in `container` (or, with `via`, from that other container)."""
    target = via or container
    hostargs = ["-h", host] if host else []
    return docker("exec", target, "redis-cli", *hostargs, *args).stdout.strip()


def wait_redis(container: str) -> None:
    wait_until(
        lambda: docker("exec", container, "redis-cli", "ping", check=False).stdout.strip() == "PONG",
        f"redis in {container} to answer PING", container=container)


def test_redis_appendonly_persists_in_data(resources):
    volume = resources.volume("redis-data")
    # A root-owned leftover in /data: the entrypoint must chown it to redis.
    docker("run", "--rm", "--label", LABEL, "-v", f"{volume}:/data", "--entrypoint", "sh",
           REDIS_IMAGE, "-c", "touch /data/leftover && chown root:root /data/leftover")
    opts = ("-v", f"{volume}:/data")
    name, _ = resources.run("redis-aof", REDIS_IMAGE, "redis-server", "--appendonly", "yes",
                            opts=opts)
    wait_redis(name)
    token = uuid.uuid4().hex
    assert redis_cli(name, "SET", "grt:key", token) == "OK"
    assert redis_cli(name, "CONFIG", "GET", "appendonly").split() == ["appendonly", "yes"]
    assert redis_cli(name, "CONFIG", "GET", "dir").split() == ["dir", "/data"]

    docker("restart", name)
    wait_redis(name)
    assert redis_cli(name, "GET", "grt:key") == token

    listing = docker("exec", name, "sh", "-c",
                     "cd /data && ls appendonlydir && stat -c '%U %n' . leftover appendonlydir"
                     " && stat -c %U /proc/1").stdout
    assert "appendonly.aof.manifest" in listing
    assert ".incr.aof" in listing
    lines = listing.strip().split("\n")
    assert {"redis .", "redis leftover", "redis appendonlydir"} <= set(lines), listing
    assert lines[-1] == "redis"  # redis-server (PID 1) runs as the redis user

    # New container on the same volume (clean SIGTERM stop first) keeps the data.
    docker("stop", "-t", "30", name)
    assert json.loads(docker("inspect", name).stdout)[0]["State"]["ExitCode"] == 0
    docker("rm", name)
    name2, _ = resources.run("redis-aof-2", REDIS_IMAGE, "redis-server", "--appendonly", "yes",
                             opts=opts)
    wait_redis(name2)
    assert redis_cli(name2, "GET", "grt:key") == token


def test_redis_default_cmd_serves_other_containers(resources):
    network = resources.network("redis-net")
    server, _ = resources.run("redis-default", REDIS_IMAGE, opts=("--network", network))
    client, _ = resources.run("redis-client", REDIS_IMAGE, "infinity",
                              opts=("--network", network, "--entrypoint", "sleep"))
    wait_redis(server)
    # From another container: listening on all interfaces, protected-mode off
    # (with protected-mode on, a non-loopback client without a password is refused).
    assert redis_cli(server, "PING", host=server, via=client) == "PONG"
    assert redis_cli(server, "CONFIG", "GET", "protected-mode", host=server,
                     via=client).split() == ["protected-mode", "no"]
    assert redis_cli(server, "SET", "remote", "1", host=server, via=client) == "OK"
    bind = redis_cli(server, "CONFIG", "GET", "bind").split("\n")[1]
    assert "*" in bind.split()


def test_redis_explicit_protected_mode_wins(resources):
    name, _ = resources.run("redis-protected", REDIS_IMAGE, "--protected-mode", "yes")
    wait_redis(name)
    assert redis_cli(name, "CONFIG", "GET", "protected-mode").split() == ["protected-mode", "yes"]


# --------------------------------------------------------------------------
# nginx

PROBE_CONF = """\
server {
    listen 8081;
    location = /grt-probe {
        default_type text/plain;
        return 200 "probe-%s\\n";
    }
}
"""


def http_get(url: str) -> tuple[int, str]:
    # No proxies: the request must go straight to loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0, ""


def host_port(container: str, port: int) -> int:
    out = docker("port", container, f"{port}/tcp").stdout.split("\n")[0].strip()
    host, _, hport = out.rpartition(":")
    assert host == "127.0.0.1", f"published on {out}, expected loopback only"
    return int(hport)


@pytest.fixture(scope="module")
def nginx(request, tmp_path_factory):
    res = _new_resources(request)
    confdir = tmp_path_factory.mktemp("nginx-conf")
    token = uuid.uuid4().hex[:12]
    probe = confdir / "grt-probe.conf"
    probe.write_text(PROBE_CONF % token)
    probe.chmod(0o644)
    name, _ = res.run("nginx", NGINX_IMAGE, opts=(
        "-p", "127.0.0.1::80", "-p", "127.0.0.1::8081",
        "-v", f"{probe}:/etc/nginx/conf.d/grt-probe.conf:ro"))
    base = f"http://127.0.0.1:{host_port(name, 80)}"
    wait_until(lambda: http_get(base + "/")[0] == 200, "nginx to answer on port 80",
               container=name)
    return {"name": name, "token": token, "base": base,
            "probe": f"http://127.0.0.1:{host_port(name, 8081)}/grt-probe"}


def test_nginx_config_test_and_layout():
    proc = docker("run", "--rm", NGINX_IMAGE, "nginx", "-t")
    assert "test is successful" in proc.stderr
    dump = docker("run", "--rm", NGINX_IMAGE, "nginx", "-T").stdout
    assert "include /etc/nginx/conf.d/*.conf;" in dump
    assert "sites-enabled" not in dump
    assert "# configuration file /etc/nginx/conf.d/default.conf:" in dump
    assert re.search(r"root\s+/usr/share/nginx/html;", dump)
    assert re.search(r"^user\s+nginx;", dump, re.M)
    version = docker("run", "--rm", NGINX_IMAGE, "nginx", "-V").stderr
    assert "nginx/1.30." in version
    assert "--with-http_ssl_module" in version
    # njs as the official image ships it: in /etc/nginx/modules, not loaded until asked for.
    assert "load_module" not in dump
    js = docker("run", "--rm", NGINX_IMAGE, "nginx", "-g", "load_module /etc/nginx/modules/ngx_http_js_module.so;", "-t")
    assert "test is successful" in js.stderr


def test_nginx_serves_welcome_page_and_logs_to_stdout(nginx):
    status, body = http_get(nginx["base"] + "/")
    assert status == 200
    assert "<h1>Welcome to nginx!</h1>" in body
    status, _ = http_get(nginx["base"] + "/grt-no-such-page")
    assert status == 404
    # access.log -> /dev/stdout: the requests show up in `docker logs`.
    wait_until(lambda: '"GET /grt-no-such-page HTTP/1.1" 404' in
               docker("logs", nginx["name"]).stdout, "access log line on stdout", timeout=10)


def test_nginx_conf_d_file_honoured(nginx):
    status, body = http_get(nginx["probe"])
    assert status == 200
    assert body.strip() == f"probe-{nginx['token']}"


def test_nginx_workers_run_as_nginx(nginx):
    out = docker("exec", nginx["name"], "sh", "-c",
                 'for d in /proc/[0-9]*; do '
                 '[ -r "$d/cmdline" ] && echo "$(stat -c %U "$d") $(tr "\\0" " " < "$d/cmdline")"; '
                 'done; true').stdout
    procs = [line for line in out.split("\n") if "nginx:" in line]
    assert any(p.startswith("root nginx: master process") for p in procs), out
    workers = [p for p in procs if "worker process" in p]
    assert workers and all(p.startswith("nginx ") for p in workers), out


def test_nginx_graceful_stop(resources):
    name, _ = resources.run("nginx-stop", NGINX_IMAGE)
    wait_until(lambda: "start worker process" in logs(name), "nginx workers", container=name)
    started = time.monotonic()
    docker("stop", "-t", "20", name)
    assert time.monotonic() - started < 15  # SIGQUIT handled, not killed at the timeout
    assert json.loads(docker("inspect", name).stdout)[0]["State"]["ExitCode"] == 0
    assert "SIGQUIT" in logs(name)
