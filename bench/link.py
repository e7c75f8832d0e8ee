#!/usr/bin/env python3
"""Loopback benchmark of the split layout's link: the roles' nginx pair against anchors in the same run.

  bench/link.py [--out bench/results] [--levels 1,64] [--duration 5] [--rounds 5]

No Molecule: every proxy runs on this machine's loopback (containers of the
harness's nginx image on the host network, one nginx worker each; stunnel on
the host), in front of a zero-cost backend (nginx `return 200`). The load is
wrk -t1, POST /chat/generate with a new uuid per request (bench/link.lua).
Paths, measured interleaved (each round runs every path at every level, the
order rotating):

  direct   wrk -> backend
  pair     wrk -> the local proxy -> mutual TLS 1.3 -> the remote proxy -> backend,
           with the configurations the local_proxy and remote_proxy roles render
           (bench/link-render.yml: their templates, defaults and private variables;
           what differs is only where things listen, the names, and the spend
           guard, which is off: it would cap the run at its rate)
  minimal  the smallest nginx mutual-TLS pair (TLS 1.3, keep-alive both ways,
           session reuse, no logs): the anchor the pair is held to
  stunnel  a stunnel pair (verifyChain, checkHost, TLS 1.3)

Besides req/s and latency, each sample records the CPU time the path's own
proxies spent per call (from /proc: the containers' processes, the stunnel
processes), a cost that a busy neighbour on a shared machine disturbs less
than the throughput.

Results: <out>/link-<date>.json and .md and <out>/link.png (matplotlib from
requirements-bench.txt; skipped with a warning when missing). The goals of
issue 14 are reported as met or not against the anchors of the same run;
nothing here asserts a number.
"""

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import yaml
from bench_plot import pyplot

BENCH_DIR = pathlib.Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
IMAGE = os.environ.get("GRT_BENCH_NGINX_IMAGE", "grt-test/offline/nginx")
PREFIX = "grt-bench-link"
PORTS = {
    "backend": 9000, "minimal_local": 7000, "minimal_remote": 7443, "stunnel_local": 7100, "stunnel_remote": 7543,
    "pair_local": 8000, "pair_remote": 8443, "local_health": 8081, "remote_health": 8082,
}
PATHS = {"direct": "backend", "pair": "pair_local", "minimal": "minimal_local", "stunnel": "stunnel_local"}
# The processes whose CPU time is each path's cost per call (the backend and wrk are the same for all).
PROXIES = {"direct": [], "pair": ["local", "remote"], "minimal": ["minimal-local", "minimal-remote"],
           "stunnel": ["stunnel-local", "stunnel-remote"]}
REMOTE_NAME, CLIENT_NAME = "grt-bench-remote", "grt-bench-local"
# Where the roles' proxies write their access logs in the container (a directory of the host): compose_stack's own.
LOG_PATH = yaml.safe_load((PROJECT_DIR / "roles/compose_stack/vars/main.yml").read_text())["compose_stack_nginx_log_path"]
# Issue 14's goals, at the highest level measured (c) and at one client.
GOALS = [
    ("pair req/s >= 1.2 x stunnel's at c", lambda r, c: r["pair"][c]["rps"] >= 1.2 * r["stunnel"][c]["rps"]),
    ("pair req/s >= 0.8 x the minimal pair's at c", lambda r, c: r["pair"][c]["rps"] >= 0.8 * r["minimal"][c]["rps"]),
    ("pair p99 <= 2 x the minimal pair's at c", lambda r, c: r["pair"][c]["p99_ms"] <= 2 * r["minimal"][c]["p99_ms"]),
    ("pair p50 <= the minimal pair's + 0.1 ms at 1 client",
     lambda r, c: r["pair"][1]["p50_ms"] <= r["minimal"][1]["p50_ms"] + 0.1),
]


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def run(*cmd, **kwargs):
    kwargs.setdefault("check", True)
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)


# --- the parts ------------------------------------------------------------------------------------

def certificates(tls):
    """A private CA (ECDSA P-256), the remote's server certificate and the local's client certificate."""
    tls.mkdir(parents=True)

    def make(name, subject, extensions, ca=False):
        key = tls / f"{name}.key"
        run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        if ca:
            run("openssl", "req", "-x509", "-new", "-key", key, "-subj", subject, "-days", "2", "-out", tls / "ca.crt",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
            return
        csr = tls / f"{name}.csr"
        run("openssl", "req", "-new", "-key", key, "-subj", subject, "-out", csr)
        ext = tls / f"{name}.ext"
        ext.write_text(extensions)
        run("openssl", "x509", "-req", "-in", csr, "-CA", tls / "ca.crt", "-CAkey", tls / "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", ext, "-out", tls / f"{name}.crt")

    make("ca", "/CN=grt-bench-ca", "", ca=True)
    make("server", f"/CN={REMOTE_NAME}", f"basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                          f"extendedKeyUsage=serverAuth\nsubjectAltName=DNS:{REMOTE_NAME}\n")
    make("client", f"/CN={CLIENT_NAME}", f"basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                          f"extendedKeyUsage=clientAuth\nsubjectAltName=DNS:{CLIENT_NAME}\n")
    (tls / "bundle-client.pem").write_text((tls / "client.crt").read_text() + (tls / "client.key").read_text())
    (tls / "bundle-server.pem").write_text((tls / "server.crt").read_text() + (tls / "server.key").read_text())
    for path in tls.iterdir():
        path.chmod(0o644)  # a throwaway CA; nginx's workers run as another user


def render_pair(work, token, max_clients, extra_vars):
    """The roles' own configurations (bench/link-render.yml); extra_vars (--set) on top, to see what one
    setting costs."""
    for part in ("local/conf.d", "remote/conf.d", "templates"):
        (work / part).mkdir(parents=True)
    variables = {
        "grt_bench_dir": str(work), "grt_bench_local_health_port": PORTS["local_health"],
        "grt_bench_remote_health_port": PORTS["remote_health"],
        "local_proxy_remote_host": "127.0.0.1", "local_proxy_remote_port": PORTS["pair_remote"],
        "local_proxy_remote_name": REMOTE_NAME,
        "remote_proxy_port": PORTS["pair_remote"], "remote_proxy_router_host": "127.0.0.1",
        "remote_proxy_router_port": PORTS["backend"], "remote_proxy_token": token,
        "remote_proxy_allowed_clients": [CLIENT_NAME], "remote_proxy_generate_per_minute": 0,
        # The CTFd this bench stands for: one worker that has max_clients calls in flight.
        "ctfd_workers": 1, "ctfd_concurrent_chats": max_clients,
        "ansible_python_interpreter": sys.executable, **extra_vars,
    }
    extra = work / "render-vars.json"
    extra.write_text(json.dumps(variables))
    extra.chmod(0o600)
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT_DIR / "ansible.cfg"), ANSIBLE_LOG_PATH="/dev/null")
    playbook = pathlib.Path(sys.executable).parent / "ansible-playbook"
    result = run(playbook if playbook.exists() else "ansible-playbook", "-i", "localhost,", BENCH_DIR / "link-render.yml", "-e", f"@{extra}",
                 env=env, cwd=PROJECT_DIR, check=False)
    if result.returncode:
        raise SystemExit(f"bench: rendering the roles' configurations failed:\n{result.stdout[-3000:]}")
    keepalive = re.findall(r"keepalive (\d+);", (work / "local/conf.d/grt-link.conf").read_text())
    return {"local_keepalive": sorted(set(int(k) for k in keepalive))}


MINIMAL_LOCAL = """
upstream minimal_remote {{ server 127.0.0.1:{minimal_remote}; keepalive 256; }}
server {{
    listen 127.0.0.1:{minimal_local};
    access_log off;
    location / {{
        proxy_pass https://minimal_remote;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_ssl_protocols TLSv1.3;
        proxy_ssl_certificate /etc/nginx/tls/client.crt;
        proxy_ssl_certificate_key /etc/nginx/tls/client.key;
        proxy_ssl_trusted_certificate /etc/nginx/tls/ca.crt;
        proxy_ssl_verify on;
        proxy_ssl_name {remote_name};
        proxy_ssl_session_reuse on;
    }}
}}
"""
MINIMAL_REMOTE = """
upstream minimal_backend {{ server 127.0.0.1:{backend}; keepalive 256; }}
server {{
    listen 127.0.0.1:{minimal_remote} ssl;
    access_log off;
    ssl_certificate /etc/nginx/tls/server.crt;
    ssl_certificate_key /etc/nginx/tls/server.key;
    ssl_protocols TLSv1.3;
    ssl_session_cache shared:minimal:10m;
    ssl_verify_client on;
    ssl_client_certificate /etc/nginx/tls/ca.crt;
    location / {{
        proxy_pass http://minimal_backend;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }}
}}
"""
BACKEND = """
server {{
    listen 127.0.0.1:{backend};
    access_log off;
    keepalive_requests 1000000;
    location / {{
        default_type application/json;
        return 200 '{{"generation":"ok","uuid":"bench"}}';
    }}
}}
"""
STUNNEL = """
foreground = yes
pid =
debug = 3
[link]
{role}
accept = 127.0.0.1:{accept}
connect = 127.0.0.1:{connect}
sslVersionMin = TLSv1.3
CAfile = {tls}/ca.crt
cert = {tls}/bundle-{bundle}.pem
verifyChain = yes
{check}
"""


def write_anchors(work, tls):
    values = dict(PORTS, remote_name=REMOTE_NAME)
    for name, text in (("minimal-local", MINIMAL_LOCAL), ("minimal-remote", MINIMAL_REMOTE), ("backend", BACKEND)):
        (work / name / "conf.d").mkdir(parents=True)
        (work / name / "conf.d" / "bench.conf").write_text(text.format(**values))
    (work / "stunnel-local.conf").write_text(STUNNEL.format(
        role="client = yes", accept=PORTS["stunnel_local"], connect=PORTS["stunnel_remote"], tls=tls, bundle="client",
        check=f"checkHost = {REMOTE_NAME}"))
    (work / "stunnel-remote.conf").write_text(STUNNEL.format(
        role="", accept=PORTS["stunnel_remote"], connect=PORTS["backend"], tls=tls, bundle="server",
        check=f"checkHost = {CLIENT_NAME}"))


def nginx_conf(work):
    """The image's own nginx.conf with one worker process."""
    text = run("docker", "run", "--rm", IMAGE, "cat", "/etc/nginx/nginx.conf").stdout
    text, count = re.subn(r"(?m)^worker_processes\s+\S+;", "worker_processes 1;", text)
    if not count:
        text = "worker_processes 1;\n" + text
    (work / "nginx.conf").write_text(text)


@contextlib.contextmanager
def running(work, tls):
    """Every proxy and the backend up, whatever happens; all stopped after. Yields the stunnels' process ids."""
    names, stunnels, pids = [], [], {}
    try:
        for name in ("backend", "minimal-remote", "minimal-local", "remote", "local"):
            container = f"{PREFIX}-{name}"
            run("docker", "rm", "-f", container, check=False)
            logs = work / "logs" / name
            logs.mkdir(parents=True, mode=0o750)  # as compose_stack makes it
            run("docker", "run", "-d", "--name", container, "--network", "host",
                "-v", f"{work / 'nginx.conf'}:/etc/nginx/nginx.conf:ro",
                "-v", f"{work / name / 'conf.d'}:/etc/nginx/conf.d:ro", "-v", f"{tls}:/etc/nginx/tls:ro",
                "--tmpfs", "/var/cache/grt-link:mode=1777", "-v", f"{logs}:{LOG_PATH}", IMAGE)
            names.append(container)
        for side in ("remote", "local"):
            stunnels.append(subprocess.Popen(["stunnel", str(work / f"stunnel-{side}.conf")],
                                             stdout=subprocess.DEVNULL, stderr=open(work / f"stunnel-{side}.log", "w")))
            pids[f"stunnel-{side}"] = [stunnels[-1].pid]  # one process, a thread per connection
        for port in PORTS.values():
            wait_for_port(port)
        yield pids
    finally:
        for process in stunnels:
            process.terminate()
        for container in names:
            run("docker", "rm", "-f", container, check=False)


def wait_for_cache_loader(work, timeout=90):
    """A disk cache (the remote's dedup lock) is cold until nginx's cache loader has run, 60 s after the
    start: until then every lookup of a new key also tries to open a file. A deployment runs for days, so
    the pair is measured as it runs then."""
    if "proxy_cache_path" not in (work / "remote/conf.d/grt-link.conf").read_text():
        return
    log("waiting for the remote proxy's cache loader (nginx runs it 60 s after the start)")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = run("docker", "logs", f"{PREFIX}-remote", check=False)
        if re.search(r"cache loader process \d+ exited", logs.stdout + logs.stderr):
            return
        time.sleep(2)
    raise SystemExit(f"bench: the remote proxy's cache loader did not finish within {timeout} s")


def wait_for_port(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise SystemExit(f"bench: nothing listens on 127.0.0.1:{port} after {timeout} s "
                     f"(docker logs {PREFIX}-<name>, or the stunnel logs in the work directory)")


# --- the load ----------------------------------------------------------------------------------------

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text):
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return round(float(number) * UNITS[unit], 3)


def cpu_seconds(names, stunnel_pids):
    """User and system time, by process id, that the proxies' processes (all their threads) have spent so
    far: a container's as the host sees them (nginx's master, worker and cache processes; the cache loader
    comes and goes)."""
    pids = [pid for name in names for pid in stunnel_pids.get(name) or
            [int(p) for p in run("docker", "top", f"{PREFIX}-{name}", "-eo", "pid").stdout.split()[1:]]]
    times = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError):
            fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            times[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime: proc(5)
    return times


def wrk(path, clients, seconds, token, run_id):
    env = dict(os.environ, GRT_BENCH_TOKEN=token, GRT_BENCH_RUN=run_id)
    out = run("wrk", "-t1", f"-c{clients}", f"-d{seconds}s", "--latency", "-s", BENCH_DIR / "link.lua",
              f"http://127.0.0.1:{PORTS[PATHS[path]]}", env=env, timeout=seconds + 60).stdout
    latency = dict(re.findall(r"(?m)^\s+(50|99)%\s+(\S+)$", out))
    calls = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"p50_ms": _ms(latency["50"]), "p99_ms": _ms(latency["99"]), "rps": round(rps, 1), "calls": calls,
            "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else ""}


def sample(path, clients, seconds, token, stunnel_pids):
    """One wrk run, and the CPU time the path's proxies spent on it per call."""
    before = cpu_seconds(PROXIES[path], stunnel_pids)
    result = wrk(path, clients, seconds, token, uuid.uuid4().hex)
    after = cpu_seconds(PROXIES[path], stunnel_pids)
    spent = sum(after[pid] - before.get(pid, 0) for pid in after)
    result["proxy_cpu_us"] = round(spent / max(result["calls"], 1) * 1e6, 1)
    return result


def measure(args, token, pids):
    samples = {path: {c: [] for c in args.levels} for path in PATHS}
    order = list(PATHS)
    for path in order:  # warm-up: pools filled, sessions cached
        wrk(path, max(args.levels), args.warmup, token, uuid.uuid4().hex)
    for round_number in range(args.rounds):
        for clients in args.levels:
            for path in order:
                one = sample(path, clients, args.duration, token, pids)
                log(f"round {round_number + 1} c={clients} {path}: {one}")
                samples[path][clients].append(one)
        order = order[1:] + order[:1]
    return samples


def summary(samples):
    """Per path and level: the median of the rounds, and their range."""
    result = {}
    for path, levels in samples.items():
        result[path] = {}
        for clients, runs in levels.items():
            row = {key: statistics.median(r[key] for r in runs) for key in ("p50_ms", "p99_ms", "rps", "proxy_cpu_us")}
            row.update({f"{key}_range": [min(r[key] for r in runs), max(r[key] for r in runs)]
                        for key in ("p50_ms", "p99_ms", "rps", "proxy_cpu_us")})
            row["non_2xx"] = sum(r["non_2xx"] for r in runs)
            row["socket_errors"] = sorted({r["socket_errors"] for r in runs if r["socket_errors"]})
            result[path][clients] = row
    return result


# --- the report ---------------------------------------------------------------------------------------

def markdown(result, plot_name):
    ctx, rows, top = result["context"], result["summary"], max(result["context"]["levels"])
    lines = [f"# Link benchmark (loopback), {ctx['date']}", "",
             f"Commit {ctx['commit']}{' (dirty)' if ctx['dirty'] else ''}, {ctx['cpus']} CPUs, {ctx['image']}; "
             f"wrk -t1, {ctx['rounds']} interleaved rounds of {ctx['duration_s']} s per path and level (median, "
             f"range in brackets). The pair's local keep-alive pool: {ctx['pair']['local_keepalive']}; variables set "
             f"for this run: {ctx['pair']['set'] or 'none'}.", "",
             "| path | " + " | ".join(f"c={c} p50 ms | c={c} p99 ms | c={c} req/s" for c in ctx["levels"])
             + f" | c={top} proxies' CPU µs/call |",
             "|---|" + "---:|" * (3 * len(ctx["levels"]) + 1)]
    for path in PATHS:
        cells = []
        for c in ctx["levels"]:
            row = rows[path][c]
            cells += [f"{row[k]} [{row[k + '_range'][0]}-{row[k + '_range'][1]}]" for k in ("p50_ms", "p99_ms", "rps")]
        cpu = rows[path][top]
        cells.append(f"{cpu['proxy_cpu_us']} [{cpu['proxy_cpu_us_range'][0]}-{cpu['proxy_cpu_us_range'][1]}]"
                     if PROXIES[path] else "-")
        lines.append(f"| {path} | " + " | ".join(cells) + " |")
    lines += ["", f"Ratios at c={top}: pair/stunnel req/s {result['ratios']['pair_stunnel_rps']}, pair/minimal "
                  f"req/s {result['ratios']['pair_minimal_rps']}, pair/minimal p99 {result['ratios']['pair_minimal_p99']}; "
                  f"at c=1 the pair adds {result['ratios']['pair_added_p50_ms_c1']} ms p50 over the minimal pair. "
                  f"CPU per call of the proxies at c={top}: pair/stunnel {result['ratios']['pair_stunnel_cpu']}, "
                  f"pair/minimal {result['ratios']['pair_minimal_cpu']}.", "",
              "| goal (issue 14) | met |", "|---|---|"]
    lines += [f"| {goal.replace(' c', f' c={top}') if goal.endswith(' c') else goal} | {'yes' if met else '**no**'} |"
              for goal, met in result["goals"].items()]
    failures = {p: {c: (r["non_2xx"], r["socket_errors"]) for c, r in levels.items() if r["non_2xx"] or r["socket_errors"]}
                for p, levels in rows.items()}
    failures = {p: v for p, v in failures.items() if v}
    lines += ["", f"Non-2xx answers or socket errors: {failures or 'none'}."]
    if plot_name:
        lines += ["", f"![throughput and latency per path]({plot_name})"]
    return "\n".join(lines) + "\n"


def plot(result, path):
    plt = pyplot(log)
    if plt is None:
        return False
    rows, levels = result["summary"], result["context"]["levels"]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), dpi=100)
    names = list(PATHS)
    for ax, (key, clients, title) in zip(axes, (("rps", max(levels), f"req/s at c={max(levels)}"),
                                                ("p99_ms", max(levels), f"p99 ms at c={max(levels)}"),
                                                ("p50_ms", min(levels), f"p50 ms at c={min(levels)}"))):
        values = [rows[n][clients][key] for n in names]
        ax.bar(names, values, color=["tab:gray", "tab:orange", "tab:blue", "tab:green"])
        ax.set_title(title)
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle("The link on loopback: the roles' pair against its anchors (same run)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def context(args, pair):
    def git(*cmd):
        return subprocess.run(["git", "-C", str(BENCH_DIR), *cmd], capture_output=True, text=True).stdout.strip()

    version = run("docker", "run", "--rm", IMAGE, "nginx", "-v").stderr.strip()
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain")),
            "cpus": os.cpu_count(), "image": f"{IMAGE} ({version})",
            "stunnel": run("stunnel", "-version", check=False).stderr.splitlines()[0:1],
            "levels": args.levels, "duration_s": args.duration, "rounds": args.rounds, "pair": pair}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(BENCH_DIR / "results"))
    parser.add_argument("--levels", default="1,64", type=lambda s: sorted(int(x) for x in s.split(",")))
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per path before the rounds (not recorded)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--set", default={}, type=json.loads,
                        help='role variables for the pair as JSON, e.g. \'{"remote_proxy_generate_dedup": false}\'')
    parser.add_argument("--keep", action="store_true", help="keep the work directory (configurations, logs)")
    args = parser.parse_args()
    missing = [tool for tool in ("wrk", "stunnel", "openssl", "docker") if not shutil.which(tool)]
    if missing:
        raise SystemExit(f"bench: {', '.join(missing)} missing (apt-get install wrk stunnel4 openssl)")
    if 1 not in args.levels:
        raise SystemExit("bench: --levels must include 1 (a goal is set at one client)")

    work = pathlib.Path(tempfile.mkdtemp(prefix="grt-bench-link-"))
    token = uuid.uuid4().hex + uuid.uuid4().hex
    try:
        tls = work / "tls"
        certificates(tls)
        pair = render_pair(work, token, max(args.levels), args.set)
        pair["set"] = args.set
        write_anchors(work, tls)
        nginx_conf(work)
        with running(work, tls) as pids:
            wait_for_cache_loader(work)
            samples = measure(args, token, pids)
    finally:
        if args.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    rows, top = summary(samples), max(args.levels)
    result = {"context": context(args, pair), "samples": samples, "summary": rows}
    result["ratios"] = {
        "pair_stunnel_rps": round(rows["pair"][top]["rps"] / rows["stunnel"][top]["rps"], 2),
        "pair_minimal_rps": round(rows["pair"][top]["rps"] / rows["minimal"][top]["rps"], 2),
        "pair_minimal_p99": round(rows["pair"][top]["p99_ms"] / rows["minimal"][top]["p99_ms"], 2),
        "pair_added_p50_ms_c1": round(rows["pair"][1]["p50_ms"] - rows["minimal"][1]["p50_ms"], 3),
        "pair_stunnel_cpu": round(rows["pair"][top]["proxy_cpu_us"] / rows["stunnel"][top]["proxy_cpu_us"], 2),
        "pair_minimal_cpu": round(rows["pair"][top]["proxy_cpu_us"] / rows["minimal"][top]["proxy_cpu_us"], 2),
    }
    result["goals"] = {goal: bool(check(rows, top)) for goal, check in GOALS}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"link-{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%dT%H%M%SZ}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    plot_name = "link.png" if plot(result, out / "link.png") else None
    stem.with_suffix(".md").write_text(markdown(result, plot_name))
    print(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
