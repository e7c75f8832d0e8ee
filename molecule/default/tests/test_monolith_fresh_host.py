"""A backup restored onto a fresh host, as after the venue box's disk died: the scenario's second host (which
held the off-site sftp repository) gets its own inventory, and playbooks/restore.yml from that repository builds
the whole stack there and loads the backup. After test_monolith_backup.py (file order), before the upgrades.
"""

import shlex
import shutil
import subprocess
import time

import pytest
import testinfra

from grt_backup_checks import (BACKUP, EPHEMERAL, SCENARIO, client, has_data, healthy, last_backup, participant,
                               playbook, said, upload_hashes)
from grt_testinfra import run_ok

testinfra_hosts = ["ansible://grt-molecule-monolith"]

FRESH = "grt-molecule-monolith-fresh"
INVENTORY = EPHEMERAL / "fresh-inventory"


@pytest.fixture(scope="module")
def fresh():
    return testinfra.get_host(f"docker://{FRESH}")


def fresh_inventory():
    """The new host alone, in every tier of the monolith, with the scenario's group_vars (pins, vault)."""
    # Made afresh: the ephemeral directory (and a link in it) can outlive a run of another checkout.
    shutil.rmtree(INVENTORY, ignore_errors=True)
    INVENTORY.mkdir()
    (INVENTORY / "hosts.yml").write_text(
        "---\nall:\n  children:\n" + "".join(
            f"    {group}:\n      hosts:\n        {FRESH}:\n          ansible_connection: community.docker.docker\n"
            for group in ("docker_hosts", "ctfd", "router")))
    (INVENTORY / "group_vars").symlink_to(SCENARIO / "group_vars")
    return INVENTORY


def test_a_backup_restores_onto_a_fresh_host_with_passwords_and_sessions(host, fresh):
    name, password = participant()
    cookie = client(host, f"session {shlex.quote(name)} {shlex.quote(password)}")["cookie"]
    run_ok(host, f"{BACKUP} backup")
    saved, hashes = last_backup(host), upload_hashes(host)
    assert saved["ok"] and hashes, saved
    assert not fresh.file("/opt/grt/ctfd").exists

    started = time.monotonic()
    restored = playbook("playbooks/restore.yml", "-e", "restore_repository=offsite",
                        "-e", f"restore_snapshot={saved['run']}", inventory=fresh_inventory())
    seconds = time.monotonic() - started
    assert restored.returncode == 0, said(restored)[-4000:]
    print(f"restore onto a fresh host: restore.yml {seconds:.0f} s (engine, images, router, CTFd, data)")

    assert healthy(fresh, "grt-ctfd")
    assert has_data(fresh)["counted"] == saved["counted"]
    assert upload_hashes(fresh) == hashes
    # The test client and its settings (the admin password is the backup's too), from host A.
    for path in ("/root/grt_test_client.py", "/root/grt-test-client.json"):
        subprocess.run(f"docker cp grt-molecule-monolith:{path} - | docker cp - {FRESH}:/root/", shell=True,
                       check=True)
    # The password set on A logs in on B; the session cookie A issued is still valid on B (same SECRET_KEY,
    # and the session itself, which CTFd keeps in Redis).
    login = client(fresh, f"session {shlex.quote(name)} {shlex.quote(password)}")["cookie"]
    assert client(fresh, f"whoami {login}") == {"status": 200, "me": name}
    assert client(fresh, f"whoami {cookie}") == {"status": 200, "me": name}


def test_the_fresh_host_backs_up_on_its_own_after_the_restore(fresh):
    assert run_ok(fresh, "systemctl is-enabled grt-backup.timer").strip() == "enabled"
    run_ok(fresh, "systemctl start grt-backup.service")
    assert last_backup(fresh)["ok"]
