"""Doors open: N participants arriving within a minute at the monolith scenario, then browsing and chatting.

Run by bench/doors.sh (`make bench`). For each configuration - the anchor first (the settings before the
auth lane, the door and the pool sizing: bench/doors-anchor.yml), then the shipped defaults - it converges
the `default` scenario's host with it, restarts MariaDB (so Max_used_connections starts at 0), and runs
Locust (bench/doors_locustfile.py) from this machine, each participant from its own source address on the
scenario's bridge. Per phase (arrival: until the last registration has answered; steady: after) it reports
req/s, 5xx, page p95/p99, registration p50/p95, chat p95 and CPU per container, in
bench/results/doors-<date>.{json,md} with doors.png. Ratios shipped/anchor come from the same run.
"""

import argparse
import datetime
import ipaddress
import json
import os
import pathlib
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
HOST = "grt-molecule-monolith"
FIXTURES = ROOT / "molecule" / "default" / "group_vars" / "all" / "fixtures.yml"


def config_vars(label):
    """`shipped` is the roles' defaults; any other name is bench/doors-<name>.yml on top of them."""
    if label == "shipped":
        return None
    path = ROOT / "bench" / f"doors-{label}.yml"
    if not path.is_file():
        sys.exit(f"no {path} for configuration {label!r}")
    return path


def run(*argv, check=True, **kw):
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kw)


def converge(extra_vars):
    argv = ["molecule", "converge", "-s", "default"]
    if extra_vars:
        argv += ["--", "-e", f"@{extra_vars}"]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"converge failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")


def host_ip():
    return run("docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
               HOST).stdout.split()[0]


def source_addresses(target, count):
    """`count` extra addresses for this machine on the bridge that reaches the test host (/32 each)."""
    route = run("ip", "-j", "route", "get", target).stdout
    device = json.loads(route)[0]["dev"]
    network = ipaddress.ip_network(target + "/16", strict=False)
    base = int(network.network_address) + (250 << 8)
    addresses = [str(ipaddress.ip_address(base + 1 + i)) for i in range(count)]
    for address in addresses:
        run("ip", "addr", "add", f"{address}/32", "dev", device, check=False)
    return device, addresses


def drop_addresses(device, addresses):
    for address in addresses:
        run("ip", "addr", "del", f"{address}/32", "dev", device, check=False)


def vendor_delay(seconds):
    url = next(line.split(": ", 1)[1].strip() for line in FIXTURES.read_text().splitlines()
               if line.strip().startswith("grt_test_vendor_url:"))
    request = urllib.request.Request(url + "/_config", data=json.dumps({"delay": seconds}).encode(), method="PUT",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).read()


def db(sql):
    script = f'MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -B -e "{sql}"'
    return run("docker", "exec", HOST, "docker", "exec", "grt-ctfd-db", "sh", "-c", script).stdout.split()


class CpuSampler(threading.Thread):
    """`docker stats` of the host's containers every few seconds: (time, container, % of one core)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples, self.stop = [], threading.Event()

    def run(self):
        while not self.stop.is_set():
            now = time.time()
            out = run("docker", "exec", HOST, "docker", "stats", "--no-stream", "--format",
                      "{{.Name}} {{.CPUPerc}}", check=False).stdout
            for line in out.splitlines():
                name, cpu = line.rsplit(" ", 1)
                self.samples.append((now, name, float(cpu.rstrip("%") or 0)))
            self.stop.wait(3)


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q / 100 * len(values)))], 1)


def phase_report(samples, cpu, start, end):
    inside = [s for s in samples if start <= s["t"] < end]
    pages = [s["ms"] for s in inside if s["name"].startswith(("page ", "api ")) and s["status"] and s["status"] < 500]
    registers = [s for s in inside if s["name"] == "register"]
    chats = [s["ms"] for s in inside if s["name"] == "chat" and s["status"] == 200]
    per_container = {}
    for when, name, value in cpu:
        if start <= when < end:
            per_container.setdefault(name, []).append(value)
    seconds = max(end - start, 1e-9)
    return {
        "seconds": round(seconds, 1),
        "requests": len(inside),
        "req_per_s": round(len(inside) / seconds, 1),
        "http_5xx": sum(1 for s in inside if s["status"] >= 500),
        "http_429": sum(1 for s in inside if s["status"] == 429),
        "no_answer": sum(1 for s in inside if s["status"] == 0),
        "page_p95_ms": pct(pages, 95), "page_p99_ms": pct(pages, 99),
        "registrations": len(registers),
        "registrations_ok": sum(1 for s in registers if s["status"] in (302, 303)),
        "register_p50_ms": pct([s["ms"] for s in registers], 50),
        "register_p95_ms": pct([s["ms"] for s in registers], 95),
        "chat_p95_ms": pct(chats, 95),
        "cpu_percent_mean": {k: round(statistics.mean(v), 1) for k, v in sorted(per_container.items())},
        "cpu_percent_max": {k: round(max(v), 1) for k, v in sorted(per_container.items())},
    }


def measure(label, args, target, addresses_file, work):
    samples_file = work / f"{label}.jsonl"
    samples_file.write_text("")
    run("docker", "exec", HOST, "docker", "restart", "grt-ctfd-db")
    time.sleep(10)  # CTFd's pools find their connections gone and reconnect (pre-ping)
    vendor_delay(args.model_seconds)
    sampler = CpuSampler()
    sampler.start()
    started = time.time()
    env = dict(os.environ, BENCH_ADDRESSES=str(addresses_file), BENCH_SAMPLES=str(samples_file))
    rate = max(args.participants / args.arrival, 0.1)
    locust = subprocess.run(
        ["locust", "-f", str(ROOT / "bench" / "doors_locustfile.py"), "--headless", "--only-summary",
         "-u", str(args.participants), "-r", f"{rate:.2f}", "-t", f"{args.arrival + args.steady}s",
         "--stop-timeout", "30", "--host", f"https://{target}"],
        env=env, capture_output=True, text=True)
    ended = time.time()
    sampler.stop.set()
    sampler.join()
    vendor_delay(0)
    samples = [json.loads(line) for line in samples_file.read_text().splitlines() if line]
    registers = [s["t"] + s["ms"] / 1000 for s in samples if s["name"] == "register"]
    arrived = max(registers) if registers else started + args.arrival
    used, limit = db("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                     "WHERE VARIABLE_NAME='MAX_USED_CONNECTIONS'; SELECT @@max_connections")
    return {
        "label": label, "locust_exit": locust.returncode,
        "max_used_connections": int(used), "max_connections": int(limit),
        "arrival": phase_report(samples, sampler.samples, started, arrived),
        "steady": phase_report(samples, sampler.samples, arrived, ended),
        "timeline": samples,
    }


def markdown(result):
    lines = [f"# Doors open - {result['date']}", "",
             f"{result['participants']} participants arriving within {result['arrival']} s, then "
             f"{result['steady']} s of browsing and chatting (model answers in {result['model_seconds']} s), "
             f"{result['addresses']} source addresses, on {result['cores']} cores.", "",
             "| config | phase | req/s | 5xx | 429 | no answer | page p95 ms | page p99 ms | registered | "
             "register p50 ms | register p95 ms | chat p95 ms | CTFd CPU % | lane CPU % |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run_ in result["runs"]:
        for phase in ("arrival", "steady"):
            p = run_[phase]
            cpu = p["cpu_percent_mean"]
            lines.append(
                f"| {run_['label']} | {phase} | {p['req_per_s']} | {p['http_5xx']} | {p['http_429']} | "
                f"{p['no_answer']} | {p['page_p95_ms']} | {p['page_p99_ms']} | {p['registrations_ok']}/"
                f"{p['registrations']} | {p['register_p50_ms']} | {p['register_p95_ms']} | {p['chat_p95_ms']} | "
                f"{cpu.get('grt-ctfd', '-')} | {cpu.get('grt-ctfd-auth', '-')} |")
    lines += ["", "| config | MariaDB Max_used_connections / max_connections |", "|---|---|"]
    lines += [f"| {r['label']} | {r['max_used_connections']} / {r['max_connections']} |" for r in result["runs"]]
    lines += ["", "Goal (shipped): 0 5xx, page p95 < 500 ms in both phases, every registration succeeds, "
              f"registration p95 < 15 s: **{'met' if result['goal_met'] else 'not met'}**.", ""]
    return "\n".join(lines)


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (pages, regs) = plt.subplots(1, 2, figsize=(12, 4.5))
    for run_ in result["runs"]:
        samples = run_["timeline"]
        start = min(s["t"] for s in samples)
        buckets = {}
        for s in samples:
            if s["name"].startswith(("page ", "api ")):
                buckets.setdefault(int((s["t"] - start) // 5) * 5, []).append(s["ms"])
        xs = sorted(buckets)
        pages.plot(xs, [pct(buckets[x], 95) for x in xs], label=run_["label"])
        regs.plot(sorted(s["ms"] / 1000 for s in samples if s["name"] == "register"), label=run_["label"])
    pages.set(title="page p95 per 5 s", xlabel="seconds since the doors opened", ylabel="ms", yscale="log")
    regs.set(title="registrations, sorted", xlabel="participant", ylabel="seconds")
    pages.legend()
    regs.legend()
    fig.tight_layout()
    fig.savefig(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--arrival", type=int, default=60, help="seconds over which they arrive")
    parser.add_argument("--steady", type=int, default=120, help="seconds of browsing and chatting after")
    parser.add_argument("--addresses", type=int, default=0, help="source addresses (default: one each)")
    parser.add_argument("--model-seconds", type=float, default=2.0, help="how long the fake model takes")
    parser.add_argument("--configs", default="anchor,shipped",
                        help="comma-separated: shipped, or a name with bench/doors-<name>.yml (anchor, workers-1, ...)")
    parser.add_argument("--as-is", action="store_true", help="measure the host as it is (one run, no converge)")
    args = parser.parse_args()
    target = host_ip()
    device, addresses = source_addresses(target, args.addresses or args.participants)
    work = RESULTS / "work"
    work.mkdir(parents=True, exist_ok=True)
    addresses_file = work / "addresses.txt"
    addresses_file.write_text("\n".join(addresses) + "\n")
    runs = []
    try:
        for label in ["as-is"] if args.as_is else args.configs.split(","):
            if not args.as_is:
                print(f"doors: converging the {label} settings", flush=True)
                converge(config_vars(label))
            print(f"doors: {args.participants} participants against the {label} settings", flush=True)
            runs.append(measure(label, args, target, addresses_file, work))
    finally:
        drop_addresses(device, addresses)
        if any(r["label"] != "shipped" for r in runs) and runs[-1]["label"] != "shipped":
            converge(None)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    shipped = next((r for r in runs if r["label"] == "shipped"), None)
    goal = bool(shipped) and all(
        shipped[p]["http_5xx"] == 0 and shipped[p]["no_answer"] == 0 and (shipped[p]["page_p95_ms"] or 0) < 500
        for p in ("arrival", "steady")) and shipped["arrival"]["registrations_ok"] == args.participants and (
        shipped["arrival"]["register_p95_ms"] or 0) < 15000
    result = {"date": date, "participants": args.participants, "arrival": args.arrival, "steady": args.steady,
              "addresses": len(addresses), "model_seconds": args.model_seconds, "cores": os.cpu_count(),
              "runs": runs, "goal_met": goal}
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(result, RESULTS / "doors.png")
    # Every request of each run stays in bench/results/work/<config>.jsonl (not kept in git).
    summary = dict(result, runs=[{k: v for k, v in r.items() if k != "timeline"} for r in runs])
    (RESULTS / f"doors-{date}.json").write_text(json.dumps(summary, indent=1))
    (RESULTS / f"doors-{date}.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
