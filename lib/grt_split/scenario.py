"""The split scenario's host names, and what its prepare.yml wrote for this run."""

import os
import pathlib
import subprocess

import yaml

# Molecule says where the repository is; outside Molecule (make bench) it is
# where this file sits (lib/grt_split/, installed editable by make deps).
PROJECT_DIR = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", pathlib.Path(__file__).resolve().parents[2]))
SCENARIO_DIR = PROJECT_DIR / "molecule" / "split"
# The scenario's test hosts (platforms in molecule/split/molecule.yml).
LOCAL = "grt-molecule-local"
REMOTE = "grt-molecule-remote"
VAULT_PASSWORD_FILE = "/var/tmp/grt-test/vault-pass"


def vault_view(relative, scenario_dir=SCENARIO_DIR):
    """A vaulted group_vars file of the scenario, decrypted (never through ANSIBLE_LOG_PATH)."""
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_LOG_PATH"}
    env["ANSIBLE_VAULT_PASSWORD_FILE"] = VAULT_PASSWORD_FILE
    out = subprocess.run(["ansible-vault", "view", str(scenario_dir / "group_vars" / relative)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return yaml.safe_load(out)


def fixtures(scenario_dir=SCENARIO_DIR):
    """group_vars/all/fixtures.yml as prepare.yml wrote it for this run."""
    return yaml.safe_load((scenario_dir / "group_vars" / "all" / "fixtures.yml").read_text()) or {}
