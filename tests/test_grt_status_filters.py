"""The status report's row builders and its table/JSON/problems (role grt_status)."""

import importlib.util
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "grt_status_filters", ROOT / "roles" / "grt_status" / "filter_plugins" / "grt_status.py")
status = importlib.util.module_from_spec(spec)
spec.loader.exec_module(status)

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
DIGEST = "sha256:" + "b" * 64


def inspected(name, state="running", health="healthy", image=f"mariadb@{DIGEST}", image_id="sha256:1",
              project="grt-ctfd", started="2027-01-15T06:59:59.123456789Z", restarts=0):
    return json.dumps({"name": "/" + name, "state": state, "exit_code": 0 if state == "running" else 137,
                       "health": health, "restarts": restarts, "started": started, "image": image,
                       "image_id": image_id, "project": project})


COMPOSE = [{"name": "grt-ctfd", "services": {"db": {"container_name": "grt-ctfd-db"}, "ctfd": {}}}]


def by_item(rows):
    return {r["item"]: r for r in rows}


def test_a_healthy_container_is_ok_with_its_uptime_and_the_lock():
    lock = {"images": {"mariadb:10.11": f"mariadb@{DIGEST}"}, "built": {"h": {"grt/ctfd:1": "sha256:9"}}}
    rows = status.grt_status_containers(
        [inspected("grt-ctfd-db"), inspected("grt-ctfd-ctfd-1", image="grt/ctfd:1", image_id="sha256:9")],
        COMPOSE, lock, "h", NOW)
    assert [r["state"] for r in rows] == ["ok", "ok"]
    assert by_item(rows)["grt-ctfd-db"]["facts"]["uptime"] == "1h00m"
    assert all(r["facts"]["locked"] for r in rows)


def test_a_stopped_an_unhealthy_and_a_missing_container_are_red():
    rows = by_item(status.grt_status_containers(
        [inspected("grt-ctfd-db", state="exited", health="unhealthy")], COMPOSE, {}, "h", NOW))
    assert rows["grt-ctfd-db"]["state"] == "red" and "exited" in rows["grt-ctfd-db"]["value"]
    assert rows["grt-ctfd-ctfd-1"]["state"] == "red" and rows["grt-ctfd-ctfd-1"]["facts"]["status"] == "missing"
    rows = status.grt_status_containers([inspected("grt-ctfd-db", health="unhealthy")], COMPOSE[:0], {}, "h", NOW)
    assert rows[0]["state"] == "red" and rows[0]["facts"]["problem"] == "unhealthy"


def test_an_image_other_than_the_locked_one_is_red():
    lock = {"images": {"mariadb:10.11": "mariadb@sha256:" + "c" * 64}}
    rows = status.grt_status_containers([inspected("grt-ctfd-db")], COMPOSE[:0], lock, "h", NOW)
    assert rows[0]["state"] == "red" and "not the image the lock names" in rows[0]["value"]


def test_a_container_nobody_declared_is_left_out():
    rows = status.grt_status_containers([inspected("by-hand", project=None)], [], {}, "h", NOW)
    assert rows == []


def test_certificates_under_the_minimum_are_red():
    rows = status.grt_status_certificates(
        ["/opt/grt/front/tls/front.crt\tCN = ctfd\t%d" % (90 * 86400), "/opt/grt/link/tls/a.pem\tCN = a\t%d" % 86400,
         "/x.pem\tCN = x\t-5", ""], "h", 14)
    assert [r["state"] for r in rows] == ["ok", "red", "red"]
    assert rows[0]["facts"]["days_left"] == 90 and "EXPIRED" in rows[2]["value"]


def test_disk_below_the_minimum_is_red_and_each_file_system_counts_once():
    lines = ["Mounted on 1B-blocks Avail", "/ 1000 500", "/ 1000 500", "/var/lib/docker 1000 50"]
    rows = status.grt_status_disk(lines, "h", 10)
    assert [(r["item"], r["state"]) for r in rows] == [("/", "ok"), ("/var/lib/docker", "red")]


def test_the_router_path():
    ok = status.grt_status_router('{"ok": true, "status": 200, "models": 3, "ms": 4.2, "error": ""}', "h")
    assert ok[0]["state"] == "ok" and ok[0]["value"] == "3 models in 4.2 ms"
    down = status.grt_status_router('{"ok": false, "ms": 1, "error": "URLError: refused"}', "h")
    assert down[0]["state"] == "red" and "refused" in down[0]["facts"]["problem"]
    assert status.grt_status_router("Error response from daemon: not running", "h")[0]["state"] == "red"


def test_versions_against_the_pins():
    labels = {"org.opencontainers.image.base.name": "ctfd/ctfd:3.8.7",
              "io.github.aivillage.grt.plugin": "https://x/llm_verification.git@" + "a" * 40,
              "io.github.aivillage.grt.theme": "https://x/theme.git@" + "d" * 40}
    pins = {"ctfd_repository": "ctfd/ctfd", "ctfd": "3.8.7", "plugin": "a" * 40, "theme": "main",
            "labels": {"base": "org.opencontainers.image.base.name", "plugin": "io.github.aivillage.grt.plugin",
                       "theme": "io.github.aivillage.grt.theme"}}
    assert [r["state"] for r in status.grt_status_versions(labels, pins, "h")] == ["ok", "ok", "ok"]
    rows = status.grt_status_versions(labels, dict(pins, plugin="e" * 40, ctfd="3.8.8"), "h")
    assert [r["state"] for r in rows] == ["red", "red", "ok"]
    assert [r["state"] for r in status.grt_status_versions({}, pins, "h")][:2] == ["red", "red"]


def test_the_event():
    rows = status.grt_status_event({"ok": True, "participants": 4, "challenges": 2, "pending": 1}, "h")
    assert [(r["item"], r["value"]) for r in rows] == [("participants", "4"), ("challenges", "2"),
                                                      ("pending grading", "1")]
    assert status.grt_status_event({"ok": False, "error": "login failed"}, "h")[0]["state"] == "red"


def backups(**kw):
    data = {"now": NOW, "interval": 900, "timer": "active", "repositories": ["local", "offsite"],
            "last": {"run": "r2", "ok": True, "repositories": {
                "local": {"ok": True, "time": "2027-01-15T07:55:00+00:00"},
                "offsite": {"ok": True, "time": "2027-01-15T07:56:00+00:00"}}},
            "good": None}
    data.update(kw)
    return data


def test_backups_fresh_failed_old_and_timer():
    assert [r["state"] for r in status.grt_status_backups(backups(), "h")] == ["ok", "ok"]
    failed = {"run": "r3", "ok": False, "error": "copy", "repositories": {
        "local": {"ok": True, "time": "2027-01-15T07:55:00+00:00"}, "offsite": {"ok": False, "error": "ssh: refused"}}}
    good = {"repositories": {"offsite": {"ok": True, "time": "2027-01-15T06:00:00+00:00"}}}
    rows = by_item(status.grt_status_backups(backups(last=failed, good=good), "h"))
    assert rows["local"]["state"] == "ok"
    assert rows["offsite"]["state"] == "red" and "ssh: refused" in rows["offsite"]["value"]
    assert "over twice the interval" in rows["offsite"]["value"]
    rows = by_item(status.grt_status_backups(backups(timer="inactive", last=None), "h"))
    assert rows["timer"]["state"] == "red" and rows["local"]["value"] == "no backup yet"
    young = by_item(status.grt_status_backups(backups(last=None, timer_since=NOW - 600), "h"))
    assert young["local"]["state"] == "warn" and young["local"]["value"] == "no backup yet (timer active for 10m00s)"
    old = by_item(status.grt_status_backups(backups(last=None, timer_since=NOW - 1801), "h"))
    assert old["local"]["state"] == "red"
    off = status.grt_status_backups({"enabled": False}, "h")
    assert [(r["item"], r["state"]) for r in off] == [("backups", "warn")]
    broken = status.grt_status_backups({"enabled": True, "error": "Permission denied"}, "h")
    assert broken[0]["state"] == "red" and "Permission denied" in broken[0]["value"]


def test_the_link_counts_requests_retries_errors_and_slow_ones():
    local = [
        '{"time":"t","uri":"/chat/generate","status":200,"request_time":0.2,"upstream_addr":"10.0.0.2:8443"}',
        '{"time":"t","uri":"/chat/generate","status":200,"request_time":0.9,'
        '"upstream_addr":"10.0.0.2:8443, 10.0.0.2:8443"}',
        # Every try failed: nginx answered from its error page, under that page's uri.
        '{"time":"t","uri":"/_grt_link/502","status":502,"request_time":6.004,'
        '"upstream_addr":"10.0.0.2:8443, 10.0.0.2:8443, 10.0.0.2:8443"}',
        '{"time":"t","uri":"/chat/generate","status":200,"request_time":3.5,"upstream_addr":"10.0.0.2:8443"}',
        '{"time":"t","uri":"/health","status":200,"request_time":0.001,"upstream_addr":"10.0.0.2:8443"}',
        "nginx: [notice] start worker process 7",
    ]
    row = status.grt_status_link(local, "h", "local")[0]
    assert row["facts"] == {"requests": 4, "errors": 1, "retries": 3, "slow": 2, "slowest_seconds": 6.004,
                            "problem": ""} and row["state"] == "warn"
    remote = ['{"time":"t","uri":"/chat/models","status":200}', '{"time":"t","uri":"/health","status":200}']
    quiet = status.grt_status_link(remote, "h", "remote")[0]
    assert quiet["facts"]["requests"] == 1 and quiet["state"] == "ok" and "retries" not in quiet["value"]


def test_table_problems_and_json_agree():
    rows = (status.grt_status_router('{"ok": false, "error": "refused"}', "h")
            + status.grt_status_disk(["h", "/ 100 50"], "h", 10) + status.grt_status_unreachable(["g"]))
    table = status.grt_status_table(rows).splitlines()
    assert table[0].split() == ["HOST", "SECTION", "ITEM", "STATE", "VALUE"] and len(table) == 4
    assert status.grt_status_problems(rows) == ["h router path GET /chat/models: refused", "g host reachable: unreachable"]
    facts = status.grt_status_json(rows)
    assert facts["h"]["disk"]["/"]["state"] == "ok" and facts["g"]["host"]["reachable"]["state"] == "red"
    assert json.loads(json.dumps(facts)) == facts
