"""Helpers shared by the Molecule scenarios' testinfra tests.

They run on the controller; `host` is testinfra's handle on a test host.
"""

import copy
import json
import os
import pathlib
import time

import yaml

PROJECT_DIR = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).parents[2]))
MANIFEST = PROJECT_DIR / "test-fixtures" / "images" / "manifest"


def role_defaults(role):
    """The role's defaults/main.yml as a dict."""
    path = PROJECT_DIR / "roles" / role / "defaults" / "main.yml"
    return yaml.safe_load(path.read_text()) or {}


def role_vars(host, role):
    """The role's variables for this host: defaults overlaid with the inventory's values."""
    values = role_defaults(role)
    inventory = host.ansible.get_variables()
    values.update({k: v for k, v in inventory.items() if k.startswith(role + "_")})
    return values


def merge(base, extra):
    """Recursive dict merge with the semantics of Ansible's combine(recursive=true)."""
    result = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def offline_image(repository):
    """The upstream name:tag the harness pushed for `repository` (e.g. 'nginx' -> 'nginx:1.26')."""
    for line in MANIFEST.read_text().splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) == 3:
            name = fields[2].removeprefix("library/")
            if name.split(":", 1)[0] == repository:
                return name
    raise LookupError(f"{repository} is not in {MANIFEST}")


def run_ok(host, command):
    """Run a command on the host as root; fail the test with its output unless it exits 0."""
    with host.sudo():
        result = host.run(command)
    assert result.rc == 0, f"{command!r} exited {result.rc}: {result.stdout}{result.stderr}"
    return result.stdout


def docker_json(host, command):
    """Run a docker command whose output is JSON and parse it."""
    return json.loads(run_ok(host, command))


def wait_until(predicate, timeout=60, interval=1, what="condition"):
    """Poll predicate() until it returns a truthy value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout} s (last: {last!r})")
