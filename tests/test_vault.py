"""The vault workflow of a fresh clone: `make vault` (tools/vault-init.sh),
ansible.cfg's password script (tools/vault-password), and the validation
play's message when the vaulted secrets are missing."""

import os
import pathlib
import stat
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent


def run(*args, env=None, cwd=ROOT):
    env = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", ANSIBLE_NOCOLOR="1", **(env or {}))
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def view(path, password_file):
    # Through ansible.cfg's vault_password_file script, as `ansible-vault view` in the README does.
    result = run(str(BIN / "ansible-vault"), "view", str(path), env={"GRT_VAULT_PASSWORD_FILE": str(password_file)})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_vault_init_creates_encrypted_files_with_generated_secrets(tmp_path):
    password = tmp_path / "pass"
    result = run("tools/vault-init.sh", "--dir", str(tmp_path / "gv"), "--password-file", str(password),
                 env={"GRT_OPENAI_API_TOKEN": "sk-it's-a-test"})
    assert result.returncode == 0, result.stderr
    vaulted = [tmp_path / "gv" / name for name in ("all/secrets.yml", "router/keys.yml", "all/link_ca.yml")]
    for path in [password, *vaulted]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in vaulted:
        assert path.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256"), path
        assert "sk-it" not in path.read_text()
    secrets = view(tmp_path / "gv/all/secrets.yml", password)
    keys = view(tmp_path / "gv/router/keys.yml", password)
    assert len(secrets["grt_router_token"]) >= 32
    assert len(secrets["grt_ctfd_admin_password"]) >= 16
    assert keys == {"grt_openai_api_token": "sk-it's-a-test", "grt_huggingface_api_token": ""}
    assert len(view(tmp_path / "gv/all/link_ca.yml", password)["grt_link_ca_passphrase"]) >= 32


def test_vault_init_adds_a_file_new_in_this_version_and_keeps_the_others(tmp_path):
    # A vault made before the split layout existed has no link_ca.yml: a second
    # `make vault` adds it and leaves the existing secrets alone.
    args = ("tools/vault-init.sh", "--dir", str(tmp_path / "gv"), "--password-file", str(tmp_path / "pass"))
    assert run(*args).returncode == 0
    (tmp_path / "gv/all/link_ca.yml").unlink()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = run(*args)
    assert again.returncode == 0, again.stderr
    assert f"created {tmp_path / 'gv/all/link_ca.yml'}" in again.stdout
    assert {p: p.read_bytes() for p in before} == before
    assert view(tmp_path / "gv/all/link_ca.yml", tmp_path / "pass")["grt_link_ca_passphrase"]


def test_vault_init_never_overwrites(tmp_path):
    args = ("tools/vault-init.sh", "--dir", str(tmp_path / "gv"), "--password-file", str(tmp_path / "pass"))
    assert run(*args).returncode == 0
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    again = run(*args, env={"GRT_OPENAI_API_TOKEN": "sk-other"})
    assert again.returncode == 0, again.stderr
    assert "kept existing" in again.stdout
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


def test_example_files_show_every_vaulted_variable(tmp_path):
    assert run("tools/vault-init.sh", "--dir", str(tmp_path / "gv"), "--password-file", str(tmp_path / "p")).returncode == 0
    for relative in ("all/secrets.yml", "router/keys.yml", "all/link_ca.yml"):
        example = yaml.safe_load((ROOT / "group_vars" / (relative + ".example")).read_text())
        assert set(example) == set(view(tmp_path / "gv" / relative, tmp_path / "p")), relative


def fresh_clone(tmp_path):
    """A copy of the project as a fresh clone has it (no vault files, no .vault-pass)."""
    clone = tmp_path / "clone"
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard").stdout.split("\0")
    for name in filter(None, listed):
        source, target = ROOT / name, clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    return clone


def host_vars(clone, inventory, host):
    result = run(str(BIN / "ansible-inventory"), "-i", inventory, "--host", host, cwd=clone)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_vaulted_files_reach_the_right_hosts_of_the_shipped_inventories(tmp_path):
    clone = fresh_clone(tmp_path)
    assert run("tools/vault-init.sh", cwd=clone).returncode == 0
    monolith = host_vars(clone, "inventories/monolith", "grt-server")
    assert {"grt_router_token", "grt_ctfd_admin_password", "grt_openai_api_token"} <= set(monolith)
    venue = host_vars(clone, "inventories/split", "grt-venue")
    cloud = host_vars(clone, "inventories/split", "grt-cloud")
    assert "grt_router_token" in venue and "grt_router_token" in cloud
    # The vendor keys are read by router hosts only.
    assert "grt_openai_api_token" in cloud
    assert "grt_openai_api_token" not in venue and "grt_huggingface_api_token" not in venue


def test_missing_vault_is_refused_with_the_make_vault_hint(tmp_path):
    inventory = tmp_path / "hosts.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory.write_text(yaml.safe_dump({"all": {"children": {"docker_hosts": {"children": {
        "ctfd": {"hosts": {"grt-test-controller": host}}, "router": {"hosts": {"grt-test-controller": host}}}}}}}))
    clone = fresh_clone(tmp_path)
    result = run(str(BIN / "ansible-playbook"), "site.yml", "-i", str(inventory), cwd=clone,
                 env={"GRT_VAULT_PASSWORD_FILE": str(tmp_path / "absent")})
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "grt_router_token and grt_ctfd_admin_password are not defined" in output
    assert "run `make vault`" in output
    assert "Docker Engine on every host that runs containers" not in output
