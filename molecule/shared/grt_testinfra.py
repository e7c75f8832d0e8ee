"""Helpers shared by the Molecule scenarios' testinfra tests.

They run on the controller; `host` is testinfra's handle on a test host.
"""

import copy
import json
import os
import pathlib
import re
import time

import yaml

PROJECT_DIR = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).parents[2]))
MANIFEST = PROJECT_DIR / "test-fixtures" / "images" / "manifest"


def _defaults_file(role):
    return yaml.safe_load((PROJECT_DIR / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def role_defaults(role):
    """The role's defaults/main.yml as a dict, with the shared names they default to (grt_common's
    defaults, `{{ grt_common_* }}`) filled in, as Ansible would."""
    common = _defaults_file("grt_common")

    def resolve(value):
        if not isinstance(value, str):
            return value
        whole = re.fullmatch(r"\{\{ (grt_common_\w+) \}\}", value)
        if whole:
            return common[whole.group(1)]
        return re.sub(r"\{\{ (grt_common_\w+) \}\}", lambda m: str(common[m.group(1)]), value)

    return {key: resolve(value) for key, value in _defaults_file(role).items()}


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
    """The upstream name:tag the harness pushed for `repository` (e.g. 'nginx' -> 'nginx:1.30')."""
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


def containers(host):
    """docker inspect of every container on the host (running or not)."""
    ids = run_ok(host, "docker ps -aq").split()
    return docker_json(host, "docker inspect " + " ".join(ids))


def all_healthy(host, at_least=7):
    found = containers(host)
    return len(found) >= at_least and all(
        c["State"]["Running"] and c["State"].get("Health", {}).get("Status") == "healthy" for c in found)


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


def wait_for_command(host, command, timeout=60, interval=1, what=None):
    """Run `command` on the host until it succeeds or `timeout` seconds pass; a timeout names the last try's
    exit status and output."""
    last = None

    def succeeds():
        nonlocal last
        last = host.run(command)
        return last.rc == 0

    try:
        wait_until(succeeds, timeout=timeout, interval=interval)
    except AssertionError:
        raise AssertionError(f"{what or command} not reached within {timeout} s: exit {last.rc}: "
                             f"{(last.stdout + last.stderr).strip()[-1000:]}") from None
    return last


def assert_static_from_nginx(host, path):
    """The static file at URL path /<path> comes from the front proxy's nginx (published under
    /opt/grt/ctfd/static): 200, gzipped, with a long Cache-Control, and the same bytes as on disk."""
    headers = run_ok(host, f"curl -ksS -D - -o /dev/null -H 'Accept-Encoding: gzip' https://127.0.0.1/{path}")
    assert re.search(r"^HTTP/\S+ 200", headers, re.M), headers
    assert re.search(r"^content-encoding: gzip", headers, re.M | re.I), headers
    assert re.search(r"^cache-control: .*max-age=\d{6,}", headers, re.M | re.I), headers
    body = run_ok(host, f"curl -ksS --compressed https://127.0.0.1/{path} | sha256sum").split()[0]
    on_disk = run_ok(host, f"sha256sum /opt/grt/ctfd/static/{path}").split()[0]
    assert body == on_disk


def readme_hardening():
    """The README's "Containers, hardened" table: container name -> {caps, read_only, memory_var}."""
    text = (PROJECT_DIR / "README.md").read_text()
    section = text.split("\n### Containers, hardened\n", 1)[1].split("\n#", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`grt-"):
            rows[cells[0].strip("`")] = {
                "caps": sorted([] if cells[1] == "none" else [cap.strip() for cap in cells[1].split(",")]),
                "read_only": {"yes": True, "no": False}[cells[2]],
                "memory_var": cells[3].strip("`"),
            }
    return rows


def size_in_bytes(value):
    """A size as Docker reads mem_limit (512m, 2g, bytes) in bytes."""
    number, unit = re.fullmatch(r"(\d+)([bkmg]?)", str(value).lower()).groups()
    return int(number) * 1024 ** "bkmg".index(unit or "b")


def hardening_problems(inspected, row, memory_limit):
    """What in a container's docker inspect differs from its README row and its memory limit variable."""
    config = inspected["HostConfig"]
    name = inspected["Name"].lstrip("/")
    found = {
        "cap_drop": config.get("CapDrop") or [],
        "cap_add": sorted(cap.removeprefix("CAP_") for cap in config.get("CapAdd") or []),
        "no-new-privileges": any(opt in ("no-new-privileges", "no-new-privileges:true")
                                 for opt in config.get("SecurityOpt") or []),
        "read_only": config.get("ReadonlyRootfs"),
        "memory": config.get("Memory"),
        "network_mode": config.get("NetworkMode"),
    }
    wanted = {"cap_drop": ["ALL"], "cap_add": row["caps"], "no-new-privileges": True, "read_only": row["read_only"],
              "memory": size_in_bytes(memory_limit)}
    problems = [f"{name}: {key} is {found[key]!r}, the README says {value!r}"
                for key, value in wanted.items() if found[key] != value]
    if found["network_mode"] == "host":
        problems.append(f"{name}: on the host network")
    return problems
