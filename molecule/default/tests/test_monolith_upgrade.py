"""Upgrades of the monolith that back up first and roll back (role ctfd, ctfd_upgrade_backup/_rollback), after
the fresh host's restore (file order): the fixture plugin's next commit migrates the schema (a new column), the
one after crashes at load. How long CTFd answers nothing but 200 at the front door is measured, not timed.
"""

import pathlib
import shlex
import time

from grt_backup_checks import complete_runs, has_data, playbook, said, secrets_in_playbook_output, sql
from grt_testinfra import docker_json, run_ok

testinfra_hosts = ["ansible://grt-molecule-monolith"]

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
    assert run.returncode == 0, said(run)[-3000:]
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
    assert "Rolled back: the event is back on " + running in said(run), said(run)[-3000:]
    assert ctfd_image(host) == running
    assert sql(host, "SHOW COLUMNS FROM llmv_generations LIKE 'rating'").strip()
    assert has_data(host)["counted"] == before
    state = docker_json(host, "docker inspect grt-ctfd")[0]["State"]
    assert state["Running"] and state["Health"]["Status"] == "healthy"


def test_no_secret_in_the_output_of_backups_restores_and_upgrades(host):
    # test_monolith.py scanned the converge and idempotence runs; these files' runs land in the same log.
    leaked = secrets_in_playbook_output(host)
    assert not leaked, f"secrets in the Ansible output: {leaked}"
