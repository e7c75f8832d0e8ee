"""site.yml's validation play stops bad input with one clear message before any tier runs.

The inventories here point at this machine over a local connection; the
validation play only reads (facts, argument specs), and every case fails
before the first tier's play, which the tests check.
"""

import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
FIRST_TIER_PLAY = "Docker Engine on every host that runs containers"


def run_site(tmp_path, inventory, *extra):
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    bin_dir = pathlib.Path(sys.executable).parent
    return subprocess.run(
        [str(bin_dir / "ansible-playbook"), "site.yml", "-i", str(path), *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def controller_host(host_vars=None):
    # Stand-ins for the vaulted secrets `make vault` creates, so each case reaches the check it is about.
    secrets = {"grt_router_token": "t" * 32, "grt_ctfd_admin_password": "p" * 16,
               "grt_openai_api_token": "", "grt_huggingface_api_token": ""}
    return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **secrets, **(host_vars or {})}


def inventory(host_vars=None, groups=("ctfd", "router")):
    children = {group: {"hosts": {"grt-test-controller": controller_host(host_vars)}} for group in groups}
    return {"all": {"children": {"docker_hosts": {"children": children}}}}


def assert_refused_before_any_host_is_touched(result, *messages):
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for message in messages:
        assert message in output
    assert "Gathering Facts" not in output
    assert FIRST_TIER_PLAY not in output


@pytest.mark.parametrize("inventory_file", ["inventories/monolith/hosts.yml", "inventories/split/hosts.yml"])
def test_shipped_inventories_parse_and_site_passes_syntax_check(inventory_file):
    bin_dir = pathlib.Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / "ansible-playbook"), "site.yml", "-i", inventory_file, "--syntax-check"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_missing_group_is_refused_before_any_host_is_touched(tmp_path):
    result = run_site(tmp_path, inventory(groups=("ctfd",)))
    assert_refused_before_any_host_is_touched(result, "Inventory group 'router' is empty or missing")


def test_wrong_type_is_refused_by_the_argument_spec_before_any_tier(tmp_path):
    result = run_site(tmp_path, inventory({"docker_host_daemon_options": "live-restore"}))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "docker_host_daemon_options" in output
    assert "dict" in output
    assert FIRST_TIER_PLAY not in output


def test_bad_choice_is_refused_with_the_allowed_values(tmp_path):
    result = run_site(tmp_path, inventory({"docker_host_install_source": "snap"}))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "docker_host_install_source" in output and "auto, docker, distro" in output
    assert FIRST_TIER_PLAY not in output


def test_mirror_without_scheme_is_refused_by_preflight(tmp_path):
    result = run_site(tmp_path, inventory({"docker_host_registry_mirrors": ["mirror.example:5000"]}))
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "docker_host_registry_mirrors takes URLs" in output
    assert FIRST_TIER_PLAY not in output


@pytest.mark.parametrize(("host_vars", "expected"), [
    # Today's real CTFd with 2 workers may open 2 x (5 + 20) = 50: no headroom at all.
    ({"ctfd_workers": 2, "ctfd_db_max_overflow": 20, "ctfd_concurrent_chats": 40, "ctfd_auth_lane": False,
      "ctfd_db_max_connections": 50}, "ctfd_db_max_connections (50) must be at least that"),
    # 60 chats cannot fit in 2 x 20 overflow connections.
    ({"ctfd_workers": 2, "ctfd_db_max_overflow": 20, "ctfd_concurrent_chats": 60},
     "must carry ctfd_concurrent_chats (60)"),
    ({"ctfd_db_connections_per_worker": 20}, "ctfd_db_connections_per_worker is no longer read"),
])
def test_database_sizing_that_cannot_hold_ctfds_pools_is_refused(tmp_path, host_vars, expected):
    """ctfd's preflight (the one the validation play runs) on this machine, with the sizing given."""
    result = ctfd_preflight(tmp_path, host_vars)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert expected in output, output[-3000:]


def test_default_database_sizing_passes_for_any_worker_count(tmp_path):
    for workers in (1, 2, 3, 8):
        result = ctfd_preflight(tmp_path, {"ctfd_workers": workers})
        assert result.returncode == 0, result.stdout[-3000:]


def ctfd_preflight(tmp_path, host_vars, role="ctfd"):
    playbook = tmp_path / "sizing.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": f"{role}'s preflight", "hosts": "all", "gather_facts": False,
        "tasks": [{"name": f"Preflight of {role}",
                   "ansible.builtin.include_role": {"name": role, "tasks_from": "preflight"}}]}]))
    inventory_path = tmp_path / "hosts.yml"
    inventory_path.write_text(yaml.safe_dump({"all": {"hosts": {"grt-test-controller": controller_host(host_vars)}}}))
    bin_dir = pathlib.Path(sys.executable).parent
    result = subprocess.run([str(bin_dir / "ansible-playbook"), str(playbook), "-i", str(inventory_path)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_ROLES_PATH=str(ROOT / "roles")))
    return result


def test_a_refused_argument_never_prints_the_vaulted_secrets(tmp_path):
    """A failed argument check prints the role's specs with their defaults templated:
    the secrets' options default to '' and fall back to the vault only inside the roles."""
    secrets = {"grt_router_token": "router-token-must-not-show-" + "x" * 8,
               "grt_ctfd_admin_password": "admin-password-must-not-show",
               "grt_openai_api_token": "sk-vendor-key-must-not-show"}
    playbook = tmp_path / "refuse.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Each role refuses a bad option", "hosts": "all", "gather_facts": False,
        "tasks": [{"name": f"Refuse {role}",
                   "block": [{"name": f"Preflight of {role}", "vars": {option: "not-a-number"},
                              "ansible.builtin.include_role": {"name": role, "tasks_from": "preflight"}}],
                   "rescue": [{"name": "Next role", "ansible.builtin.debug": {"msg": "refused"}}]}
                  for role, option in (("ctfd", "ctfd_workers"), ("ctfd_setup", "ctfd_setup_manage_index_page"),
                                       ("llm_router", "llm_router_mock_models"))]}]))
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **secrets}
    inventory_path = tmp_path / "hosts.yml"
    inventory_path.write_text(yaml.safe_dump({"all": {"hosts": {"grt-test-controller": host}}}))
    bin_dir = pathlib.Path(sys.executable).parent
    result = subprocess.run([str(bin_dir / "ansible-playbook"), str(playbook), "-i", str(inventory_path), "-v"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_ROLES_PATH=str(ROOT / "roles")))
    output = result.stdout + result.stderr
    assert output.count("argument_errors:") == 3, output
    for name, value in secrets.items():
        assert value not in output, f"{name} printed by a failed argument check"


def test_split_layout_with_the_venue_host_in_the_router_group_is_refused(tmp_path):
    # A venue ("local") host that is also a router host would read the vendor keys.
    result = run_site(tmp_path, inventory(groups=("ctfd", "router", "local", "remote")))
    assert_refused_before_any_host_is_touched(result, "The split layout needs CTFd hosts in 'local'")


def test_split_layout_without_the_link_ca_passphrase_gets_the_make_vault_hint(tmp_path):
    layout = {"all": {"children": {"docker_hosts": {"children": {
        "ctfd": {"children": {"local": {"hosts": {"grt-test-venue": controller_host()}}}},
        "router": {"children": {"remote": {"hosts": {"grt-test-cloud": controller_host()}}}}}}}}}
    result = run_site(tmp_path, layout)
    assert_refused_before_any_host_is_touched(result, "grt_link_ca_passphrase is not defined", "run `make vault`")


def run_ctfd_setup_alone(tmp_path, validated):
    """ctfd_setup as a role run on its own (in check mode, on this machine: it only reads), with an empty CTF
    name its preflight refuses; `validated` stands for the validation play having passed earlier in the run."""
    pre_tasks = [{"name": "The validation play passed", "ansible.builtin.set_fact": {"grt_validated": True}}]
    playbook = tmp_path / "alone.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "ctfd_setup on its own", "hosts": "all", "gather_facts": False,
        "pre_tasks": pre_tasks if validated else [], "roles": ["ctfd_setup"]}]))
    inventory_path = tmp_path / "hosts.yml"
    inventory_path.write_text(yaml.safe_dump({"all": {"hosts": {"grt-test-controller": controller_host(
        {"ctfd_setup_ctf_name": ""})}}}))
    bin_dir = pathlib.Path(sys.executable).parent
    return subprocess.run([str(bin_dir / "ansible-playbook"), str(playbook), "-i", str(inventory_path), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_ROLES_PATH=str(ROOT / "roles")))


def test_a_role_run_on_its_own_checks_its_input(tmp_path):
    result = run_ctfd_setup_alone(tmp_path, validated=False)
    assert result.returncode != 0
    assert "ctfd_setup_theme and ctfd_setup_ctf_name must not be empty" in result.stdout, result.stdout[-3000:]


def test_a_role_skips_its_preflight_once_the_validation_play_passed(tmp_path):
    """One check per run: after validate.yml (which sets grt_validated), the role's own preflight is not run."""
    result = run_ctfd_setup_alone(tmp_path, validated=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Preflight |" not in result.stdout


def test_the_validation_play_marks_its_hosts_validated_last():
    """grt_validated is set by validate.yml's last play, after every check, on every host a role checks."""
    plays = yaml.safe_load((ROOT / "playbooks" / "validate.yml").read_text())
    checked = {group for play in plays[1:-1] for group in play["hosts"].split(":")}
    last = plays[-1]
    assert last["tasks"] == [{"name": last["tasks"][0]["name"], "ansible.builtin.set_fact": {"grt_validated": True}}]
    assert checked <= set(last["hosts"].split(":"))
    assert all(play.get("any_errors_fatal") for play in plays[:-1])
    for main in ROOT.glob("roles/*/tasks/main.yml"):
        # The controller's git_archive and link_pki check each call's own input (one per source or certificate).
        if (main.parent / "preflight.yml").exists() and main.parent.parent.name not in ("git_archive", "link_pki"):
            tasks = yaml.safe_load(main.read_text())
            assert {"name": tasks[0]["name"], "ansible.builtin.include_tasks": "preflight.yml",
                    "when": "not grt_validated | default(false)"} == tasks[0], main


@pytest.mark.parametrize(("role", "host_vars", "expected"), [
    ("front_proxy", {"front_proxy_allowed_sources": ["10.1.0.0/16", "2001:db8::/32", "venue"]},
     "front_proxy_allowed_sources takes IPv4 addresses or networks in CIDR notation, such as 198.51.100.7 or "
     "10.20.0.0/16 (not valid: ['2001:db8::/32', 'venue'])"),
    ("front_proxy", {"front_proxy_allowed_sources": ["10.1.0.0/16"], "front_proxy_bind_address": "::"},
     "so they cannot be bound to an IPv6 address ('::') then"),
    ("front_proxy", {"front_proxy_admin_sources": ["192.0.2.0/24", "organisers"]},
     "front_proxy_admin_sources takes IPv4/IPv6 addresses or networks in CIDR notation"),
    ("front_proxy", {"front_proxy_memory_limit": "256 MB"}, "front_proxy_memory_limit must be a size"),
    ("front_proxy", {"front_proxy_allowed_sources": ["10.1.0.0/16"], "front_proxy_https_port": 2222,
                     "ansible_connection": "ssh", "ansible_port": 2222},
     "front_proxy_allowed_sources would guard port 2222, the port Ansible connects to this host on"),
    ("ctfd", {"ctfd_db_memory_limit": "2 GiB"}, "ctfd_db_memory_limit=2 GiB"),
])
def test_bad_guard_admin_and_memory_input_is_refused_with_its_message(tmp_path, role, host_vars, expected):
    result = ctfd_preflight(tmp_path, host_vars, role=role)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert expected in output, output[-3000:]


def test_an_unguarded_link_port_is_a_warning_not_a_refusal(tmp_path):
    names = {"remote_proxy_allowed_clients": ["grt-venue"]}
    open_port = ctfd_preflight(tmp_path, names, role="remote_proxy")
    output = " ".join((open_port.stdout + open_port.stderr).split())
    assert open_port.returncode == 0, output[-3000:]
    assert "[WARNING]: remote_proxy_allowed_sources is empty: anyone on the Internet can reach" in output
    guarded = ctfd_preflight(tmp_path, dict(names, remote_proxy_allowed_sources=["203.0.113.45"]), role="remote_proxy")
    assert guarded.returncode == 0 and "remote_proxy_allowed_sources is empty" not in guarded.stdout + guarded.stderr
