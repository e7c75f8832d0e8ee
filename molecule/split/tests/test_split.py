"""The split layout (site.yml on a `local` and a `remote` test host), seen from outside.

The controller running these tests is the third vantage point: on the harness
network grt-test, outside both hosts, holding the link CA (link_pki_dir).
Nested containers are reached with `docker exec` from the controller
(grt_split, in lib/); secrets go to them on standard input only.

Tests run in file order: the blips and the rotation after the static checks,
the scans for secrets last (so that they also cover what the rotation wrote).
"""

import json
import os
import pathlib
import re
import ssl
import subprocess
import threading
import time
import uuid

import pytest
import yaml
from grt_backup_checks import playbook
from grt_link_checks import (
    Refused,
    access_log,
    entry_value,
    https_request,
    link_log_dir,
    load_ca,
    mint_client,
    new_ca,
    private_dir,
    serial_of,
    tls_context,
)
from grt_split.client import BackgroundClient, run_client
from grt_split.hosts import containers, harness_ip, link_cut, on_host, router_container
from grt_split.scenario import LOCAL, PROJECT_DIR, REMOTE, SCENARIO_DIR, fixtures, vault_view
from grt_split.vendor import Vendor
from grt_status_checks import plain, report_json, status
from grt_testinfra import assert_static_from_nginx, role_defaults, run_ok

testinfra_hosts = ["ansible://grt-molecule-local"]

CTFD = "grt-ctfd"
LINK_LOCAL = "grt-link-local"
LINK_REMOTE = "grt-link-remote"
TLS_DIR = "/opt/grt/link/tls"
OPENAI_MODEL = "grt-test-gpt"
MOCK_MODEL = "mock_model"
WRONG_TOKEN = "grt-wrong-token-" + uuid.uuid4().hex


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def split(host):
    """Everything the tests need to know about this run, read once."""
    pins = fixtures()
    inventory = host.ansible.get_variables()
    local_defaults = role_defaults("local_proxy")
    remote_defaults = role_defaults("remote_proxy")

    def setting(name, defaults):
        value = inventory.get(name)
        return defaults.get(name) if value in (None, "", 0) else value

    return {
        "secrets": vault_view("all/secrets.yml"),
        "keys": vault_view("router/keys.yml"),
        "ca_passphrase": vault_view("all/link_ca.yml")["grt_link_ca_passphrase"],
        "pki_dir": pathlib.Path(str(pins.get("link_pki_dir") or inventory["link_pki_dir"])).expanduser(),
        "vendor": Vendor(pins["grt_test_vendor_url"]),
        "remote_ip": harness_ip(REMOTE),
        "local_ip": harness_ip(LOCAL),
        "port": int(setting("remote_proxy_port", remote_defaults)),
        "server_name": setting("local_proxy_remote_name", local_defaults) or REMOTE,
        "client_cn": setting("local_proxy_client_common_name", local_defaults) or LOCAL,
        "budget": float(setting("local_proxy_retry_budget", local_defaults)),
    }


@pytest.fixture(scope="module")
def router_token(split):
    return split["secrets"]["grt_router_token"]


@pytest.fixture(scope="module")
def vendor_key(split):
    return split["keys"]["grt_openai_api_token"]


@pytest.fixture(scope="module")
def certs(split):
    """Client certificates minted on the controller: the right one and the wrong ones."""
    import datetime

    ca_cert, ca_key = load_ca(split["pki_dir"], split["ca_passphrase"])
    now = datetime.datetime.now(datetime.timezone.utc)
    rogue_cert, rogue_key = new_ca(ca_cert.subject)
    with private_dir() as directory:
        made = {
            "ca_file": str(split["pki_dir"] / "ca.crt"),
            "good": mint_client(ca_cert, ca_key, split["client_cn"], directory, "good"),
            "other_cn": mint_client(ca_cert, ca_key, "grt-molecule-intruder", directory, "other-cn"),
            "expired": mint_client(ca_cert, ca_key, split["client_cn"], directory, "expired",
                                   not_before=now - datetime.timedelta(days=10),
                                   not_after=now - datetime.timedelta(days=1)),
            # Same subject as our CA, another key: only the signature tells them apart.
            "other_ca": mint_client(rogue_cert, rogue_key, split["client_cn"], directory, "other-ca"),
        }
        made["minted_serials"] = set()
        for name in ("good", "other_cn", "expired", "other_ca"):
            made["minted_serials"].add(_pem_serial(pathlib.Path(made[name][0]).read_text()))
        # Contexts load the files now, so the directory can go when the module ends.
        made["contexts"] = {
            "none": tls_context(made["ca_file"]),
            "good": tls_context(made["ca_file"], *made["good"]),
            "other_cn": tls_context(made["ca_file"], *made["other_cn"]),
            "expired": tls_context(made["ca_file"], *made["expired"]),
            "other_ca": tls_context(made["ca_file"], *made["other_ca"]),
            "tls12": tls_context(made["ca_file"], *made["good"], max_version=ssl.TLSVersion.TLSv1_2),
        }
        yield made


@pytest.fixture()
def vendor(split):
    """The fake vendor; its delay and status are back to normal after the test."""
    try:
        yield split["vendor"]
    finally:
        split["vendor"].configure(delay=0, status=200)


# --- helpers --------------------------------------------------------------------------------------

def _pem_serial(pem):
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem.encode()).serial_number


def remote_call(split, certs, context="good", method="GET", path="/chat/models", token=None, body=None,
                timeout=30):
    return https_request(split["remote_ip"], split["port"], split["server_name"], certs["contexts"][context],
                         method=method, path=path, token=token, body=body, timeout=timeout)


def generate_body(model, prompt, request_uuid=None):
    return {"uuid": request_uuid or str(uuid.uuid4()), "model": model, "prompt": prompt, "history": []}


def through_pair(body=None, token=None, path="/chat/generate", timeout=60, background=False):
    """One request from the CTFd container to http://llm-router:8000 (the local proxy)."""
    settings = {"mode": "request", "method": "POST" if body is not None else "GET", "path": path,
                "body": body, "timeout": timeout, "announce": background}
    if token is not None:
        settings["token"] = token
    if background:
        return BackgroundClient(LOCAL, settings, container=CTFD, python="python")
    return run_client(LOCAL, settings, container=CTFD, python="python", timeout=timeout + 60)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout} s")


def refused(split, certs, context, token):
    """True when the remote gave no answer from the router: a TLS failure, or nginx's answer to a bad
    certificate (400 "No required SSL certificate was sent" / "The SSL certificate error", i.e. 496/495,
    or 403 should the proxy map those). The bearer sent is the right one, so 403 means the certificate."""
    try:
        status, _, text, _ = remote_call(split, certs, context, token=token)
    except Refused:
        return True, "no HTTP answer"
    return status in (400, 403, 495, 496) and "models" not in text, f"HTTP {status}: {text[:200]}"


def pair_client_serial(certs):
    """The client serial of the last request the remote proxy logged from the local proxy (not a minted cert)."""
    entries, _ = access_log()
    for entry in reversed(entries):
        value = entry_value(entry, "serial")
        if not value or value == "-":
            continue
        serial = int(str(value).replace(":", ""), 16)
        if serial not in certs["minted_serials"]:
            return serial
    raise AssertionError("no request from the local proxy with a client serial in the remote's access log")


def host_cert_serial(host_name, path):
    return _pem_serial(on_host(host_name, "cat", path).stdout)


def pem_body_lines(pem):
    """The distinctive base64 lines of a PEM document (grep patterns)."""
    return [line.strip() for line in pem.splitlines()
            if len(line.strip()) >= 40 and not line.startswith("-----") and ":" not in line]


def ca_key_patterns(split):
    """The CA key as it is on the controller (encrypted), in every unencrypted PEM form, and its passphrase."""
    from cryptography.hazmat.primitives import serialization

    encrypted = (split["pki_dir"] / "ca.key").read_text()
    _, key = load_ca(split["pki_dir"], split["ca_passphrase"])
    plain = [key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()
             for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL)]
    patterns = pem_body_lines(encrypted) + [line for text in plain for line in pem_body_lines(text)]
    return patterns + [split["ca_passphrase"]]


# A grep over the whole file system of a test host: every top-level directory
# but the kernel's (/proc, /sys, /dev), so also the tmpfs (/run, /tmp) and the
# Docker volume (/var/lib/docker: volumes, containers, image layers and
# container layers; the overlay mounts of running containers are skipped as
# duplicates; Docker's network namespace handles in /run/docker/netns cannot be
# read as files). Patterns come on standard input: they never touch the host's disk.
SCAN = r"""
set -- ; for d in /* ; do
  [ -L "$d" ] && continue
  case "$d" in /proc|/sys|/dev) continue ;; esac
  set -- "$@" "$d"
done
grep -rlsF -D skip --exclude-dir=merged --exclude-dir=netns -f /dev/stdin -- "$@"
rc=$? ; [ $rc -le 1 ] || echo "grep exited $rc" >&2 ; exit 0
"""


# Where scan_files() plants a harmless canary first, to see the scan reach each
# kind of place: a stack directory, a tmpfs, the Docker volume, and (through
# a container with a writable root) a container's own writable layer.
CANARY_NAME = ".grt-scan-canary"
CANARY_PLACES = ("/opt/grt/link", "/tmp", "/var/lib/docker")


def writable_containers(host_name):
    """The containers on the host whose root filesystem is writable (a layer on the host's disk)."""
    return [c["Name"].lstrip("/") for c in containers(host_name) if not c["HostConfig"].get("ReadonlyRootfs")]


def scan_files(host_name, patterns):
    """Files on the host holding any of the patterns (the canaries' excluded, once seen). Where a container
    has a writable root, the scan must reach its layer too; where none has, no container can write a file
    anywhere but its volumes and memory."""
    patterns = [p for p in patterns if p]
    assert patterns
    writable = writable_containers(host_name)
    canary = f"grt-scan-canary-{uuid.uuid4().hex}"
    plant = [f"printf '%s\\n' {canary} > {place}/{CANARY_NAME}" for place in CANARY_PLACES]
    planted = [f"{place}/{CANARY_NAME}" for place in CANARY_PLACES]
    try:
        on_host(host_name, "sh", "-c", " && ".join(plant))
        for container in writable:
            on_host(host_name, "docker", "exec", "--user", "0", container, "sh", "-c",
                    f"printf '%s\\n' {canary} > /{CANARY_NAME}")
        result = on_host(host_name, "sh", "-c", SCAN, input="\n".join(patterns + [canary]) + "\n", timeout=1200)
    finally:
        on_host(host_name, "rm", "-f", *planted, check=False)
        for container in writable:
            on_host(host_name, "docker", "exec", "--user", "0", container, "rm", "-f", f"/{CANARY_NAME}", check=False)
    assert "grep exited" not in result.stderr, result.stderr[-2000:]
    found = result.stdout.split()
    canaries = [path for path in found if path.endswith("/" + CANARY_NAME)]
    for path in planted:
        assert path in canaries, f"the scan did not reach {path}: {canaries}"
    layers = [path for path in canaries if path.endswith(f"/diff/{CANARY_NAME}")]
    assert len(layers) == len(writable), f"the scan reached {len(layers)} of {writable}'s layers: {canaries}"
    return [path for path in found if path not in canaries]


# --- layout ---------------------------------------------------------------------------------------

def published(container):
    return {port for port, bindings in (container["HostConfig"].get("PortBindings") or {}).items() if bindings}


def test_local_proxy_has_no_host_port_and_is_llm_router_on_the_router_network(split):
    found = {c["Name"].lstrip("/"): c for c in containers(LOCAL)}
    assert LINK_LOCAL in found, sorted(found)
    proxy = found[LINK_LOCAL]
    assert proxy["State"]["Running"] and proxy["State"].get("Health", {}).get("Status") == "healthy", proxy["State"]
    assert not published(proxy), proxy["HostConfig"].get("PortBindings")
    assert not any(proxy["NetworkSettings"].get("Ports", {}).values()), proxy["NetworkSettings"]["Ports"]
    networks = proxy["NetworkSettings"]["Networks"]
    assert "grt-router" in networks, sorted(networks)
    names = set(networks["grt-router"].get("Aliases") or []) | set(networks["grt-router"].get("DNSNames") or [])
    assert "llm-router" in names, networks["grt-router"]
    # No router on the local host: llm-router there is the proxy and nothing else.
    others = [n for n, c in found.items() if n != LINK_LOCAL and "grt-router" in c["NetworkSettings"]["Networks"]
              and "llm-router" in (c["NetworkSettings"]["Networks"]["grt-router"].get("Aliases") or [])]
    assert not others, others
    listening = {int(m) for m in re.findall(r":(\d+)\s", on_host(LOCAL, "ss", "-Hltn").stdout)}
    assert 8000 not in listening and 8443 not in listening, sorted(listening)


def test_a_renamed_theme_is_served_by_nginx_compressed_and_cached(host):
    # group_vars/ctfd/harness.yml renames the theme; the front proxy's static prefixes follow it.
    theme = yaml.safe_load((SCENARIO_DIR / "group_vars" / "ctfd" / "harness.yml").read_text())["ctfd_image_theme_name"]
    assert theme != role_defaults("grt_common")["grt_common_theme_name"]
    listing = run_ok(host, f"cd /opt/grt/ctfd/static && find themes/{theme}/static -name '*.js' | head -1").strip()
    assert listing, f"no JavaScript of the theme {theme} published under /opt/grt/ctfd/static"
    assert_static_from_nginx(host, listing)


def test_remote_publishes_only_the_link_port(split):
    found = {c["Name"].lstrip("/"): c for c in containers(REMOTE)}
    ports = {name: published(c) for name, c in found.items() if published(c)}
    assert ports == {LINK_REMOTE: {f"{split['port']}/tcp"}}, ports
    bindings = found[LINK_REMOTE]["HostConfig"]["PortBindings"][f"{split['port']}/tcp"]
    assert {b.get("HostPort") for b in bindings} == {str(split["port"])}, bindings
    router = router_container(REMOTE)
    assert not published(found[router]), found[router]["HostConfig"].get("PortBindings")
    assert found[LINK_REMOTE]["State"].get("Health", {}).get("Status") == "healthy", found[LINK_REMOTE]["State"]


# --- end to end -----------------------------------------------------------------------------------

def test_chat_from_ctfd_reaches_the_vendor_through_the_pair(split, router_token, vendor_key, vendor):
    marker = uuid.uuid4().hex
    body = generate_body(OPENAI_MODEL, f"end to end {marker}")
    answer = through_pair(body, token=router_token)
    assert answer["status"] == 200, answer
    reply = json.loads(answer["body"])
    assert reply["uuid"] == body["uuid"] and marker in reply["generation"], reply
    calls = vendor.calls_with(marker)
    assert len(calls) == 1, f"the vendor saw {len(calls)} calls for one uuid"
    assert calls[0]["authorization"] == f"Bearer {vendor_key}"


def test_ctfd_reaches_the_models_with_its_own_token(split):
    answer = through_pair(path="/chat/models")
    assert answer["status"] == 200, answer
    assert MOCK_MODEL in json.loads(answer["body"])["models"], answer


# --- the remote proxy from the vantage point -----------------------------------------------------

def test_right_client_gets_the_models_and_the_server_cert_verifies(split, certs, router_token):
    # https_request verifies the server's chain against our CA and its name (check_hostname).
    status, _, text, _ = remote_call(split, certs, "good", token=router_token)
    assert status == 200, text
    assert MOCK_MODEL in json.loads(text)["models"]


def test_no_client_certificate_is_refused(split, certs, router_token):
    # As the README says: nginx completes the TLS 1.3 handshake without a client certificate, then answers
    # 400 before the request reaches anything (no token check, no router).
    status, _, text, _ = remote_call(split, certs, "none", token=router_token)
    assert status == 400 and "No required SSL certificate was sent" in text, f"HTTP {status}: {text[:200]}"


def tls_handshake(split, group):
    """openssl s_client from the vantage point offering one key exchange group: (handshake done, its output)."""
    run = subprocess.run(["openssl", "s_client", "-brief", "-tls1_3", "-groups", group, "-connect",
                          f"{split['remote_ip']}:{split['port']}", "-servername", split["server_name"]],
                         input="", capture_output=True, text=True, timeout=30)
    output = run.stdout + run.stderr
    return "Protocol version: TLSv1.3" in output, output


@pytest.mark.parametrize("group", ["X25519", "prime256v1", "secp384r1"])
def test_the_modern_key_exchange_groups_are_accepted(split, group):
    done, output = tls_handshake(split, group)
    assert done, output[-1500:]


@pytest.mark.parametrize("group", ["X448", "secp521r1", "ffdhe2048"])
def test_other_key_exchange_groups_are_refused(split, group):
    done, output = tls_handshake(split, group)
    assert not done, output[-1500:]


def test_certificate_from_another_ca_is_refused(split, certs, router_token):
    ok, why = refused(split, certs, "other_ca", router_token)
    assert ok, why


def test_expired_certificate_is_refused(split, certs, router_token):
    ok, why = refused(split, certs, "expired", router_token)
    assert ok, why


def test_certificate_with_another_identity_is_refused(split, certs, router_token):
    try:
        status, _, text, _ = remote_call(split, certs, "other_cn", token=router_token)
    except Refused:
        return
    assert status == 403, f"HTTP {status}: {text[:200]}"


def test_missing_bearer_is_401(split, certs):
    status, _, text, _ = remote_call(split, certs, "good", token=None)
    assert status == 401, text[:200]


def test_wrong_bearer_is_403(split, certs):
    status, _, text, _ = remote_call(split, certs, "good", token=WRONG_TOKEN)
    assert status == 403, text[:200]


def test_tls12_only_client_is_refused(split, certs, router_token):
    with pytest.raises(Refused, match="handshake"):
        remote_call(split, certs, "tls12", token=router_token)


def test_only_the_router_paths_are_proxied(split, certs, router_token):
    for path in ("/", "/chat", "/chat/models/../../_standin/request", "/metrics"):
        status, _, _, _ = remote_call(split, certs, "good", path=path, token=router_token)
        assert status == 404, f"{path}: {status}"


def test_identical_concurrent_generates_reach_the_vendor_once(split, certs, router_token, vendor):
    marker = uuid.uuid4().hex
    body = generate_body(OPENAI_MODEL, f"dedup {marker}")
    vendor.configure(delay=3)
    barrier = threading.Barrier(2)
    answers = [None, None]

    def call(index):
        barrier.wait()
        try:
            answers[index] = remote_call(split, certs, "good", "POST", "/chat/generate", router_token, body, 60)
        except Refused as error:
            answers[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert all(isinstance(a, tuple) for a in answers), answers
    assert [a[0] for a in answers] == [200, 200], [(a[0], a[2][:200]) for a in answers]
    assert json.loads(answers[0][2]) == json.loads(answers[1][2]), [a[2] for a in answers]
    calls = vendor.calls_with(marker)
    assert len(calls) == 1, (f"the vendor saw {len(calls)} calls for two identical requests "
                             f"(X-GRT-Dedup: {[a[1].get('X-GRT-Dedup') for a in answers]})")


SPEND_CALLS = 60


def test_the_links_spend_guard_passes_at_most_its_burst_at_once(split, certs, router_token):
    """60 generate calls at once (each its own uuid) with the scenario's guard of 20 a second and a burst of
    20: the burst and what the rate refills pass, the rest are 429 in the router's error shape and never reach
    the router; a moment later a call passes again."""
    pins = fixtures()
    burst, per_second = pins["remote_proxy_generate_burst"], pins["remote_proxy_generate_per_minute"] / 60
    logged = len(access_log()[0])
    marker = uuid.uuid4().hex
    barrier = threading.Barrier(SPEND_CALLS)
    answers = [None] * SPEND_CALLS

    def call(index):
        barrier.wait()
        began = time.monotonic()
        answers[index] = remote_call(split, certs, "good", "POST", "/chat/generate", router_token,
                                     generate_body(MOCK_MODEL, f"spend {marker} {index}"), 60)[:3] + (began,)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(SPEND_CALLS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert all(answers), answers
    spread = max(a[3] for a in answers) - min(a[3] for a in answers)
    passed = [a for a in answers if a[0] == 200]
    limited = [a for a in answers if a[0] == 429]
    assert len(passed) + len(limited) == SPEND_CALLS, [(a[0], a[2][:100]) for a in answers]
    assert burst + 1 <= len(passed) <= burst + 1 + per_second * (spread + 1), (len(passed), spread)
    for status, headers, text, _ in limited:
        assert headers.get("Content-Type") == "application/json", headers
        assert json.loads(text)["error"].startswith("Rate limit exceeded"), text
    # The remote's log: each refused call has no upstream (the router never saw it).
    refused = [e for e in access_log()[0][logged:] if e["uri"] == "/chat/generate" and e["status"] == 429]
    assert len(refused) == len(limited) and all(e["upstream_status"] == "" for e in refused), refused
    wait_for(lambda: remote_call(split, certs, "good", "POST", "/chat/generate", router_token,
                                 generate_body(MOCK_MODEL, f"after {marker}"))[0] == 200, 10,
             "a generate call passing again")


# --- blips ----------------------------------------------------------------------------------------

def test_blip_during_a_generate_loses_and_duplicates_nothing(split, vendor):
    marker = uuid.uuid4().hex
    vendor.configure(delay=6)
    call = through_pair(generate_body(OPENAI_MODEL, f"blip {marker}"), background=True)
    # The request is in flight once the vendor has it; cut the link then, for 3 s.
    wait_for(lambda: vendor.calls_with(marker), 30, "the generate reaching the vendor")
    with link_cut(split["remote_ip"]) as cut:
        time.sleep(3)
    answer = call.finish(timeout=120)
    assert answer["status"] == 200, answer
    assert answer["start"] < cut["start"] and answer["end"] > cut["end"], "the cut was not during the call"
    assert marker in json.loads(answer["body"])["generation"], answer
    assert len(vendor.calls_with(marker)) == 1


def test_blip_before_a_generate_is_retried_once(split, vendor):
    marker = uuid.uuid4().hex
    with link_cut(split["remote_ip"]) as cut:
        call = through_pair(generate_body(OPENAI_MODEL, f"early blip {marker}"), background=True)
        call.wait_started(timeout=60)
        time.sleep(3)
    answer = call.finish(timeout=120)
    assert answer["status"] == 200, answer
    assert cut["start"] < answer["start"] < cut["end"] - 2.5, "the call did not start during the cut"
    time.sleep(2)
    assert len(vendor.calls_with(marker)) == 1


def test_cut_longer_than_the_budget_fails_within_the_budget_then_recovers(split, vendor):
    marker = uuid.uuid4().hex
    body = generate_body(OPENAI_MODEL, f"long cut {marker}")
    budget = split["budget"]
    with link_cut(split["remote_ip"]) as cut:
        answer = through_pair(body, timeout=budget + 60)
        # The cut outlasts the budget whatever the proxy did.
        time.sleep(max(0.0, cut["start"] + budget + 3 - time.time()))
    assert answer["status"] in (502, 504), answer
    # A clean failure: the router's error shape, which the plugin reads as an error.
    assert "router link" in json.loads(answer["body"])["error"], answer
    assert answer["seconds"] <= budget + 2, f"failed after {answer['seconds']:.1f} s (budget {budget} s)"
    # CTFd's retry of the same chat (same uuid) after the link is back: one generation.
    again = through_pair(body, timeout=budget + 60)
    assert again["status"] == 200, again
    assert marker in json.loads(again["body"])["generation"], again
    time.sleep(3)
    assert len(vendor.calls_with(marker)) == 1


def test_the_link_logs_are_files_that_logrotate_rotates_and_nginx_reopens(split, certs, router_token):
    """Both proxies write their access logs to files on the host (not the containers' stdout); logrotate's
    configuration for them, run now, rotates each: the next call is in the emptied file on both ends, and
    both reload and start again. The status report below then reads the last hour across the rotation."""
    log_dir = link_log_dir()
    proxies = ((LOCAL, "grt-link-local"), (REMOTE, LINK_REMOTE))
    marker = uuid.uuid4().hex
    # A line on each end that must end up in the rotated file: a path neither passes on (404).
    assert through_pair(path=f"/before-{marker}")["status"] == 404
    assert remote_call(split, certs, "good", path=f"/before-{marker}", token=router_token)[0] == 404
    for host, _ in proxies:
        access_log(host)  # flushed
        on_host(host, "logrotate", "--force", "/etc/logrotate.d/grt-link")
        rotated = on_host(host, "cat", f"{log_dir}/access.log.1").stdout
        assert f"/before-{marker}" in rotated, (host, rotated[-1500:])
    answer = through_pair(generate_body(MOCK_MODEL, f"rotated {marker}"))
    assert answer["status"] == 200, answer
    for host, container in proxies:
        # Moved aside without copytruncate, nginx would go on writing to the moved file (and no new one).
        entries, text = access_log(host)
        assert "/chat/generate" in [e["uri"] for e in entries] and marker not in text, (host, text[-2000:])
        assert on_host(host, "stat", "-c", "%a %U", log_dir).stdout.split() == ["750", "root"], host
        stdout = on_host(host, "docker", "logs", "--since", "5m", container).stdout
        assert '"uri":"/chat/generate"' not in stdout, f"{container} still logs calls to its stdout"
    # nginx's master (root without CAP_DAC_OVERRIDE) opens its logs again at a reload and at a start: the
    # rotation must leave it able to (a reopen, USR1, would have handed them to the workers' user).
    for host, container in proxies:
        on_host(host, "docker", "exec", container, "nginx", "-s", "reload")
        time.sleep(1)
        errors = on_host(host, "docker", "logs", "--since", "10s", container).stderr
        assert "[emerg]" not in errors, f"{container} after a reload: {errors[-1500:]}"
        on_host(host, "docker", "restart", container)
    wait_for(lambda: through_pair(generate_body(MOCK_MODEL, f"restarted {marker}"))["status"] == 200, 60,
             "a call through the pair after both proxies reloaded and restarted on their rotated logs")


def test_the_status_report_shows_the_blips_in_the_link_row_and_is_green_again(split):
    # A backup first, as an organiser would: the timer may not have run yet on this young host.
    backup = playbook("playbooks/backup.yml")
    assert backup.returncode == 0, backup.stdout[-3000:]
    run = status("-e", "status_format=json")
    assert run.returncode == 0, plain(run)[-4000:]
    facts = report_json(run)
    local = facts[LOCAL]["link"]["local proxy, last hour"]
    remote = facts[REMOTE]["link"]["remote proxy, last hour"]
    # The blips: the two short cuts were carried on kept-alive connections (TCP resent, nginx had nothing to
    # retry), so they show as slow calls; the cut longer than the budget as an error (504) - and the row warns.
    assert local["slow"] >= 2 and local["slowest_seconds"] >= split["budget"] - 1, local
    assert local["errors"] >= 1 and local["state"] == "warn", local
    assert isinstance(local["retries"], int) and "retries" in local["value"], local
    assert remote["requests"] >= 1, remote
    assert facts[LOCAL]["router path"]["GET /chat/models"]["state"] == "ok", facts[LOCAL]["router path"]
    certificates = set(facts[LOCAL]["certificate"]) | set(facts[REMOTE]["certificate"])
    assert {f"{TLS_DIR}/client.crt", f"{TLS_DIR}/server.crt"} <= certificates, certificates
    assert "router image" in facts[REMOTE]["version"] and "plugin" in facts[LOCAL]["version"]


# --- rotation -------------------------------------------------------------------------------------

def test_rotation_under_load_fails_no_request_and_puts_new_serials_in_use(split, certs, router_token):
    _, _, _, peer = remote_call(split, certs, "good", token=router_token)
    server_before = serial_of(peer)
    assert through_pair(path="/chat/models")["status"] == 200
    client_before = pair_client_serial(certs)
    assert client_before == host_cert_serial(LOCAL, f"{TLS_DIR}/client.crt")

    ephemeral = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    env = dict(os.environ)
    env.update({
        "ANSIBLE_VAULT_PASSWORD_FILE": "/var/tmp/grt-test/vault-pass",
        "ANSIBLE_ROLES_PATH": str(PROJECT_DIR / "roles"),
        # The rotation's output joins the converge's, scanned for secrets below.
        "ANSIBLE_LOG_PATH": str(ephemeral / "ansible.log"),
        "ANSIBLE_PIPELINING": "True",
    })
    logged = len(access_log()[0])
    loop = BackgroundClient(LOCAL, {"mode": "loop", "model": MOCK_MODEL, "interval": 0.1, "timeout": 60},
                            container=CTFD, python="python")
    try:
        # The loop is running once its requests show in the remote's log.
        wait_for(lambda: len(access_log()[0]) > logged + 4, 60, "the request loop through the pair")
        rotation = subprocess.run(
            ["ansible-playbook", "-i", str(ephemeral / "inventory"), "playbooks/rotate-certs.yml"],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=1200)
        time.sleep(3)
    finally:
        looped = loop.finish(timeout=120)
    assert rotation.returncode == 0, rotation.stdout[-4000:] + rotation.stderr[-2000:]
    assert looped["count"] > 0, looped
    assert looped["failed"] == 0, looped

    _, _, _, peer = remote_call(split, certs, "good", token=router_token)
    server_after = serial_of(peer)
    assert server_after != server_before, "the remote still presents the old server certificate"
    assert server_after == host_cert_serial(REMOTE, f"{TLS_DIR}/server.crt")
    assert through_pair(path="/chat/models")["status"] == 200
    client_after = pair_client_serial(certs)
    assert client_after != client_before, "the local proxy still uses the old client certificate"
    assert client_after == host_cert_serial(LOCAL, f"{TLS_DIR}/client.crt")
    # Reloaded, not recreated.
    for host_name, name in ((LOCAL, LINK_LOCAL), (REMOTE, LINK_REMOTE)):
        state = json.loads(on_host(host_name, "docker", "inspect", "-f", "{{json .State}}", name).stdout)
        assert state["Running"], (name, state)


# --- secrets --------------------------------------------------------------------------------------

def test_no_vendor_key_and_no_ca_key_anywhere_on_the_local_host(split, vendor_key):
    keys = [v for v in split["keys"].values() if isinstance(v, str) and len(v) >= 8]
    assert vendor_key in keys
    vault_text = (SCENARIO_DIR / "group_vars" / "router" / "keys.yml").read_text().splitlines()
    keys_vault = [line for line in vault_text[1:3] if len(line) >= 40]
    ca = ca_key_patterns(split)
    found = scan_files(LOCAL, keys + keys_vault + ca)
    assert not found, f"vendor key, vault file or CA key material in files on the local host: {found}"
    inspected = json.dumps(containers(LOCAL))
    images = on_host(LOCAL, "sh", "-c", "docker image inspect $(docker image ls -aq)").stdout
    for name, value in [("vendor key", k) for k in keys] + [("CA key", p) for p in ca]:
        assert value not in inspected, f"{name} in docker inspect of a container on the local host"
        assert value not in images, f"{name} in docker image inspect on the local host"


def test_remote_holds_the_vendor_key_only_in_the_router_and_no_ca_key(split, vendor_key):
    router = router_container(REMOTE)
    holders = []
    for c in containers(REMOTE):
        name = c["Name"].lstrip("/")
        if vendor_key in "\n".join(c["Config"].get("Env") or []):
            holders.append(name)
        elif vendor_key in json.dumps(c):
            holders.append(f"{name} (outside its environment)")
    assert holders == [router], holders
    found = scan_files(REMOTE, ca_key_patterns(split))
    assert not found, f"CA key material in files on the remote host: {found}"
    in_link = on_host(REMOTE, "sh", "-c", "grep -rlsF -f /dev/stdin /opt/grt/link; exit 0",
                      input=vendor_key + "\n").stdout.split()
    assert not in_link, in_link


def test_remote_access_log_has_no_secret_and_logs_client_serials(split, router_token, vendor_key):
    entries, text = access_log()
    assert entries, "no JSON access log lines from the remote proxy"
    assert any(entry_value(e, "serial") not in (None, "", "-") for e in entries), entries[-3:]
    for name, value in (("router token", router_token), ("vendor key", vendor_key), ("wrong token", WRONG_TOKEN)):
        assert value not in text, f"{name} in the remote proxy's log"
    assert "bearer" not in text.lower(), "an Authorization header in the remote proxy's log"


def test_no_secret_in_any_playbook_output(split, router_token, vendor_key):
    log = (pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "ansible.log").read_text()
    assert "PLAY RECAP" in log
    secrets = {"vendor key": vendor_key, "router token": router_token,
               "admin password": split["secrets"]["grt_ctfd_admin_password"],
               "CA passphrase": split["ca_passphrase"]}
    generated = on_host(LOCAL, "cat", "/opt/grt/ctfd/generated-secrets.json", check=False)
    if generated.returncode == 0:
        secrets.update({f"generated {k}": v for k, v in json.loads(generated.stdout).items()})
    for index, line in enumerate(ca_key_patterns(split)):
        secrets[f"CA key line {index}"] = line
    for host_name, name in ((LOCAL, "client"), (REMOTE, "server")):
        key = on_host(host_name, "cat", f"{TLS_DIR}/{name}.key").stdout
        for index, line in enumerate(pem_body_lines(key)):
            secrets[f"{name} key line {index}"] = line
    leaked = [name for name, value in secrets.items() if value and str(value) in log]
    assert not leaked, f"secrets in the Ansible output: {leaked}"
