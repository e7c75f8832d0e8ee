"""Docker on the controller, commands on the split scenario's test hosts, and cutting the link."""

import contextlib
import json
import subprocess
import time

from grt_split.scenario import LOCAL

HARNESS_NETWORK = "grt-test"
# Linux's clock is shared by every container of the machine: wall-clock times
# taken inside nested containers and on the controller are comparable.


def docker(*args, input=None, timeout=120, check=True):
    result = subprocess.run(["docker", *args], input=input, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args[:6])} ... exited {result.returncode}: "
                             f"{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return result


def harness_ip(container, network=HARNESS_NETWORK):
    """A test host's (or the vendor's) address on the harness network."""
    fmt = '{{(index .NetworkSettings.Networks "%s").IPAddress}}' % network
    ip = docker("inspect", "-f", fmt, container).stdout.strip()
    assert ip, f"{container} has no address on {network}"
    return ip


def on_host(host, *argv, input=None, timeout=120, check=True):
    """Run a command as root on a test host, from the controller (no Ansible, no file left behind)."""
    return docker("exec", "-i", host, *argv, input=input, timeout=timeout, check=check)


def container_image(host, container):
    return on_host(host, "docker", "inspect", "-f", "{{.Config.Image}}", container).stdout.strip()


def containers(host):
    """docker inspect of every container on a test host."""
    ids = on_host(host, "docker", "ps", "-aq").stdout.split()
    return json.loads(on_host(host, "docker", "inspect", *ids).stdout) if ids else []


def router_container(host):
    """The llm_router container (compose project grt-router, service router) on a host."""
    names = on_host(host, "docker", "ps", "-a", "--filter", "label=com.docker.compose.project=grt-router",
                    "--filter", "label=com.docker.compose.service=router", "--format", "{{.Names}}").stdout.split()
    assert len(names) == 1, f"router containers on {host}: {names}"
    return names[0]


@contextlib.contextmanager
def link_cut(remote_ip, host=LOCAL):
    """Drop every forwarded packet between the nested containers of `host` and remote_ip.

    Two rules at the top of FORWARD, removed again (exactly these two) on exit.
    Yields the wall-clock times as a dict {"start", "end"} (end set on exit).
    """
    rules = [["-d", remote_ip, "-j", "DROP"], ["-s", remote_ip, "-j", "DROP"]]
    inserted = []
    times = {"start": None, "end": None}
    try:
        for rule in rules:
            on_host(host, "iptables", "-w", "-I", "FORWARD", "1", *rule)
            inserted.append(rule)
        times["start"] = time.time()
        yield times
    finally:
        problems = []
        for rule in inserted:
            result = on_host(host, "iptables", "-w", "-D", "FORWARD", *rule, check=False)
            if result.returncode != 0:
                problems.append(result.stderr)
        times["end"] = time.time()
        assert not problems, f"could not remove the cut's iptables rules: {problems}"
