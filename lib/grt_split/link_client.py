"""Router client run INSIDE a container of a test host (stdlib only, Python 3.9+).

The split scenario's tests and bench/split.py run it (grt_split.client) with
`docker exec -i <host> docker exec -i <container> python -c "<this file>"` (or
`docker run --rm -i ...`): the program comes as an argument, its settings as
ONE JSON line on standard input, so that a secret in the settings (the router
token) touches neither a disk nor a command line on the test host.

Settings (keys not listed are ignored):
  mode      "request" | "loop" | "load"
  url       base URL of the router, default http://llm-router:8000
  token     the router bearer; absent: $LLMV_ROUTER_TOKEN (what CTFd sends)
  timeout   seconds for one request (default 60)

  request   one request: method, path, body (JSON value or absent); with
            announce, the line "started" first, just before it is sent
            -> {"status", "body", "seconds", "start", "end", "error"}
  loop      until standard input closes: GET /chat/models, then POST
            /chat/generate (model, default mock_model, a new uuid each time),
            one new connection per request (as requests.post does), pause
            `interval` seconds between requests
            -> {"count", "failed", "failures": [first 20], "first", "last"}
  load      `concurrency` threads, each with ONE keep-alive connection, POST
            /chat/generate for `duration` seconds after `warmup` seconds
            (not recorded); a new uuid per request, prompt
            "<prompt_prefix> <uuid>" (so a vendor's calls can be mapped back)
            -> {"records": [[start, seconds, status, uuid], ...], "errors": {...}}
            (start: wall clock time.time(), the same clock on every container
            of the machine; status 0: no HTTP answer)
"""

import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
import uuid as uuidlib


def _settings():
    line = sys.stdin.readline()
    return json.loads(line) if line.strip() else {}


class Client:
    def __init__(self, settings):
        parsed = urllib.parse.urlsplit(settings.get("url") or "http://llm-router:8000")
        self.host = parsed.hostname
        self.port = parsed.port or 80
        self.timeout = float(settings.get("timeout") or 60)
        token = settings.get("token")
        if token is None:
            token = os.environ.get("LLMV_ROUTER_TOKEN", "")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.conn = None

    def connect(self):
        self.close()
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def call(self, method, path, body=None, keep_alive=True):
        """One request -> (status, body text); status 0 and the error text when no answer came."""
        if self.conn is None or not keep_alive:
            self.connect()
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if not keep_alive:
            headers["Connection"] = "close"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            if response.will_close or not keep_alive:
                self.close()
            return response.status, text
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return 0, f"{type(error).__name__}: {error}"


def generate_body(model, prompt, request_uuid=None):
    request_uuid = request_uuid or str(uuidlib.uuid4())
    return {"uuid": request_uuid, "model": model, "prompt": prompt, "history": []}


def do_request(settings):
    client = Client(settings)
    if settings.get("announce"):
        sys.stdout.write("started\n")
        sys.stdout.flush()
    start = time.time()
    begun = time.monotonic()
    status, text = client.call(settings.get("method", "GET"), settings.get("path", "/health"),
                               settings.get("body"), keep_alive=False)
    seconds = time.monotonic() - begun
    return {"status": status, "body": text[:2000] if status else "", "error": "" if status else text,
            "seconds": seconds, "start": start, "end": time.time()}


def do_loop(settings):
    client = Client(settings)
    stop = threading.Event()

    def wait_for_eof():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    model = settings.get("model", "mock_model")
    interval = float(settings.get("interval", 0.1))
    count, failures, first, last = 0, [], None, None
    while not stop.is_set():
        for method, path, body in (("GET", "/chat/models", None),
                                   ("POST", "/chat/generate", generate_body(model, "rotation loop"))):
            started = time.time()
            status, text = client.call(method, path, body, keep_alive=False)
            count += 1
            first = first or started
            last = time.time()
            if status != 200:
                failures.append({"time": started, "path": path, "status": status, "body": text[:300]})
        stop.wait(interval)
    return {"count": count, "failed": len(failures), "failures": failures[:20], "first": first, "last": last}


def do_load(settings):
    concurrency = int(settings.get("concurrency", 1))
    duration = float(settings.get("duration", 10))
    warmup = float(settings.get("warmup", 0))
    model = settings.get("model", "mock_model")
    prefix = settings.get("prompt_prefix", "bench")
    begin = time.monotonic()
    record_from = begin + warmup
    end = record_from + duration
    lock = threading.Lock()
    records, errors = [], {}

    def worker():
        client = Client(settings)
        mine = []
        while True:
            now = time.monotonic()
            if now >= end:
                break
            request_uuid = str(uuidlib.uuid4())
            started_wall = time.time()
            status, text = client.call("POST", "/chat/generate",
                                       generate_body(model, f"{prefix} {request_uuid}", request_uuid))
            seconds = time.monotonic() - now
            if now >= record_from:
                mine.append([started_wall, seconds, status, request_uuid])
                if status != 200:
                    key = f"{status}: {text[:120]}"
                    with lock:
                        errors[key] = errors.get(key, 0) + 1
        client.close()
        with lock:
            records.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records.sort()
    return {"concurrency": concurrency, "duration": duration, "records": records, "errors": errors}


def main():
    settings = _settings()
    mode = settings.get("mode", "request")
    result = {"request": do_request, "loop": do_loop, "load": do_load}[mode](settings)
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
