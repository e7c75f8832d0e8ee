"""Venue mode, last in file order: the converged monolith is staged at home (playbooks/stage.yml writes the
scenario's image lock), then cut off from the harness registry and from everything outside the test network
(as a venue host with only the controller and the LLM vendor in reach). A re-run changes nothing and pulls
nothing, a host restart brings every container back healthy, and an image removed by hand fails the run at once,
naming it and stage.yml. Staging again at home brings it back.
"""

import re
import shlex
import subprocess
import time
import urllib.request

import pytest
import yaml
from grt_backup_checks import BACKUP, EPHEMERAL, client, has_data, playbook, said
from grt_status_checks import plain, report_json, status
from grt_testinfra import all_healthy, docker_json, run_ok, wait_for_command, wait_until

testinfra_hosts = ["ansible://grt-molecule-monolith"]

HOST = "grt-molecule-monolith"
LOCK = EPHEMERAL / "inventory" / "images.lock.yml"
REGISTRY = "http://127.0.0.1:5000"  # the harness registry, as the controller reaches it
MANIFESTS = ", ".join([
    "application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"])
# The venue's network, on the host: nothing to the registry, nothing outside the private ranges (where the test
# network, the vendor and Docker's own networks are); from the host itself and from its containers. A unit that
# runs before Docker, so that a restart comes up cut off too.
OFFLINE = """#!/bin/sh
registry=$(getent hosts grt-registry | cut -d' ' -f1)
iptables -D OUTPUT -j GRT-TEST-OFFLINE 2>/dev/null
iptables -D DOCKER-USER -j GRT-TEST-OFFLINE 2>/dev/null
iptables -F GRT-TEST-OFFLINE 2>/dev/null && iptables -X GRT-TEST-OFFLINE
[ "$1" = on ] || exit 0
set -e
iptables -N GRT-TEST-OFFLINE
iptables -A GRT-TEST-OFFLINE -d "$registry" -j DROP
for private in 127.0.0.0/8 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16; do
  iptables -A GRT-TEST-OFFLINE -d $private -j RETURN
done
iptables -A GRT-TEST-OFFLINE -j DROP
iptables -N DOCKER-USER 2>/dev/null || true
iptables -I OUTPUT -j GRT-TEST-OFFLINE
iptables -I DOCKER-USER -j GRT-TEST-OFFLINE
"""
UNIT = """[Unit]
Description=Test: the host cut off from the registry and the outside (test_monolith_venue.py)
Before=docker.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/grt-test-offline on
ExecStop=/usr/local/sbin/grt-test-offline off
[Install]
WantedBy=multi-user.target
"""
# CTFd's row counts before the database container and its image are removed.
COUNTED = {}


@pytest.fixture(scope="module", autouse=True)
def lock_removed_afterwards():
    yield
    # The scenario's later runs start at home again (prepare.yml removes a leftover too).
    LOCK.unlink(missing_ok=True)


def recap_changed(run, host=HOST):
    found = re.search(rf"^{re.escape(host)}\s+:\s+ok=\d+\s+changed=(\d+)", plain(run), re.M)
    assert found, plain(run)[-3000:]
    return int(found.group(1))


def changed_tasks(run, host=HOST):
    """The names of the tasks that reported a change on the host."""
    names, task = [], None
    for line in plain(run).splitlines():
        if line.startswith("TASK ["):
            task = line.split("[", 1)[1].rsplit("]", 1)[0]
        elif line.startswith(f"changed: [{host}"):
            names.append(task)
    return names


def lock():
    return yaml.safe_load(LOCK.read_text())["all"]["vars"]["grt_images_lock"]


def image_events(host, since):
    """Every image event (pull, tag, build, load, delete...) on the host since `since` (epoch seconds)."""
    return run_ok(host, f"docker events --since {since} --until $(date +%s) --filter type=image "
                        "--format '{{.Action}} {{.Actor.ID}}'").split("\n")[:-1]


def host_now(host):
    return run_ok(host, "date +%s.%N").strip()


def offline(host, state):
    run_ok(host, f"systemctl {'enable --now' if state else 'disable --now'} grt-test-offline.service")


def cut_off(host):
    return host.run("curl -sS -m 5 -o /dev/null http://grt-registry:5000/v2/").rc != 0


def test_staging_the_converged_host_locks_every_image(host):
    run = playbook("playbooks/stage.yml")
    assert run.returncode == 0, said(run)[-3000:]
    # The upgrade tests before this one end on a failed (rolled back) run, so the stage may finish what that
    # run left; the re-run below, after the stage, must change nothing.
    print(f"venue: the stage changed {recap_changed(run)} task(s) on the host: {changed_tasks(run)}")
    locked = lock()
    ctfd = docker_json(host, "docker inspect grt-ctfd")[0]
    # Every image the host runs, and the one CTFd's image is built from.
    running = {c["Config"]["Image"] for c in docker_json(host, "docker inspect $(docker ps -q)")}
    assert running <= set(locked["images"].values()) | set(locked["built"][HOST]), running
    assert any(tag.startswith("ctfd/ctfd:") for tag in locked["images"]), locked
    assert locked["built"][HOST][ctfd["Config"]["Image"]] == ctfd["Image"]
    # The one host pulled every locked tag: the validation play checks them all before any change.
    assert locked["pulled"] == {HOST: sorted(locked["images"])}, locked["pulled"]


def test_the_lock_holds_the_digests_the_registry_serves(host):
    for tag, ref in lock()["images"].items():
        repository, _, version = tag.rpartition(":")
        path = repository if "/" in repository else "library/" + repository
        request = urllib.request.Request(f"{REGISTRY}/v2/{path}/manifests/{version}", method="HEAD",
                                         headers={"Accept": MANIFESTS})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert ref == f"{repository}@{response.headers['Docker-Content-Digest']}", tag


def test_every_compose_file_runs_the_locked_images_and_never_pulls(host):
    locked = lock()
    allowed = set(locked["images"].values()) | set(locked["built"][HOST])
    files = run_ok(host, "ls /opt/grt/*/compose.yaml").split()
    assert len(files) >= 3, files
    for path in files:
        services = yaml.safe_load(run_ok(host, f"cat {path}"))["services"]
        for name, service in services.items():
            assert service.get("pull_policy") == "never", f"{path}: {name} has pull_policy {service.get('pull_policy')}"
            assert service["image"] in allowed, f"{path}: {name} runs {service['image']}"


def test_cut_off_a_rerun_changes_nothing_and_pulls_or_builds_nothing(host):
    run_ok(host, f"printf '%s' {shlex.quote(OFFLINE)} > /usr/local/sbin/grt-test-offline"
                 " && chmod 0755 /usr/local/sbin/grt-test-offline"
                 f" && printf '%s' {shlex.quote(UNIT)} > /etc/systemd/system/grt-test-offline.service"
                 " && systemctl daemon-reload")
    offline(host, True)
    assert cut_off(host)
    stack = set(run_ok(host, "docker ps --format '{{.Names}}'").split())
    since, started = host_now(host), time.monotonic()
    run = playbook("site.yml")
    print(f"venue: the offline no-op site.yml took {time.monotonic() - started:.0f} s")
    assert run.returncode == 0, said(run)[-3000:]
    assert recap_changed(run) == 0, changed_tasks(run)
    assert image_events(host, since) == []
    # No container of the stack was made again (throwaway probes, such as CTFd's router check, come and go).
    created = run_ok(host, f"docker events --since {since} --until $(date +%s) --filter type=container "
                           "--filter event=create --format '{{.Actor.Attributes.name}}'").split()
    assert not set(created) & stack, created


def test_at_the_venue_the_status_report_is_green_with_every_container_on_its_locked_image(host):
    assert cut_off(host)
    run = status("-e", "status_format=json")
    assert run.returncode == 0, plain(run)[-3000:]
    containers = report_json(run)[HOST]["container"]
    assert set(containers) == set(run_ok(host, "docker ps --format '{{.Names}}'").split()), containers
    assert all(c["locked"] and c["state"] == "ok" for c in containers.values()), containers


def test_a_host_restart_with_no_network_brings_every_container_back_healthy_with_its_data(host):
    subprocess.run(["docker", "restart", HOST], check=True, capture_output=True)
    wait_for_command(host, "docker info", timeout=180, interval=3, what="the engine back after the host restart")
    assert cut_off(host), "the host came back with network: the test proves nothing"
    wait_until(lambda: all_healthy(host), timeout=420, interval=5, what="every container healthy after the host restart")
    state = client(host, "check")
    assert state == {"page_status": 200, "page_ok": True, "file_status": 200, "file_ok": True}, state


def test_an_image_missing_at_the_venue_fails_the_run_at_once_naming_it_and_stage_yml(host):
    db = lock()["images"]["mariadb:10.11"]
    COUNTED["before"] = has_data(host)["counted"]
    run_ok(host, f"docker rm -f grt-ctfd-db && docker rmi -f $(docker image inspect -f '{{{{.Id}}}}' {db})")
    since, started = host_now(host), time.monotonic()
    run = playbook("site.yml")
    print(f"venue: the run with an image missing failed after {time.monotonic() - started:.0f} s")
    assert run.returncode != 0
    text = said(run)
    assert f"mariadb:10.11 (locked as {db}) is not on {HOST}" in text, text[-3000:]
    assert "ansible-playbook playbooks/stage.yml" in text, text[-3000:]
    # Found by the validation play, before any host changed: nothing ran past it.
    assert "no host was changed" in text and recap_changed(run) == 0, text[-3000:]
    assert "TASK [docker_host : Configure" not in plain(run), "the run went past the validation play"
    assert image_events(host, since) == []
    # Nor does compose try, when an operator brings the stack up by hand (pull_policy: never).
    by_hand = host.run("cd /opt/grt/ctfd && timeout 120 docker compose up -d 2>&1")
    print(f"venue: `docker compose up` by hand: rc {by_hand.rc}: {by_hand.stdout.strip()[-300:]}")
    assert by_hand.rc not in (0, 124), by_hand.stdout
    assert "Pulling" not in by_hand.stdout, by_hand.stdout


def test_staging_again_at_home_brings_the_image_back_with_the_same_lock(host):
    before = LOCK.read_text()
    offline(host, False)
    assert not cut_off(host)
    run = playbook("playbooks/stage.yml")
    assert run.returncode == 0, said(run)[-3000:]
    assert LOCK.read_text() == before
    wait_until(lambda: all_healthy(host), timeout=300, interval=5, what="every container healthy after the stage")
    # The database container is made again by the stage: it may take a moment to answer a client after its
    # health check passed (a clean-clone CI run once got "exit ...: no output" here).
    wait_for_command(host, f"{BACKUP} has-data", timeout=60, interval=3, what="the database answering")
    assert has_data(host)["counted"] == COUNTED["before"]
