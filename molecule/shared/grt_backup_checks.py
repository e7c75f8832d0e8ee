"""Test-only helpers of the monolith scenario's backup, fresh-host and upgrade tests: playbook runs with the
scenario's settings, the backup program on a host, the test client, and CTFd's database."""

import json
import os
import pathlib
import shlex
import subprocess

import yaml
from grt_testinfra import docker_json, run_ok

SCENARIO = pathlib.Path(__file__).resolve().parents[1] / "default"
PROJECT = SCENARIO.parents[1]
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
PLAY_ENV = dict(os.environ, ANSIBLE_VAULT_PASSWORD_FILE="/var/tmp/grt-test/vault-pass",
                ANSIBLE_ROLES_PATH=str(PROJECT / "roles"), ANSIBLE_PIPELINING="True",
                # Every run lands in the log test_monolith.py scans for secrets.
                ANSIBLE_LOG_PATH=str(EPHEMERAL / "ansible.log"))
BACKUP = "/usr/local/sbin/grt-backup"
UPLOADS = "/opt/grt/ctfd/data/uploads"


def playbook(name, *args, inventory=None):
    """A playbook run; its stdout holds stderr too (where ansible-core prints a failed task)."""
    return subprocess.run(["ansible-playbook", "-i", str(inventory or EPHEMERAL / "inventory"), str(PROJECT / name),
                           *args], env=PLAY_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=1800)


def said(run):
    """A run's output on one line: the callback folds a long message across lines."""
    return " ".join(run.stdout.split())


def client(host, command):
    return json.loads(run_ok(host, f"python3 /root/grt_test_client.py {command}"))


def complete_runs(host, repo=None):
    listing = run_ok(host, f"{BACKUP} list" + (f" --repo {repo}" if repo else ""))
    return [line.split("\t") for line in listing.splitlines()]


def has_data(host):
    return json.loads(run_ok(host, f"{BACKUP} has-data"))


def last_backup(host):
    return json.loads(run_ok(host, "cat /var/lib/grt-backup/last-backup.json"))


def upload_hashes(host):
    """sha256 of every uploaded file, by path under the uploads directory."""
    out = run_ok(host, f"cd {UPLOADS} && find . -type f -exec sha256sum {{}} + | sort -k2")
    return {path: digest for digest, path in (line.split(None, 1) for line in out.splitlines())}


def sql(host, query):
    return run_ok(host, "docker exec grt-ctfd-db sh -c " + shlex.quote(
        f'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot --batch --skip-column-names ctfd -e "{query}"'))


def healthy(host, container):
    state = docker_json(host, f"docker inspect {container}")[0]["State"]
    return state["Running"] and state.get("Health", {}).get("Status") == "healthy"


def participant():
    """A participant's name and the password ctfd_setup gave them (its CSV, beside the inventory)."""
    passwords = dict(line.split(",", 1) for line in
                     (EPHEMERAL / "inventory" / "participant-passwords.csv").read_text().splitlines()[1:])
    return sorted(passwords.items())[0]


# Not ANSIBLE_LOG_PATH: ansible-vault would write the plaintext into the log the scan reads.
VAULT_ENV = {k: v for k, v in os.environ.items() if k != "ANSIBLE_LOG_PATH"}
VAULT_ENV["ANSIBLE_VAULT_PASSWORD_FILE"] = "/var/tmp/grt-test/vault-pass"


def vault_view(relative):
    out = subprocess.run(["ansible-vault", "view", str(SCENARIO / "group_vars" / relative)],
                         check=True, capture_output=True, text=True, env=VAULT_ENV).stdout
    return yaml.safe_load(out)


def secrets_in_playbook_output(host):
    """The names of the secrets (vaulted, and generated on the host) found in every playbook run's output."""
    log = (EPHEMERAL / "ansible.log").read_text()
    assert "PLAY RECAP" in log
    vaulted = {**vault_view("all/secrets.yml"), **vault_view("router/keys.yml"), **vault_view("ctfd/backup.yml")}
    secrets = {name: value for name, value in vaulted.items() if isinstance(value, str)}
    secrets.update({f"generated {k}": v for k, v in
                    json.loads(run_ok(host, "cat /opt/grt/ctfd/generated-secrets.json")).items()})
    return [name for name, value in secrets.items() if value and len(value) >= 8 and value in log]
