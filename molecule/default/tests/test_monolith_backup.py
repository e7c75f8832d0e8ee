"""Backups of the monolith (role ctfd_backup, playbooks/backup.yml and restore.yml), after test_monolith.py
(file order): the timer's run into both repositories (local, and sftp on the fresh host) and `restic check`, an
event-sized dump, a dump killed half-way, the restore's refusals, and a forced restore over changed data that
keeps participants' sessions. The fresh host's restore and the upgrades follow in their own files.
"""

import json
import shlex

import pytest
from grt_backup_checks import (BACKUP, client, complete_runs, has_data, healthy, last_backup, participant,
                               playbook, said, sql)
from grt_testinfra import run_ok, wait_until

testinfra_hosts = ["ansible://grt-molecule-monolith"]


@pytest.fixture(scope="module", autouse=True)
def quarter_hour_timer_held(host):
    """These tests count runs and read the last one: the timer's own run in between (every quarter hour) is
    not theirs. Stopping the timer leaves a run under way to finish; the tests' runs wait for its lock."""
    run_ok(host, "systemctl stop grt-backup.timer")
    yield
    run_ok(host, "systemctl start grt-backup.timer")


def test_the_timer_runs_a_backup_into_both_repositories_and_restic_checks_them(host):
    assert run_ok(host, "systemctl is-enabled grt-backup.timer grt-backup-check.timer").split() == ["enabled"] * 2
    before = len(complete_runs(host, "local"))
    run_ok(host, "systemctl start grt-backup.service")
    result = last_backup(host)
    assert result["ok"], result
    assert result["counted"]["users"] >= 1 and result["counted"]["llmv_chat_pairs"] >= 1, result
    assert len(complete_runs(host, "local")) == before + 1
    assert result["run"] in run_ok(host, "journalctl -u grt-backup.service --no-pager")
    # The sftp repository on the other host holds the same runs (restic copy, same snapshot contents).
    runs = {repo: {r[2] for r in complete_runs(host, repo)} for repo in ("local", "offsite")}
    assert result["run"] in runs["offsite"] and runs["offsite"] == runs["local"], runs
    run_ok(host, "systemctl start grt-backup-check.service")
    check = json.loads(run_ok(host, "cat /var/lib/grt-backup/last-check.json"))
    assert check["ok"] and set(check["repositories"]) == {"local", "offsite"}, check
    for name in ("local", "offsite"):
        assert oct(host.file(f"/etc/grt-backup/repos/{name}.pass").mode) == "0o600"


def test_the_backup_key_runs_sftp_on_the_offsite_host_and_nothing_else(host):
    opts = ("-i /etc/grt-backup/ssh/id_ed25519 -o UserKnownHostsFile=/etc/grt-backup/ssh/known_hosts "
            "-o StrictHostKeyChecking=yes -o BatchMode=yes")
    target = "grt-backup@grt-molecule-monolith-fresh"
    shell = host.run(f"timeout 30 ssh {opts} {target} id < /dev/null")
    assert "uid=" not in shell.stdout, shell.stdout
    listing = host.run(f"echo 'ls /srv/grt-backup/restic' | timeout 30 sftp {opts} -b - {target}")
    assert listing.rc == 0 and "config" in listing.stdout, listing.stdout + listing.stderr


def test_an_event_sized_database_backs_up_and_a_dump_killed_half_way_saves_nothing(host):
    # ~20k chat rows and ~300 participants, as an event's last day has (measured, not timed: see the note).
    sql(host, "INSERT INTO llmv_chat_pairs (generation_id, prompt, generation, uuid) "
              "SELECT g.id, CONCAT('bulk prompt ', s.seq, REPEAT(' words', 40)), REPEAT('model answer ', 60), UUID() "
              "FROM (SELECT id FROM llmv_generations LIMIT 1) g, seq_1_to_20000 s")
    sql(host, "INSERT INTO users (name, email, password, type, verified, hidden, banned, created) "
              "SELECT CONCAT('bulk-', seq), CONCAT('bulk-', seq, '@example.org'), 'x', 'user', 1, 0, 0, NOW() "
              "FROM seq_1_to_300")
    run_ok(host, f"{BACKUP} backup")
    big = last_backup(host)
    assert big["ok"] and big["counted"]["llmv_chat_pairs"] >= 20000, big
    size = run_ok(host, "du -sb /var/backups/grt-ctfd/restic").split()[0]
    print(f"event-sized backup: {big['seconds']} s, dump {big['dump_bytes']} bytes in {big['dump_seconds']} s; "
          f"local repository {size} bytes")
    before = complete_runs(host)
    # MariaDB killed while the dump streams.
    killed = host.run(
        f"({BACKUP} backup > /tmp/killed.log 2>&1; echo $? > /tmp/killed.rc) & "
        "for i in $(seq 1 2000); do docker exec grt-ctfd-db pgrep -f mariadb-dump > /dev/null && break; done; "
        "docker kill grt-ctfd-db; wait")
    assert killed.rc == 0, killed.stderr
    wait_until(lambda: host.file("/tmp/killed.rc").exists, timeout=120, what="the killed backup to end")
    assert host.file("/tmp/killed.rc").content_string.strip() == "1", host.file("/tmp/killed.log").content_string
    last = last_backup(host)
    assert not last["ok"] and "dump" in last["error"], last
    run_ok(host, "docker start grt-ctfd-db")
    wait_until(lambda: healthy(host, "grt-ctfd-db"), timeout=120, what="MariaDB back")
    assert complete_runs(host) == before
    assert json.loads(run_ok(host, "cat /var/lib/grt-backup/last-good-backup.json"))["run"] == big["run"]


def test_a_restore_over_data_without_force_or_with_a_wrong_password_is_refused_untouched(host):
    rows = has_data(host)
    passwords = run_ok(host, "sha256sum /etc/grt-backup/repos/*.pass")
    refused = playbook("playbooks/restore.yml", "-e", "restore_snapshot=latest")
    assert refused.returncode != 0
    assert "Restore refused, nothing was changed" in said(refused) and "holds data" in said(refused), said(refused)
    wrong = playbook("playbooks/restore.yml", "-e", "restore_snapshot=latest", "-e", "restore_force=true",
                     "-e", "ctfd_backup_password=not-the-repository-password")
    assert wrong.returncode != 0
    assert "the password is wrong" in said(wrong), said(wrong)[-3000:]
    assert "not-the-repository-password" not in wrong.stdout
    # Nothing changed: the data, and the password files the timer reads.
    assert has_data(host) == rows
    assert run_ok(host, "sha256sum /etc/grt-backup/repos/*.pass") == passwords
    missing = playbook("playbooks/restore.yml", "-e", "restore_snapshot=0123abcd", "-e", "restore_force=true")
    assert missing.returncode != 0 and "has no backup '0123abcd'" in said(missing), said(missing)[-3000:]
    assert has_data(host) == rows


def test_a_forced_restore_puts_the_backup_back_and_sessions_survive(host):
    name, password = participant()
    cookie = client(host, f"session {shlex.quote(name)} {shlex.quote(password)}")["cookie"]
    playbook_run = playbook("playbooks/backup.yml")
    assert playbook_run.returncode == 0, said(playbook_run)[-3000:]
    saved = last_backup(host)
    sql(host, "DELETE FROM llmv_chat_pairs WHERE id % 2 = 0")
    assert has_data(host)["counted"]["llmv_chat_pairs"] < saved["counted"]["llmv_chat_pairs"]
    # By its run id, not "latest": the run to restore is this test's, whatever else ran since.
    restored = playbook("playbooks/restore.yml", "-e", f"restore_snapshot={saved['run']}", "-e", "restore_force=true")
    assert restored.returncode == 0, said(restored)[-3000:]
    assert has_data(host)["counted"] == saved["counted"]
    assert client(host, f"whoami {cookie}") == {"status": 200, "me": name}
    assert any("pre-restore" in run[-1] for run in complete_runs(host))
