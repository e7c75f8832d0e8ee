"""playbooks/status.yml on the monolith: green (exit 0, every section, changed=0, the same in check mode), the
same facts as JSON, and red with a non-zero exit naming the problem when the router is stopped (a re-run of
site.yml then starts it again, a backup timer switched off and the host's key gone from the sftp target) or a certificate is about to expire (a re-run
renews it). The event row's counts are checked against CTFd's database."""

import re

import pytest
import testinfra
from grt_backup_checks import playbook, sql
from grt_status_checks import plain, problems, recap, report_json, status, table
from grt_testinfra import all_healthy, run_ok, wait_until

testinfra_hosts = ["ansible://grt-molecule-monolith"]

HOST = "grt-molecule-monolith"
FRONT_CERT = "/opt/grt/front/tls/cert.pem"
FRONT_KEY = "/opt/grt/front/tls/key.pem"
SECTIONS = {"container", "disk", "certificate", "version", "router path", "event", "backup"}
ROUTER = "grt-router-router-1"
CHECK_TIMER = "grt-backup-check.timer"
# The offsite repository's sftp target, and this host's key there (ctfd_backup's sftp tasks).
TARGET_KEYS = "/home/grt-backup/.ssh/authorized_keys"


@pytest.fixture(scope="module")
def green():
    # A backup now, as an organiser would before looking: the earlier tests leave a killed or refused run behind.
    backup = playbook("playbooks/backup.yml")
    assert backup.returncode == 0, backup.stdout[-3000:]
    return status()


def test_the_healthy_monolith_is_green_with_every_row_and_changes_nothing(host, green):
    assert green.returncode == 0, plain(green)[-4000:]
    assert recap(green) == {HOST: 0, "localhost": 0}, recap(green)
    rows = table(green)
    assert {r[1] for r in rows} == SECTIONS, rows
    assert all(r[0] == HOST and r[3] in ("OK", "WARN") for r in rows), rows
    containers = {r[2] for r in rows if r[1] == "container"}
    running = set(run_ok(host, "docker ps --format '{{.Names}}'").split())
    assert containers == running and ROUTER in containers, (containers, running)
    items = {(r[1], r[2]): r[4] for r in rows}
    assert {"CTFd", "plugin", "theme", "router image"} <= {r[2] for r in rows if r[1] == "version"}
    assert items[("certificate", FRONT_CERT)].split()[0].isdigit()
    assert re.fullmatch(r"[1-9]\d* models in [\d.]+ ms", items[("router path", "GET /chat/models")])
    assert {("backup", "local"), ("backup", "offsite")} <= set(items), items
    # The event as CTFd's database holds it: visible participants (admins are hidden), challenges, pending grades.
    assert int(items[("event", "participants")]) == int(sql(host, "SELECT COUNT(*) FROM users WHERE hidden=0 AND banned=0"))
    assert int(items[("event", "challenges")]) == int(sql(host, "SELECT COUNT(*) FROM challenges"))
    pending = int(sql(host, "SELECT COUNT(*) FROM llmv_generations WHERE status='pending'"))
    assert pending > 0 and int(items[("event", "pending grading")]) == pending, (items, pending)


def test_check_mode_reads_the_same_rows(host, green):
    checked = status("--check")
    assert checked.returncode == 0, plain(checked)[-3000:]
    assert [r[:4] for r in table(checked)] == [r[:4] for r in table(green)]


def test_json_mode_has_the_same_facts(host, green):
    run = status("-e", "status_format=json")
    assert run.returncode == 0, plain(run)[-3000:]
    facts = report_json(run)
    assert {(HOST, r[1], r[2], r[3].lower()) for r in table(green)} == {
        (h, section, item, fact["state"]) for h, sections in facts.items()
        for section, items in sections.items() for item, fact in items.items()}
    assert facts[HOST]["container"][ROUTER]["status"] == "running"
    assert facts[HOST]["router path"]["GET /chat/models"]["models"] > 0


def test_a_stopped_router_is_red_and_fails_the_run_naming_it_and_a_rerun_starts_it(host):
    target = testinfra.get_host("docker://grt-molecule-monolith-fresh")
    keys = run_ok(target, f"cat {TARGET_KEYS}")
    # This host's line (the target may hold others: the fresh host's own, after its restore test).
    mine = [line for line in keys.splitlines() if line.endswith(f" grt-backup@{HOST}")]
    assert len(mine) == 1, keys
    run_ok(host, f"docker stop {ROUTER}")
    try:
        red = status()
        # And a timer switched off by hand. The organiser's "is everything still right?": a re-run finds the
        # container stopped and the timer off, and puts both back (it asks compose only where a container is
        # not as `up` leaves it, and systemd only about units that are not enabled and active).
        run_ok(host, f"systemctl disable --now {CHECK_TIMER}")
        # And this host's key gone from the sftp target (the target read decides what its tasks do there).
        run_ok(target, f"sed -i '/ grt-backup@{HOST}$/d' {TARGET_KEYS}")
        rerun = playbook("site.yml", "--tags", "router,backup")
        after = run_ok(host, f"docker inspect --format '{{{{.State.Status}}}} {{{{.State.Health.Status}}}}' {ROUTER}")
        timer = host.run(f"systemctl is-enabled {CHECK_TIMER}; systemctl is-active {CHECK_TIMER}").stdout.split()
        keys_after = run_ok(target, f"cat {TARGET_KEYS}")
    finally:
        run_ok(host, f"docker start {ROUTER} && systemctl enable --now {CHECK_TIMER}")
        if target.run(f"grep -q ' grt-backup@{HOST}$' {TARGET_KEYS}").rc != 0:
            run_ok(target, f"printf '%s\\n' '{mine[0]}' >> {TARGET_KEYS}")
        wait_until(lambda: all_healthy(host), 120, what="every container healthy again")
        # The backup timer (every quarter hour) may have fired while the key was gone, leaving a failed
        # off-site copy as the last run: one run now, with everything back, so later tests read a good one.
        run_ok(host, "systemctl start grt-backup.service")
    assert rerun.returncode == 0, plain(rerun)[-3000:]
    assert recap(rerun)[HOST] >= 2 and after.split() == ["running", "healthy"], (recap(rerun), after)
    assert timer == ["enabled", "active"], timer
    # Put back as it was (the authorized_key task appends it: the order of the lines may differ).
    assert sorted(keys_after.splitlines()) == sorted(keys.splitlines()), (keys, keys_after)
    assert red.returncode != 0
    rows = {(r[1], r[2]): r for r in table(red)}
    assert rows[("container", ROUTER)][3] == "RED" and rows[("router path", "GET /chat/models")][3] == "RED"
    found = problems(red)
    assert any(p.startswith(f"{HOST} container {ROUTER}: exited") for p in found), found
    assert any(p.startswith(f"{HOST} router path GET /chat/models: ") for p in found), found
    assert len(found) == len([r for r in rows.values() if r[3] == "RED"]), found


def test_a_certificate_expiring_within_14_days_is_red_and_a_rerun_renews_it(host):
    """The certificate made again for 5 days with everything else as the role made it (key, names, extensions,
    owner and mode): the report is red, and a re-run of the front proxy makes a new one (the certificate read
    alone decides that nothing is to be made, so this is the case it must not miss)."""
    run_ok(host, f"cp -p {FRONT_CERT} /root/front-cert.pem")
    renewed = False
    try:
        cn = run_ok(host, f"openssl x509 -in {FRONT_CERT} -noout -subject -nameopt multiline"
                          " | sed -n 's/ *commonName *= //p'")
        sans = run_ok(host, f"openssl x509 -in {FRONT_CERT} -noout -ext subjectAltName | tail -n 1")
        sans = ",".join(name.strip().replace("IP Address:", "IP:") for name in sans.split(","))
        run_ok(host, f"openssl req -x509 -key {FRONT_KEY} -subj '/CN={cn.strip()}' -addext 'subjectAltName={sans}' "
                     "-addext 'basicConstraints=critical,CA:FALSE' -addext 'keyUsage=critical,digitalSignature' "
                     f"-addext extendedKeyUsage=serverAuth -days 5 -out {FRONT_CERT} && chmod 0644 {FRONT_CERT}")
        red = status()
        rerun = playbook("site.yml", "--tags", "front")
        renewed = (rerun.returncode == 0
                   and host.run(f"openssl x509 -in {FRONT_CERT} -noout -checkend {300 * 86400}").rc == 0)
    finally:
        if not renewed:
            run_ok(host, f"cp -p /root/front-cert.pem {FRONT_CERT}")
    assert renewed, plain(rerun)[-3000:]
    assert recap(rerun)[HOST] >= 1, recap(rerun)
    assert red.returncode != 0
    row = {(r[1], r[2]): r for r in table(red)}[("certificate", FRONT_CERT)]
    assert row[3] == "RED" and row[4].startswith(("4 days left", "5 days left")), row
    assert problems(red) == [f"{HOST} certificate {FRONT_CERT}: {row[4].split()[0]} days left, fewer than 14"]
