"""The monolith, deployed by site.yml into one test host, seen from outside.

Tests run in file order: the output scan first (nothing else has run yet),
the container restarts last (the host restart is test_monolith_venue.py's, with the host cut off).
"""

import ipaddress
import json
import os
import pathlib
import re
import shlex
import subprocess
import urllib.request
import uuid

import yaml
from grt_backup_checks import client, vault_view
from grt_testinfra import (all_healthy, assert_static_from_nginx, containers, docker_json, hardening_problems,
                           readme_hardening, role_vars, run_ok, wait_until)

testinfra_hosts = ["ansible://grt-molecule-monolith"]

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
CTFD = "grt-ctfd"


SECRETS = vault_view("all/secrets.yml")
KEYS = vault_view("router/keys.yml")
BACKUP_PASSWORD = vault_view("ctfd/backup.yml")["grt_backup_password"]
FIXTURES = yaml.safe_load((SCENARIO / "group_vars" / "all" / "fixtures.yml").read_text())
VENDOR_KEY = KEYS["grt_openai_api_token"]


def vendor_calls():
    with urllib.request.urlopen(FIXTURES["grt_test_vendor_url"] + "/_calls", timeout=10) as response:
        return json.loads(response.read())


def generated_secrets(host):
    return json.loads(run_ok(host, "cat /opt/grt/ctfd/generated-secrets.json"))


def test_no_secret_in_any_playbook_output(host):
    log = (EPHEMERAL / "ansible.log").read_text()
    assert "converge" in log.lower() or "PLAY RECAP" in log
    secrets = {"vendor key": VENDOR_KEY, "router token": SECRETS["grt_router_token"],
               "admin password": SECRETS["grt_ctfd_admin_password"], "backup password": BACKUP_PASSWORD}
    secrets.update({f"generated {k}": v for k, v in generated_secrets(host).items()})
    leaked = [name for name, value in secrets.items() if value and value in log]
    assert not leaked, f"secrets in the Ansible output: {leaked}"


def test_every_container_runs_healthy_with_a_restart_policy(host):
    found = containers(host)
    names = sorted(c["Name"].lstrip("/") for c in found)
    assert {CTFD, f"{CTFD}-auth", "grt-ctfd-db", "grt-ctfd-cache"} <= set(names), names
    assert len(found) >= 7, f"expected CTFd, its auth lane, DB, cache, router, router Redis, front proxy: {names}"
    for c in found:
        name = c["Name"].lstrip("/")
        assert c["State"]["Running"], name
        assert c["State"].get("Health", {}).get("Status") == "healthy", f"{name}: {c['State'].get('Health')}"
        assert c["HostConfig"]["RestartPolicy"]["Name"] in ("unless-stopped", "always"), name


def test_only_the_front_proxy_listens_on_the_host(host):
    published = {}
    for c in containers(host):
        ports = {p for p, bindings in (c["HostConfig"]["PortBindings"] or {}).items() if bindings}
        if ports:
            published[c["Name"].lstrip("/")] = ports
    assert len(published) == 1, published
    (proxy_ports,) = published.values()
    assert proxy_ports == {"80/tcp", "443/tcp"}, published
    listening = {int(m) for m in re.findall(r":(\d+)\s", run_ok(host, "ss -Hltn"))}
    for port in (3306, 6379, 8000):
        assert port not in listening, f"port {port} listens on the test host: {sorted(listening)}"


def test_every_container_is_hardened_as_the_readme_lists(host):
    table = readme_hardening()
    inventory = host.ansible.get_variables()
    found = {c["Name"].lstrip("/"): c for c in containers(host)}
    listed = {name for name in table if not name.startswith("grt-link-")}
    assert set(found) == listed, f"containers here: {sorted(found)}; in the README's table: {sorted(listed)}"
    problems = [problem for name in sorted(listed)
                for problem in hardening_problems(found[name], table[name], inventory[table[name]["memory_var"]])]
    assert not problems, "\n".join(problems)


def on_another_host(command):
    """Run a command on the scenario's second host: another machine on the venue's network."""
    return subprocess.run(["docker", "exec", "grt-molecule-monolith-fresh", "sh", "-c", command],
                          check=True, capture_output=True, text=True, timeout=60).stdout


def test_admin_pages_only_from_the_admin_sources_while_the_site_serves_everyone(host):
    address = subprocess.run(
        ["docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "grt-test").IPAddress}}', "grt-molecule-monolith"],
        check=True, capture_output=True, text=True).stdout.strip()
    assert role_vars(host, "front_proxy")["front_proxy_admin_sources"] == ["10.123.0.0/16"]

    def status(path, where=on_another_host, base=f"https://{address}"):
        return where(f"curl -ksS -o /dev/null -w '%{{http_code}}' {base}{path}")

    # Participants' ports are open to another host: the site, its redirect to HTTPS, the challenges.
    assert status("/", base=f"http://{address}") == "301"
    assert "csrfNonce" in on_another_host(f"curl -ksS https://{address}/")
    assert status("/challenges") in ("200", "302")
    # CTFd's admin pages are nginx's 403 there, before CTFd sees the request.
    for path in ("/admin", "/admin/pages", "/admin/config?x=1"):
        assert status(path) == "403", path
    assert "nginx" in on_another_host(f"curl -ksS https://{address}/admin/pages")
    # From this host's clients (the admins' range here) CTFd answers: an anonymous visitor is sent to log in.
    assert status("/admin/pages", where=lambda command: run_ok(host, command), base="https://127.0.0.1") == "302"


def test_https_serves_ctfd_with_the_theme_index_page(host):
    page = run_ok(host, "curl -ksS https://127.0.0.1/")
    # The index page comes from the theme repository's pages/index.html (set by ctfd_setup).
    assert "csrfNonce" in page
    index_html = subprocess.run(
        ["git", "-C", FIXTURES["ctfd_image_theme_repo"].removeprefix("file://"), "show",
         f"{FIXTURES['ctfd_image_theme_version']}:pages/index.html"],
        check=True, capture_output=True, text=True).stdout
    visible = max(re.findall(r">([^<>]{12,})<", index_html), key=len).strip()
    assert visible in page, f"{visible!r} from pages/index.html is not on the index page"


def test_http_redirects_to_https(host):
    out = run_ok(host, "curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' http://127.0.0.1/challenges?x=1")
    code, location = out.split(" ", 1)
    assert code in ("301", "308"), out
    assert location == "https://127.0.0.1/challenges?x=1", out


def test_proxy_passes_forwarded_headers(host):
    seen = client(host, "request")
    assert seen["status"] == 200, seen
    assert seen["seen"]["scheme"] == "https", seen
    assert seen["seen"]["host"].split(":")[0] == "127.0.0.1", seen
    # The test client's own address, as Docker's userland proxy passes it on: from a gateway of this host's
    # networks (the scenario's address pool).
    pools = [ipaddress.ip_network(pool["base"]) for pool in
             host.ansible.get_variables()["docker_host_daemon_extra_options"]["default-address-pools"]]
    remote = ipaddress.ip_address(seen["seen"]["remote_addr"])
    assert remote.is_loopback or any(remote in pool for pool in pools), seen


def test_theme_static_assets_come_from_nginx_compressed_and_cached(host):
    listing = run_ok(host, "cd /opt/grt/ctfd/static && find themes -name '*.js' | head -1").strip()
    assert listing, "no theme JavaScript published under /opt/grt/ctfd/static"
    assert_static_from_nginx(host, listing)


def test_events_first_ping_within_one_second_through_the_proxy(host):
    first = client(host, "events")
    assert first["content_type"].startswith("text/event-stream"), first
    assert first["first_line"], first
    assert first["seconds"] < 1.0, first


def test_chat_from_ctfd_reaches_the_vendor_with_the_vaulted_key_once_per_uuid(host):
    marker = uuid.uuid4().hex
    request_uuid = str(uuid.uuid4())
    script = (
        "import json,os,urllib.request;"
        "req=urllib.request.Request(os.environ['LLMV_ROUTER_URL']+'/chat/generate',"
        f"data=json.dumps({{'uuid':'{request_uuid}','model':'grt-test-gpt','prompt':'chat {marker}','history':[]}}).encode(),"
        "headers={'Content-Type':'application/json','Authorization':'Bearer '+os.environ['LLMV_ROUTER_TOKEN']});"
        "print(urllib.request.urlopen(req,timeout=30).read().decode())"
    )
    answers = [json.loads(run_ok(host, f"docker exec {CTFD} python -c \"{script}\"")) for _ in range(2)]
    assert answers[0] == answers[1] and answers[0]["uuid"] == request_uuid, answers
    calls = [c for c in vendor_calls() if marker in json.dumps(c.get("body"))]
    assert len(calls) == 1, f"the vendor saw {len(calls)} calls for one uuid"
    assert calls[0]["authorization"] == f"Bearer {VENDOR_KEY}"


def test_participant_can_generate_with_the_default_fix(host):
    answer = client(host, "generate")
    assert answer["status"] == 200, answer
    assert json.loads(answer["body"])["success"] is True, answer


SPEND_CALLS = 20


def test_the_spend_guard_limits_one_session_and_nothing_else(host):
    """20 chats back to back from one session: the first burst + 1 pass (one more should the rate refill a
    token meanwhile), the rest are 429 in JSON and never reach CTFd; that session still opens pages, and
    another session still chats."""
    guard = role_vars(host, "front_proxy")  # the role's defaults, overlaid with the inventory's values
    allowed = int(guard["front_proxy_generate_burst"]) + 1
    refill = 60 / int(guard["front_proxy_generate_per_minute"])
    result = client(host, f"spend {SPEND_CALLS}")
    statuses = [call["status"] for call in result["calls"]]
    extra = -(-result["seconds"] // refill)  # tokens the rate may have refilled while the calls ran
    passed = statuses.count(200)
    assert statuses[:allowed] == [200] * allowed, statuses
    assert allowed <= passed <= allowed + extra and statuses.count(429) == SPEND_CALLS - passed, (statuses, result["seconds"])
    for call in result["calls"]:
        if call["status"] == 429:
            assert call["type"] == "application/json", call
            assert call["json"]["success"] is False and "Too many chat messages" in call["json"]["errors"][0], call
            assert int(call["retry_after"]) == round(refill), call
        else:
            assert call["json"]["success"] is True, call
    assert result["page_after"] == 200, result
    assert result["other_session"]["status"] == 200 and result["other_session"]["json"]["success"], result


def load_module():
    """The ctfd_content module's own reader of the event (ctfcli's loaders)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "ctfd_content", SCENARIO.parents[1] / "roles" / "ctfd_content" / "library" / "ctfd_content.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def the_event():
    """The event as the side effect left it (the copy prepare.yml made, then edited)."""
    types = yaml.safe_load((SCENARIO.parents[1] / "roles/ctfd_content/defaults/main.yml").read_text())[
        "ctfd_content_challenge_types"]
    return load_module().load_event(str(EPHEMERAL / "event"), types, ["index"])


def test_every_challenge_page_and_setting_of_the_event_reads_back_from_ctfd(host):
    event, flags = the_event()
    held = client(host, "dump")
    assert len(event["challenges"]) == 3 and event["pages"] and event["settings"]
    files = {f["id"]: f for f in held["files"]}
    names = [c["name"] for c in held["challenges"]]
    for challenge in event["challenges"]:
        assert names.count(challenge["name"]) == 1, f"{challenge['name']} is in CTFd {names.count(challenge['name'])} times"
        got = next(c for c in held["challenges"] if c["name"] == challenge["name"])
        for field in ("name", "category", "description", "value", "type", "state"):
            assert got[field] == challenge[field], (challenge["key"], field, got[field], challenge[field])
        assert got["max_attempts"] == challenge.get("attempts", 0), challenge["key"]
        for field, value in challenge["extra"].items():
            assert got[field] == value, (challenge["key"], field)
        want_flags = sorted((f["type"], f["data"], c) for f, c in zip(challenge["flags"], flags[challenge["key"]]))
        assert sorted((f["type"], f["data"] or "", f["content"]) for f in got["_flags"]) == want_flags, challenge["key"]
        assert sorted(t["value"] for t in got["_tags"]) == sorted(challenge["tags"]), challenge["key"]
        assert [{"content": h["content"], "title": h["title"] or "", "cost": h["cost"]} for h in got["_hints"]] \
            == challenge["hints"], challenge["key"]
        assert sorted((f["location"].split("/")[-1], f["sha1sum"]) for f in got["_files"]) == sorted(
            (f["name"], f["sha1"]) for f in challenge["files"]), challenge["key"]
        ids = {c["name"]: c["id"] for c in held["challenges"]}
        wanted = challenge.get("requirements", {"prerequisites": []})["prerequisites"]
        assert sorted((got["_requirements"] or {}).get("prerequisites") or []) == sorted(ids[n] for n in wanted)
    for page in event["pages"]:
        got = next(p for p in held["pages"] if p["route"] == page["route"])
        for field in ("title", "content", "format", "draft", "hidden", "auth_required"):
            assert got[field] == page[field], (page["route"], field)
    module = load_module()
    for key, value in event["settings"]["configs"].items():
        have = held["configs"].get(key)
        if value is None:
            assert have in (None, ""), (key, have)
        else:
            assert module._config_text(have) == module._config_text(value), (key, have, value)
    for key, upload in event["settings"]["uploads"].items():
        location = held["configs"][key]
        assert [f["sha1sum"] for f in files.values() if f["location"] == location] == [upload["sha1"]], key
    assert held["configs"]["tos_url"] == "/rules" and held["configs"]["ctf_theme"] == "aiv-beta"


def test_a_participant_chats_in_a_synced_challenge_and_submits(host):
    event, _ = the_event()
    leak = next(c for c in event["challenges"] if c["key"] == "prompt-leak")
    played = client(host, f"play '{leak['name']}'")
    assert played["opened"] == leak["name"] and played["generate_status"] == 200, played
    assert played["attempt_status"] == 200 and played["attempt"]["message"] == "Submission under review", played
    player = played["player"]
    calls = [c for c in vendor_calls() if player in json.dumps(c.get("body"))]
    assert calls, f"no vendor call carried {player}'s prompt"
    assert leak["extra"]["preprompt"] in json.dumps(calls[-1]["body"]), "the challenge's preprompt did not arrive"


def test_pre_provisioned_participants_log_in_with_the_passwords_kept_on_the_controller(host):
    event, _ = the_event()
    kept = EPHEMERAL / "inventory" / "participant-passwords.csv"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    passwords = dict(line.split(",", 1) for line in kept.read_text().splitlines()[1:])
    assert sorted(passwords) == sorted(p["name"] for p in event["participants"]) and event["participants"]
    for person in event["participants"]:
        answer = client(host, f"login {shlex.quote(person['name'])} {shlex.quote(passwords[person['name']])}")
        assert answer == {"status": 302, "me": person["name"]}, answer


def vendor_config(update):
    request = urllib.request.Request(FIXTURES["grt_test_vendor_url"] + "/_config", data=json.dumps(update).encode(),
                                     method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def db_status(host, name):
    """A global status or variable of CTFd's MariaDB, asked as root inside its container."""
    table = "GLOBAL_VARIABLES" if name == "max_connections" else "GLOBAL_STATUS"
    sql = f"SELECT VARIABLE_VALUE FROM information_schema.{table} WHERE VARIABLE_NAME='{name.upper()}'"
    script = f'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -B -e {shlex.quote(sql)}'
    return int(run_ok(host, f"docker exec {CTFD}-db sh -c {shlex.quote(script)}").strip())


STORM = 40


def test_a_storm_from_one_address_gets_no_5xx_and_the_database_keeps_headroom(host):
    """40 participants behind one address register at once (CTFd lets one address make 10 per 5 s: the
    door queues the rest), then all chat at once, each chat holding a database connection 3 s, while they
    browse. Nothing answers 5xx, every registration succeeds, MariaDB never reaches max_connections."""
    event, _ = the_event()
    leak = next(c for c in event["challenges"] if c["key"] == "prompt-leak")
    vendor_config({"delay": 3})
    try:
        result = client(host, f"storm {STORM} '{leak['name']}'")
    finally:
        vendor_config({"delay": 0})
    statuses = result["statuses"]
    failed = [s for s in statuses if s[0] == "error" or s[1] >= 500]
    assert not failed, f"{len(failed)} failed of {len(statuses)}: {failed[:10]}"
    assert sorted(s[1] for s in statuses if s[0] == "/register") == [302] * STORM, statuses
    assert sorted(s[1] for s in statuses if s[0] == "/generate") == [200] * STORM, statuses
    used, limit = db_status(host, "max_used_connections"), db_status(host, "max_connections")
    assert used < limit, f"MariaDB used {used} of max_connections {limit}"


def test_vendor_key_only_in_the_router(host):
    for c in containers(host):
        name = c["Name"].lstrip("/")
        env = "\n".join(c["Config"]["Env"] or [])
        if VENDOR_KEY in env:
            assert "router" in name and "redis" not in name, f"vendor key in {name}'s environment"
        else:
            assert VENDOR_KEY not in json.dumps(c), f"vendor key in docker inspect of {name}"
    holders = [c["Name"] for c in containers(host) if VENDOR_KEY in "\n".join(c["Config"]["Env"] or [])]
    assert len(holders) == 1, holders


def test_no_secret_in_a_file_wider_than_0600(host):
    secrets = [VENDOR_KEY, SECRETS["grt_router_token"], SECRETS["grt_ctfd_admin_password"], BACKUP_PASSWORD]
    paths = "/etc /opt /root /home /tmp /var/tmp /var/log /var/lib/docker/containers /var/lib/docker/volumes"
    offenders = []
    for number, secret in enumerate(secrets):
        # Each file's mode read in the same command: runc's process specs (/tmp/runc-process*, 0600, with the
        # container's environment) come and go with every health check, and one gone is no file at rest.
        found = host.run(f"grep -rlsFZ --binary-files=without-match -e '{secret}' {paths}"
                         " | xargs -0r stat -c '%a %n' 2>/dev/null").stdout.splitlines()
        assert found, f"no file holds secret {number} at all: the search is broken"
        for line in found:
            mode, path = line.split(" ", 1)
            if int(mode, 8) & 0o077:
                offenders.append(f"{path} ({mode})")
    assert not offenders, offenders
    assert int(run_ok(host, "stat -c %a /opt/grt/ctfd/ctfd.env").strip(), 8) == 0o600


def test_data_survived_the_reconverge(host):
    state = client(host, "check")
    assert state == {"page_status": 200, "page_ok": True, "file_status": 200, "file_ok": True}, state


def test_data_survives_restarting_every_container(host):
    run_ok(host, "docker restart $(docker ps -q)")
    wait_until(lambda: all_healthy(host), timeout=300, interval=5, what="every container healthy again")
    state = client(host, "check")
    assert state == {"page_status": 200, "page_ok": True, "file_status": 200, "file_ok": True}, state
