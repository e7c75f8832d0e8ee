#!/usr/bin/env python3
"""Benchmark of the split layout's proxy pair, on the Molecule `split` scenario's hosts.

  bench/split.py [--out bench/results] [--levels 1,16,64] [--duration 10] ...

Needs the scenario converged (bench/split.sh, behind `make bench`, does
that and cleans up). Numbers go to <out>/bench-<date>.json and .md and a plot
<out>/latency-vs-concurrency.png (matplotlib, from requirements-bench.txt;
skipped with a warning when it is missing). Nothing here asserts a number.

P1  POST /chat/generate with the mock model (a new uuid per request) at each
    concurrency level, each client thread with one keep-alive connection:
    - pair:   a client container on the local host's grt-router network ->
              llm-router:8000 = the local proxy -> mTLS link -> remote proxy -> router
    - direct: a client container on the remote host's grt-router network ->
              llm-router:8000 = the router itself
    p50, p99, requests/s and the pair/direct ratios.
P2  a stream of generates through the pair with the openai-type test model
    (fake vendor, so the vendor's calls can be counted per uuid), with the
    link cut (iptables on the local host, as the tests do) for --p2-cut
    seconds in the middle: failed requests, vendor calls per uuid, latency
    during the cut against the baseline before it.
The load generator is grt_split's link_client.py (lib/grt_split/, stdlib
only, the split tests' client too), run in a throwaway container of the CTFd
image (local) or the router image (remote).
"""

import argparse
import collections
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time
import uuid

from bench_plot import pyplot
from grt_split.client import BackgroundClient, run_client
from grt_split.hosts import container_image, harness_ip, link_cut, on_host, router_container
from grt_split.scenario import LOCAL, REMOTE, fixtures, vault_view
from grt_split.vendor import Vendor

MOCK_MODEL = "mock_model"
OPENAI_MODEL = "grt-test-gpt"
BENCH_DIR = pathlib.Path(__file__).resolve().parent


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def percentile(values, fraction):
    """Nearest-rank percentile (fraction in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(records, duration):
    ok = [r[1] for r in records if r[2] == 200]
    failed = [r for r in records if r[2] != 200]
    return {
        "requests": len(records),
        "failed": len(failed),
        "p50_ms": _ms(percentile(ok, 0.50)),
        "p99_ms": _ms(percentile(ok, 0.99)),
        "max_ms": _ms(max(ok) if ok else None),
        "rps": round(len(ok) / duration, 1) if duration else None,
    }


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 2)


def _ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


class Bench:
    def __init__(self, args):
        self.args = args
        self.token = vault_view("all/secrets.yml")["grt_router_token"]
        pins = fixtures()
        self.pins = pins
        self.vendor = Vendor(pins["grt_test_vendor_url"])
        self.remote_ip = harness_ip(REMOTE)
        self.local_image = container_image(LOCAL, "grt-ctfd")
        self.remote_image = container_image(REMOTE, router_container(REMOTE))

    def load(self, path, concurrency, duration, warmup, model=MOCK_MODEL, prefix="bench", background=False):
        settings = {"mode": "load", "url": "http://llm-router:8000", "concurrency": concurrency,
                    "duration": duration, "warmup": warmup, "model": model, "prompt_prefix": prefix,
                    "timeout": 120}
        if path == "pair":
            settings["token"] = self.token
            where = {"host": LOCAL, "image": self.local_image, "python": "python"}
        else:
            settings["token"] = ""  # the router itself does not check it
            where = {"host": REMOTE, "image": self.remote_image, "python": "python3"}
        if background:
            return BackgroundClient(where["host"], settings, image=where["image"], python=where["python"])
        return run_client(where["host"], settings, image=where["image"], python=where["python"],
                          timeout=duration + warmup + 300)

    def p1(self):
        rows = []
        for concurrency in self.args.levels:
            row = {"concurrency": concurrency}
            for path in ("direct", "pair"):
                log(f"P1 {path} x{concurrency} for {self.args.duration} s")
                answer = self.load(path, concurrency, self.args.duration, self.args.warmup)
                row[path] = summarize(answer["records"], self.args.duration)
                row[path]["errors"] = answer["errors"]
            row["ratio_p50"] = _ratio(row["pair"]["p50_ms"], row["direct"]["p50_ms"])
            row["ratio_p99"] = _ratio(row["pair"]["p99_ms"], row["direct"]["p99_ms"])
            row["ratio_rps"] = _ratio(row["pair"]["rps"], row["direct"]["rps"])
            rows.append(row)
        return rows

    def p2(self):
        args = self.args
        prefix = f"bench-p2-{uuid.uuid4().hex[:12]}"
        total = args.p2_before + args.p2_cut + args.p2_after
        self.vendor.configure(delay=args.p2_vendor_delay)
        try:
            log(f"P2 x{args.p2_concurrency} for {total} s, link cut for {args.p2_cut} s after {args.p2_before} s")
            stream = self.load("pair", args.p2_concurrency, total, 0, OPENAI_MODEL, prefix, background=True)
            time.sleep(args.p2_before + args.p2_startup)
            with link_cut(self.remote_ip) as cut:
                time.sleep(args.p2_cut)
            answer = stream.finish(timeout=total + 300)
        finally:
            self.vendor.configure(delay=0)
        records = answer["records"]
        start, end = cut["start"], cut["end"]
        baseline = [r for r in records if r[0] + r[1] < start]
        during = [r for r in records if r[0] <= end and r[0] + r[1] >= start]
        after = [r for r in records if r[0] > end]
        calls = collections.Counter()
        for call in self.vendor.calls_with(prefix):
            try:
                calls[call["body"]["messages"][-1]["content"].split()[-1]] += 1
            except (KeyError, IndexError, TypeError, AttributeError):
                calls["(unparsed)"] += 1
        per_uuid = collections.Counter(calls.get(r[3], 0) for r in records)
        ok = lambda rs: [r[1] for r in rs if r[2] == 200]  # noqa: E731
        base_p50, base_p99 = percentile(ok(baseline), 0.5), percentile(ok(baseline), 0.99)
        base_max = max(ok(baseline), default=None)
        during_p99, during_max = percentile(ok(during), 0.99), max(ok(during), default=None)
        errors = collections.Counter(f"{r[2]}" for r in records if r[2] != 200)
        return {
            "concurrency": args.p2_concurrency, "cut_s": round(end - start, 2), "vendor_delay_s": args.p2_vendor_delay,
            "requests": len(records), "failed": sum(1 for r in records if r[2] != 200),
            "failed_during_cut": sum(1 for r in during if r[2] != 200), "failed_statuses": dict(errors),
            "requests_during_cut": len(during), "requests_after_cut": len(after),
            "vendor_calls_per_uuid": {str(k): v for k, v in sorted(per_uuid.items())},
            "vendor_calls_unmatched": sum(n for u, n in calls.items() if u not in {r[3] for r in records}),
            "baseline_p50_ms": _ms(base_p50), "baseline_p99_ms": _ms(base_p99), "baseline_max_ms": _ms(base_max),
            "cut_p99_ms": _ms(during_p99), "cut_max_ms": _ms(during_max),
            "added_p99_ms": _ms(during_p99 - base_p99) if during_p99 is not None and base_p99 is not None else None,
            "added_max_ms": _ms(during_max - base_max) if during_max is not None and base_max is not None else None,
        }

    def context(self):
        def git(*cmd):
            return subprocess.run(["git", "-C", str(BENCH_DIR), *cmd], capture_output=True, text=True).stdout.strip()

        return {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": git("rev-parse", "--short", "HEAD"), "dirty": bool(git("status", "--porcelain")),
            "cpus": os.cpu_count(), "levels": self.args.levels, "duration_s": self.args.duration,
            "warmup_s": self.args.warmup,
            "local_proxy": {k: self.pins.get(k) for k in ("local_proxy_retry_budget", "local_proxy_retry_tries",
                                                          "local_proxy_connect_timeout")},
            "clients": {"pair": f"{self.local_image} on {LOCAL}", "direct": f"{self.remote_image} on {REMOTE}"},
            "note": "All test hosts are containers on one machine: the numbers compare the two paths, "
                    "they are not a capacity figure",
        }


def markdown(result, plot_name):
    ctx = result["context"]
    lines = [f"# Split proxy pair benchmark, {ctx['date']}", "",
             f"Commit {ctx['commit']}{' (dirty)' if ctx['dirty'] else ''}, {ctx['cpus']} CPUs; "
             f"{ctx['duration_s']} s per measurement after {ctx['warmup_s']} s warm-up. {ctx['note']}.", "",
             "## P1: POST /chat/generate (mock model), through the pair vs straight to the router", "",
             "| clients | direct p50 ms | direct p99 ms | direct req/s | pair p50 ms | pair p99 ms | pair req/s "
             "| p50 ratio | p99 ratio | req/s ratio | failed (direct/pair) |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["p1"]:
        d, p = row["direct"], row["pair"]
        lines.append(f"| {row['concurrency']} | {d['p50_ms']} | {d['p99_ms']} | {d['rps']} | {p['p50_ms']} "
                     f"| {p['p99_ms']} | {p['rps']} | {row['ratio_p50']} | {row['ratio_p99']} | {row['ratio_rps']} "
                     f"| {d['failed']}/{p['failed']} |")
    p2 = result.get("p2")
    if p2:
        lines += ["", f"## P2: a {p2['cut_s']} s cut of the link during a stream of generates "
                      f"({p2['concurrency']} clients, openai-type model via the fake vendor, "
                      f"vendor delay {p2['vendor_delay_s']} s)", "",
                  "| measure | value |", "|---|---:|"]
        for key in ("requests", "failed", "failed_during_cut", "requests_during_cut", "requests_after_cut",
                    "baseline_p50_ms", "baseline_p99_ms", "baseline_max_ms", "cut_p99_ms", "cut_max_ms",
                    "added_p99_ms", "added_max_ms", "vendor_calls_unmatched"):
            lines.append(f"| {key.replace('_', ' ')} | {p2[key]} |")
        histogram = ", ".join(f"{n} uuid(s) with {calls} call(s)" for calls, n in p2["vendor_calls_per_uuid"].items())
        lines.append(f"| vendor calls per uuid | {histogram} |")
        if p2["failed_statuses"]:
            lines.append(f"| failed statuses | {p2['failed_statuses']} |")
    if plot_name:
        lines += ["", f"![latency against concurrency]({plot_name})"]
    return "\n".join(lines) + "\n"


def plot(result, path):
    plt = pyplot(log)
    if plt is None:
        return False
    levels = [row["concurrency"] for row in result["p1"]]
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    for name, colour in (("direct", "tab:blue"), ("pair", "tab:orange")):
        for stat, style in (("p50_ms", "-o"), ("p99_ms", "--s")):
            values = [row[name][stat] for row in result["p1"]]
            ax.plot(levels, values, style, color=colour, label=f"{name} {stat.split('_')[0]}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(levels)
    ax.set_xticklabels([str(n) for n in levels])
    ax.set_xlabel("concurrent clients (keep-alive)")
    ax.set_ylabel("latency of POST /chat/generate (ms)")
    ax.set_title("Through the proxy pair vs straight to the router")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(BENCH_DIR / "results"))
    parser.add_argument("--levels", default="1,16,64", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per level and path")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (not recorded)")
    parser.add_argument("--p2-concurrency", type=int, default=4)
    parser.add_argument("--p2-before", type=float, default=5.0, help="seconds of baseline before the cut")
    parser.add_argument("--p2-cut", type=float, default=5.0)
    parser.add_argument("--p2-after", type=float, default=8.0)
    parser.add_argument("--p2-vendor-delay", type=float, default=0.2,
                        help="the fake vendor's delay, so that requests are in flight when the cut starts")
    parser.add_argument("--p2-startup", type=float, default=2.0, help="allowance for the client container's start")
    parser.add_argument("--skip-p2", action="store_true")
    parser.add_argument("--from-json", help="only redo the Markdown and the plot from an earlier result file")
    args = parser.parse_args()

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        result = json.loads(pathlib.Path(args.from_json).read_text())
        stem = pathlib.Path(args.from_json).with_suffix("")
    else:
        missing = [h for h in (LOCAL, REMOTE) if on_host(h, "true", check=False).returncode != 0]
        if missing:
            sys.exit(f"bench: {missing} not running: converge the scenario first (molecule converge -s split)")
        bench = Bench(args)
        result = {"context": bench.context(), "p1": bench.p1()}
        if not args.skip_p2:
            result["p2"] = bench.p2()
        stem = out / f"bench-{datetime.datetime.now().strftime('%Y-%m-%d-%H%M%S')}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    plot_path = out / "latency-vs-concurrency.png"
    plotted = plot(result, plot_path)
    stem.with_suffix(".md").write_text(markdown(result, plot_path.name if plotted else None))
    log(f"results: {stem.with_suffix('.json')} {stem.with_suffix('.md')}" + (f" {plot_path}" if plotted else ""))
    sys.stdout.write(stem.with_suffix(".md").read_text())


if __name__ == "__main__":
    main()
