"""Backups of the monolith (role ctfd_backup, playbooks/backup.yml and restore.yml), after test_monolith.py
(file order): the timer's run and `restic check`, an event-sized dump, a dump killed half-way, the restore's
refusals, and a forced restore over changed data that keeps participants' sessions.
"""

import json
import os
import pathlib
import shlex
import subprocess
import time

from grt_testinfra import docker_json, run_ok, wait_until

testinfra_hosts = ["ansible://grt-molecule-monolith"]

SCENARIO = pathlib.Path(__file__).resolve().parents[1]
PROJECT = SCENARIO.parents[1]
EPHEMERAL = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
PLAY_ENV = dict(os.environ, ANSIBLE_VAULT_PASSWORD_FILE="/var/tmp/grt-test/vault-pass",
                ANSIBLE_ROLES_PATH=str(PROJECT / "roles"), ANSIBLE_PIPELINING="True",
                ANSIBLE_LOG_PATH=str(EPHEMERAL / "ansible.log"))
BACKUP = "/usr/local/sbin/grt-backup"


def playbook(name, *args):
    return subprocess.run(["ansible-playbook", "-i", str(EPHEMERAL / "inventory"), str(PROJECT / name),
                           *args], env=PLAY_ENV, capture_output=True, text=True, timeout=1800)


def client(host, command):
    return json.loads(run_ok(host, f"python3 /root/grt_test_client.py {command}"))


def complete_runs(host):
    return [line.split("\t") for line in run_ok(host, f"{BACKUP} list").splitlines()]


def has_data(host):
    return json.loads(run_ok(host, f"{BACKUP} has-data"))


def sql(host, query):
    return run_ok(host, "docker exec grt-ctfd-db sh -c " + shlex.quote(
        f'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot --batch --skip-column-names ctfd -e "{query}"'))


def db_healthy(host):
    state = docker_json(host, "docker inspect grt-ctfd-db")[0]["State"]
    return state["Running"] and state.get("Health", {}).get("Status") == "healthy"


def test_the_timer_runs_a_backup_in_the_journal_and_restic_checks_it(host):
    assert run_ok(host, "systemctl is-enabled grt-backup.timer grt-backup-check.timer").split() == ["enabled"] * 2
    before = len(complete_runs(host))
    run_ok(host, "systemctl start grt-backup.service")
    result = json.loads(run_ok(host, "cat /var/lib/grt-backup/last-backup.json"))
    assert result["ok"], result
    assert result["counted"]["users"] >= 1 and result["counted"]["llmv_chat_pairs"] >= 1, result
    assert len(complete_runs(host)) == before + 1
    assert result["run"] in run_ok(host, "journalctl -u grt-backup.service --no-pager")
    run_ok(host, "systemctl start grt-backup-check.service")
    assert json.loads(run_ok(host, "cat /var/lib/grt-backup/last-check.json"))["ok"]
    assert oct(host.file("/etc/grt-backup/repos/local.pass").mode) == "0o600"


def test_an_event_sized_database_backs_up_and_a_dump_killed_half_way_saves_nothing(host):
    # ~20k chat rows and ~300 participants, as an event's last day has (measured, not timed: see the note).
    sql(host, "INSERT INTO llmv_chat_pairs (generation_id, prompt, generation, uuid) "
              "SELECT g.id, CONCAT('bulk prompt ', s.seq, REPEAT(' words', 40)), REPEAT('model answer ', 60), UUID() "
              "FROM (SELECT id FROM llmv_generations LIMIT 1) g, seq_1_to_20000 s")
    sql(host, "INSERT INTO users (name, email, password, type, verified, hidden, banned, created) "
              "SELECT CONCAT('bulk-', seq), CONCAT('bulk-', seq, '@example.org'), 'x', 'user', 1, 0, 0, NOW() "
              "FROM seq_1_to_300")
    run_ok(host, f"{BACKUP} backup")
    big = json.loads(run_ok(host, "cat /var/lib/grt-backup/last-backup.json"))
    assert big["ok"] and big["counted"]["llmv_chat_pairs"] >= 20000, big
    print(f"event-sized backup: {big['seconds']} s, dump {big['dump_bytes']} bytes in {big['dump_seconds']} s")
    before = complete_runs(host)
    # MariaDB killed while the dump streams.
    killed = host.run(
        f"({BACKUP} backup > /tmp/killed.log 2>&1; echo $? > /tmp/killed.rc) & "
        "for i in $(seq 1 2000); do docker exec grt-ctfd-db pgrep -f mariadb-dump > /dev/null && break; done; "
        "docker kill grt-ctfd-db; wait")
    assert killed.rc == 0, killed.stderr
    wait_until(lambda: host.file("/tmp/killed.rc").exists, timeout=120, what="the killed backup to end")
    assert host.file("/tmp/killed.rc").content_string.strip() == "1", host.file("/tmp/killed.log").content_string
    last = json.loads(run_ok(host, "cat /var/lib/grt-backup/last-backup.json"))
    assert not last["ok"] and "dump" in last["error"], last
    run_ok(host, "docker start grt-ctfd-db")
    wait_until(lambda: db_healthy(host), timeout=120, what="MariaDB back")
    assert complete_runs(host) == before
    assert json.loads(run_ok(host, "cat /var/lib/grt-backup/last-good-backup.json"))["run"] == big["run"]


def test_a_restore_over_data_without_force_or_with_a_wrong_password_is_refused_untouched(host):
    rows = has_data(host)
    refused = playbook("playbooks/restore.yml", "-e", "restore_snapshot=latest")
    assert refused.returncode != 0
    assert "Restore refused, nothing was changed" in refused.stdout and "holds data" in refused.stdout, refused.stdout
    wrong = playbook("playbooks/restore.yml", "-e", "restore_snapshot=latest", "-e", "restore_force=true",
                     "-e", "ctfd_backup_password=not-the-repository-password")
    assert wrong.returncode != 0
    assert "the password is wrong" in wrong.stdout, wrong.stdout
    assert has_data(host) == rows
    missing = playbook("playbooks/restore.yml", "-e", "restore_snapshot=0123abcd", "-e", "restore_force=true")
    assert missing.returncode != 0 and "has no backup '0123abcd'" in missing.stdout, missing.stdout
    assert has_data(host) == rows


def test_a_forced_restore_puts_the_backup_back_and_sessions_survive(host):
    passwords = dict(line.split(",", 1) for line in
                     (EPHEMERAL / "inventory" / "participant-passwords.csv").read_text().splitlines()[1:])
    name, password = sorted(passwords.items())[0]
    cookie = client(host, f"session {shlex.quote(name)} {shlex.quote(password)}")["cookie"]
    playbook_run = playbook("playbooks/backup.yml")
    assert playbook_run.returncode == 0, playbook_run.stdout
    saved = json.loads(run_ok(host, "cat /var/lib/grt-backup/last-backup.json"))
    sql(host, "DELETE FROM llmv_chat_pairs WHERE id % 2 = 0")
    assert has_data(host)["counted"]["llmv_chat_pairs"] < saved["counted"]["llmv_chat_pairs"]
    restored = playbook("playbooks/restore.yml", "-e", "restore_snapshot=latest", "-e", "restore_force=true")
    assert restored.returncode == 0, restored.stdout[-3000:]
    assert has_data(host)["counted"] == saved["counted"]
    assert client(host, f"whoami {cookie}") == {"status": 200, "me": name}
    assert any("pre-restore" in run[-1] for run in complete_runs(host))


SHAS = dict(line.split("=", 1) for line in pathlib.Path("/var/tmp/grt-test/upstream/shas.env").read_text().split())
# Every 0.5 s, what the front door answers for CTFd's health (upgrade and rollback downtime, measured).
POLL = ('while :; do echo "$(date +%s.%N) $(curl -sk -o /dev/null -w %{http_code} --max-time 2 '
        'https://127.0.0.1/healthcheck)"; sleep 0.5; done')


def ctfd_image(host):
    return docker_json(host, "docker inspect grt-ctfd")[0]["Config"]["Image"]


def upgrade(host, sha, *args):
    """site.yml with the plugin pinned to sha; the run and the longest time CTFd answered no 200."""
    run_ok(host, f"printf '%s\\n' {shlex.quote(POLL)} > /tmp/poll.sh")
    poller = run_ok(host, "nohup sh /tmp/poll.sh > /tmp/availability.log 2>&1 < /dev/null & echo $!").strip()
    started = time.monotonic()
    run = playbook("site.yml", "-e", f"ctfd_image_plugin_version={sha}", *args)
    seconds = time.monotonic() - started
    run_ok(host, f"kill {poller}")
    samples = [line.split() for line in host.file("/tmp/availability.log").content_string.splitlines()]
    down, longest = None, 0.0
    for stamp, code in ((float(s[0]), s[1] if len(s) > 1 else "000") for s in samples):
        if code != "200":
            down = stamp if down is None else down
            longest = max(longest, stamp - down)
        else:
            down = None
    return run, seconds, longest


def test_a_pin_bump_with_a_migration_upgrades_after_a_backup_and_keeps_the_data(host):
    before, old = has_data(host)["counted"], ctfd_image(host)
    run, seconds, down = upgrade(host, SHAS["LLM_VERIFICATION_MIGRATE_SHA"])
    assert run.returncode == 0, run.stdout[-3000:]
    print(f"upgrade: site.yml {seconds:.0f} s, CTFd unavailable {down:.1f} s")
    assert ctfd_image(host) != old
    assert sql(host, "SHOW COLUMNS FROM llmv_generations LIKE 'rating'").strip()
    assert has_data(host)["counted"] == before
    assert any("pre-upgrade" in r[-1] for r in complete_runs(host))


def test_a_pin_bump_that_crashes_at_load_rolls_back_to_the_running_version_and_its_data(host):
    before, running = has_data(host)["counted"], ctfd_image(host)
    run, seconds, down = upgrade(host, SHAS["LLM_VERIFICATION_CRASH_SHA"], "-e", "ctfd_start_timeout=60")
    print(f"rollback: site.yml {seconds:.0f} s, CTFd unavailable {down:.1f} s")
    assert run.returncode != 0
    assert "Rolled back: the event is back on " + running in " ".join(run.stdout.split()), run.stdout[-3000:]
    assert ctfd_image(host) == running
    assert sql(host, "SHOW COLUMNS FROM llmv_generations LIKE 'rating'").strip()
    assert has_data(host)["counted"] == before
    state = docker_json(host, "docker inspect grt-ctfd")[0]["State"]
    assert state["Running"] and state["Health"]["Status"] == "healthy"
