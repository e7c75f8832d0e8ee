"""The status report's rows, from what each row's task read on a host.

A row is a dict: host, section, item, state (ok | warn | red), value (what the
table shows) and facts (the same, as data, for -e status_format=json). Each
``grt_status_<section>`` filter turns one task's raw answer into rows; the
report (grt_status_table, grt_status_problems) only reads rows, so a new row
is a task file and, at most, one more small function here.
"""

import datetime
import json
import re

STATES = ("ok", "warn", "red")


def _row(host, section, item, level, value, **facts):
    return {"host": host, "section": section, "item": item, "state": level, "value": value, "facts": facts}


def _when(text):
    """An ISO 8601 time (Docker's nanoseconds, restic's offsets, a trailing Z) as an aware datetime."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    when = datetime.datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=datetime.timezone.utc)


def _age(seconds):
    """42s, 5m30s, 4h12m, 2d3h."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d{(seconds % 86400) // 3600:02d}h"


def _expected_containers(compose_files):
    """Container names each compose file declares: container_name, else compose's <project>-<service>-1."""
    expected = {}
    for document in compose_files:
        project = document.get("name", "")
        for service, spec in (document.get("services") or {}).items():
            expected[(spec or {}).get("container_name") or f"{project}-{service}-1"] = project
    return expected


def grt_status_containers(inspected, compose_files, lock, host, now):
    """inspected: one JSON object per container (the row's docker inspect format); compose_files: the
    host's compose.yaml documents; lock: grt_images_lock (or {}); now: the host's epoch seconds."""
    lock = lock or {}
    locked_refs = set((lock.get("images") or {}).values())
    built_ids = set(((lock.get("built") or {}).get(host) or {}).values())
    expected = _expected_containers(compose_files)
    seen, rows = set(), []
    for line in inspected:
        if not line.strip():
            continue
        info = json.loads(line)
        name = info["name"].lstrip("/")
        if name not in expected and not info.get("project"):
            continue  # not the stack's (a container someone started by hand)
        seen.add(name)
        problems = []
        if info["state"] != "running":
            problems.append(f"{info['state']} (exit {info.get('exit_code')})")
        elif info.get("health") == "unhealthy":
            problems.append("unhealthy")
        if not lock:
            pin = "no lock"
        elif info["image"] in locked_refs or info["image_id"] in built_ids:
            pin = "as locked"
        else:
            pin = "NOT the locked image"
            problems.append(f"runs {info['image']}, not the image the lock names")
        uptime = ""
        if info["state"] == "running" and not info["started"].startswith("0001-"):
            uptime = _age(max(0, now - _when(info["started"]).timestamp()))
        health = info.get("health") or "no healthcheck"
        starting = info["state"] == "running" and health == "starting"
        state = "red" if problems else "warn" if starting else "ok"
        value = f"{info['state']}, {health}, up {uptime or '-'}, {info['restarts']} restarts, {pin}"
        rows.append(_row(host, "container", name, state, value if not problems else f"{value}: {'; '.join(problems)}",
                         status=info["state"], health=info.get("health"), restarts=info["restarts"], uptime=uptime,
                         image=info["image"], image_id=info["image_id"], locked=pin == "as locked",
                         problem="; ".join(problems)))
    for name in sorted(set(expected) - seen):
        rows.append(_row(host, "container", name, "red", f"missing (declared by project {expected[name]})",
                         status="missing", problem="missing"))
    return rows


def grt_status_versions(labels, pins, host):
    """labels: the running CTFd image's labels; pins: ctfd_image_pins (what the inventory asks for, and the
    names of the labels that record what the image was built from)."""
    rows = []
    keys = pins["labels"]
    base = labels.get(keys["base"], "")
    want = f"{pins.get('ctfd_repository', '')}:{pins.get('ctfd', '')}"
    rows.append(_row(host, "version", "CTFd", "ok" if base == want else "red",
                     base if base == want else f"runs {base or '?'}, the inventory pins {want}",
                     running=base, pinned=want, problem="" if base == want else f"runs {base}, pinned {want}"))
    for part in ("plugin", "theme"):
        running = labels.get(keys[part], "")
        commit = running.rpartition("@")[2]
        pin = str(pins.get(part, ""))
        # A commit pin must be the commit that runs; a tag or branch pin is shown as is.
        matches = not re.fullmatch(r"[0-9a-f]{7,40}", pin) or (commit.startswith(pin) or pin.startswith(commit)) \
            and bool(commit)
        rows.append(_row(host, "version", part, "ok" if matches else "red",
                         running if matches else f"runs {running or '?'}, the inventory pins {pin}",
                         running=running, pinned=pin, problem="" if matches else f"runs {commit}, pinned {pin}"))
    return rows


def grt_status_router_image(image, pins, host):
    """image: the router container's image reference; pins: llm_router_pins. Its state is the container
    row's to judge: this row says what runs and from what."""
    image = image.strip()
    value = f"{image or 'no container'} (configured {pins.get('image', '?')}, {pins.get('source', '?')})"
    return [_row(host, "version", "router image", "ok" if image else "red", value, running=image,
                 configured=pins.get("image"), source=pins.get("source"), problem="" if image else "no container")]


def grt_status_certificates(lines, host, min_days):
    """lines: 'path<TAB>subject<TAB>seconds left' per certificate file."""
    rows = []
    for line in lines:
        if not line.strip():
            continue
        path, subject, left = line.split("\t")
        days = int(left) // 86400
        state = "red" if int(left) < min_days * 86400 else "ok"
        rows.append(_row(host, "certificate", path, state,
                         f"{days} days left ({subject})" if int(left) > 0 else f"EXPIRED ({subject})",
                         subject=subject, days_left=days,
                         problem="" if state == "ok" else f"{days} days left, fewer than {min_days}"))
    return rows


def grt_status_disk(lines, host, min_free_percent):
    """lines: df -B1 --output=target,size,avail (header first), one line per file system."""
    rows, mounts = [], set()
    for line in lines[1:]:
        target, size, avail = line.split()
        if target in mounts:
            continue
        mounts.add(target)
        free = 100.0 * int(avail) / int(size) if int(size) else 0.0
        state = "red" if free < min_free_percent else "ok"
        rows.append(_row(host, "disk", target, state, f"{free:.0f} % free ({int(avail) // 2**20} MiB)",
                         free_percent=round(free, 1), free_bytes=int(avail), size_bytes=int(size),
                         problem="" if state == "ok" else f"{free:.1f} % free, below {min_free_percent} %"))
    return rows


def grt_status_router(answer, host):
    """answer: the probe's JSON line from inside the CTFd container (ok, status, models, ms, error)."""
    try:
        probe = json.loads(answer)
    except ValueError:
        probe = {"ok": False, "error": answer.strip()[-200:] or "no answer"}
    if probe.get("ok"):
        return [_row(host, "router path", "GET /chat/models", "ok",
                     f"{probe['models']} models in {probe['ms']} ms", **probe, problem="")]
    problem = probe.get("error") or f"answered {probe.get('status')}"
    return [_row(host, "router path", "GET /chat/models", "red", f"FAILING: {problem}", **dict(probe, problem=problem))]


def grt_status_event(status, host):
    """status: ctfd_content_status (ok, error, participants, challenges, pending)."""
    if not status.get("ok"):
        return [_row(host, "event", "CTFd", "red", f"unreadable: {status.get('error')}", problem=status.get("error"))]
    pending = status.get("pending")
    return [_row(host, "event", "participants", "ok", str(status["participants"]), count=status["participants"]),
            _row(host, "event", "challenges", "ok", str(status["challenges"]), count=status["challenges"]),
            _row(host, "event", "pending grading", "ok", "no llm_verification" if pending is None else str(pending),
                 count=pending)]


def grt_status_backups(data, host):
    """data: ctfd_backup_status - `grt-backup status` (now, interval seconds, timer, repositories, last and
    last good run), with enabled, or an error when the program could not be asked."""
    if not data.get("enabled", True):
        return [_row(host, "backup", "backups", "warn", "off (ctfd_backup_enabled: false)", problem="")]
    if "now" not in data:
        problem = f"grt-backup status failed: {data.get('error') or 'no answer'}"
        return [_row(host, "backup", "grt-backup", "red", problem, problem=problem)]
    now, interval = data["now"], data.get("interval")
    last, good = data.get("last") or {}, data.get("good") or {}
    rows = []
    if data.get("timer") != "active":
        rows.append(_row(host, "backup", "timer", "red", f"grt-backup.timer is {data.get('timer')}",
                         problem=f"grt-backup.timer is {data.get('timer')}"))
    names = data.get("repositories") or sorted((last.get("repositories") or {}))
    if not last:
        # A new deployment's timer has not fired yet: red only once two intervals have gone by without a run.
        waited = now - data["timer_since"] if data.get("timer_since") else None
        late = waited is None or interval is None or waited > 2 * interval
        value = "no backup yet" + (f" (timer active for {_age(waited)})" if waited is not None else "")
        return rows + [_row(host, "backup", name, "red" if late else "warn", value,
                            problem=value if late else "") for name in names]
    for name in names:
        result = (last.get("repositories") or {}).get(name)
        ok_time = result.get("time") if result and result.get("ok") else \
            ((good.get("repositories") or {}).get(name) or {}).get("time")
        age = int(now - _when(ok_time).timestamp()) if ok_time else None
        problems = []
        if not result or not result.get("ok"):
            problems.append(f"last run {last.get('run', '?')} failed: "
                            f"{(result or {}).get('error') or last.get('error') or 'not reached'}")
        if age is None:
            problems.append("never saved")
        elif interval and age > 2 * interval:
            problems.append(f"last good {_age(age)} ago, over twice the interval ({_age(interval)})")
        value = f"last good {_age(age)} ago" if age is not None else "never saved"
        value += f", every {_age(interval)}" if interval else ""
        rows.append(_row(host, "backup", name, "red" if problems else "ok",
                         value + (f": {'; '.join(problems)}" if problems else ""),
                         age_seconds=age, interval_seconds=interval, last_ok=bool(result and result.get("ok")),
                         run=last.get("run"), problem="; ".join(problems)))
    return rows


def grt_status_link(lines, host, role, slow_seconds=2.0):
    """lines: the proxy's JSON access log lines of the window (its grt_link format, tasks/rows/link.yml);
    role: local or remote. Counts requests, errors (status 5xx), slow ones (slow_seconds or longer, with the
    slowest) and, on the local proxy, retries: each call's tries beyond the first. A short blip on a
    kept-alive connection is carried by TCP and shows as a slow request; a connection that fails is retried."""
    requests = retries = errors = slow = 0
    slowest = 0.0
    for line in lines:
        start = line.find("{")
        if start < 0:
            continue
        try:
            entry = json.loads(line[start:])
        except ValueError:
            continue
        if "status" not in entry:
            continue
        if role == "local":
            # nginx lists every try in $upstream_addr: "a, b" (next upstream), "a : b" (another group).
            retries += len(re.split(r",\s*|\s+:\s+", entry.get("upstream_addr") or "-")) - 1
        if entry.get("uri") in ("/health", "/healthz"):
            continue
        requests += 1
        seconds = float(entry.get("request_time") or 0)
        slowest = max(slowest, seconds)
        slow += seconds >= slow_seconds
        if int(entry.get("status", 0)) >= 500:
            errors += 1
    # A warning, never red: whether the router path works now is the router path row's to say.
    state = "warn" if errors or retries else "ok"
    value = f"{requests} requests, {errors} errors, {slow} slow (slowest {slowest:.1f} s)"
    value += f", {retries} retries" if role == "local" else ""
    return [_row(host, "link", f"{role} proxy, last hour", state, value, requests=requests, errors=errors,
                 retries=retries, slow=slow, slowest_seconds=round(slowest, 3), problem="")]


def grt_status_unreachable(hosts):
    return [_row(host, "host", "reachable", "red", "UNREACHABLE or failed while reading", problem="unreachable")
            for host in hosts]


def grt_status_problems(rows):
    """One line per red row: host section item: problem."""
    return [f"{r['host']} {r['section']} {r['item']}: {r['facts'].get('problem') or r['value']}"
            for r in rows if r["state"] == "red"]


def grt_status_table(rows):
    """The rows as one aligned text table, in host then section order (the order the rows came in)."""
    header = ("HOST", "SECTION", "ITEM", "STATE", "VALUE")
    cells = [header] + [(r["host"], r["section"], r["item"], r["state"].upper(), r["value"]) for r in rows]
    widths = [max(len(str(c[i])) for c in cells) for i in range(4)]
    return "\n".join("  ".join(str(c[i]).ljust(widths[i]) for i in range(4)) + "  " + str(c[4]) for c in cells)


def grt_status_json(rows):
    """Facts per host and section: {host: {section: {item: {state, value, ...facts}}}}."""
    out = {}
    for r in rows:
        out.setdefault(r["host"], {}).setdefault(r["section"], {})[r["item"]] = dict(
            r["facts"], state=r["state"], value=r["value"])
    return out


class FilterModule:
    def filters(self):
        return {name: function for name, function in globals().items()
                if name.startswith("grt_status_") and callable(function)}
