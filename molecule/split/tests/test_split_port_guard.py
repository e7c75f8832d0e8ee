"""The cloud host's port guard (a chain Docker's DOCKER-USER jumps to): the link's port lets in only
remote_proxy_allowed_sources - the venue host and the controller here - and drops everyone else before TLS,
also after Docker restarts and after the whole host restarts. Last of the scenario's files: it restarts the
cloud host. The link containers' hardening is checked here too (the monolith checks the rest)."""

import json
import time

from grt_split.hosts import docker, harness_ip, on_host
from grt_split.scenario import LOCAL, REMOTE, fixtures
from grt_testinfra import hardening_problems, readme_hardening, role_defaults

testinfra_hosts = [f"ansible://{REMOTE}"]

# Another machine on the same network as the venue host: not an allowed source.
OTHER = "grt-molecule-split-vendor"

# Run on a test host: "dropped" when the TCP connection gets no answer, else what the TLS handshake gave (TLS 1.3
# completes without a client certificate; the remote then answers 400).
PROBE = r"""
import socket, ssl, sys
try:
    sock = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
except socket.timeout:
    print("dropped")
    raise SystemExit
except OSError as error:
    print(f"refused: {error}")
    raise SystemExit
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
print("tls", context.wrap_socket(sock).version())
"""


def probe(where, address, port):
    return on_host(where, "python3", "-c", PROBE, address, str(port), timeout=30).stdout.strip()


def link_port(host):
    return int(host.ansible.get_variables().get("remote_proxy_port")
               or role_defaults("remote_proxy")["remote_proxy_port"])


def assert_only_the_allowed_sources_get_in(host, when):
    address, port = harness_ip(REMOTE), link_port(host)
    assert harness_ip(LOCAL) in fixtures()["remote_proxy_allowed_sources"]
    assert harness_ip(OTHER) not in fixtures()["remote_proxy_allowed_sources"]
    assert probe(OTHER, address, port) == "dropped", f"{when}: {OTHER} reached the link's port"
    assert probe(LOCAL, address, port) == "tls TLSv1.3", f"{when}: the venue host did not get in"


def wait_for_the_link(timeout=180):
    """Until the remote's nginx is healthy again (after a restart of Docker or of the host)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = on_host(REMOTE, "docker", "inspect", "-f", "{{.State.Health.Status}}", "grt-link-remote",
                        check=False, timeout=30)
        if state.returncode == 0 and state.stdout.strip() == "healthy":
            return
        time.sleep(2)
    raise AssertionError(f"grt-link-remote not healthy within {timeout} s")


def test_the_link_containers_are_hardened_as_the_readme_lists():
    table = readme_hardening()
    problems = []
    for host, name, role in ((REMOTE, "grt-link-remote", "remote_proxy"), (LOCAL, "grt-link-local", "local_proxy")):
        inspected = json.loads(on_host(host, "docker", "inspect", name).stdout)[0]
        problems += hardening_problems(inspected, table[name], role_defaults(role)[table[name]["memory_var"]])
    assert not problems, "\n".join(problems)


def test_the_link_port_drops_every_source_but_the_allowed_ones(host):
    assert_only_the_allowed_sources_get_in(host, "as converged")
    # Docker's DOCKER-USER jumps to the guards' chain, which holds this host's guard (with its digest).
    assert "-A DOCKER-USER -j GRT-PORT-GUARD" in on_host(REMOTE, "iptables", "-S", "DOCKER-USER").stdout
    chain = on_host(REMOTE, "iptables", "-S", "GRT-PORT-GUARD").stdout
    assert "grt-docker-user" in chain and "--ctorigdstport" in chain, chain


def test_the_port_guard_stays_through_a_docker_restart_and_a_host_restart(host):
    address = harness_ip(REMOTE)
    on_host(REMOTE, "systemctl", "restart", "docker", timeout=120)
    wait_for_the_link()
    assert_only_the_allowed_sources_get_in(host, "after systemctl restart docker")

    # The whole cloud host: its network namespace (and every rule in it) is made anew; systemd starts the
    # guard's unit before Docker, which starts the containers.
    docker("restart", REMOTE, timeout=120)
    wait_for_the_link()
    assert harness_ip(REMOTE) == address, "the cloud host came back with another address"
    assert_only_the_allowed_sources_get_in(host, "after a restart of the host")
