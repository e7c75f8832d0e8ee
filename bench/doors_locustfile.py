"""Locust participants for bench/doors.py: each registers, then browses and chats every 3-8 s.

Each participant sends from its own source address (BENCH_ADDRESSES, one per line, shared round-robin when
there are fewer addresses than participants), so CTFd's per-address limits see a crowd, not one client.
Every request is appended to BENCH_SAMPLES as one JSON line: start time, name, status, milliseconds.
"""

import itertools
import json
import os
import random
import re
import threading
import time
import uuid

import urllib3
from locust import HttpUser, between, events, task
from requests.adapters import HTTPAdapter

urllib3.disable_warnings()
ADDRESSES = [a for a in open(os.environ["BENCH_ADDRESSES"], encoding="utf-8").read().split() if a]
NEXT_ADDRESS = itertools.cycle(ADDRESSES)
SAMPLES = open(os.environ["BENCH_SAMPLES"], "a", encoding="utf-8")  # noqa: SIM115 - open for the whole run
LOCK = threading.Lock()
NONCE = re.compile(r"""csrfNonce['"]?\s*:\s*["']([0-9a-f]{64})["']|name=["']nonce["'][^>]*value=["']([0-9a-f]{64})""")


class SourceAddress(HTTPAdapter):
    def __init__(self, address, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@events.request.add_listener
def record(request_type, name, response_time, response_length, response=None, exception=None, **_):
    status = getattr(response, "status_code", 0) if response is not None else 0
    line = json.dumps({"t": time.time() - response_time / 1000, "name": name, "status": status,
                       "ms": round(response_time, 1), "error": bool(exception) and status == 0})
    with LOCK:
        SAMPLES.write(line + "\n")
        SAMPLES.flush()


class Participant(HttpUser):
    wait_time = between(3, 8)

    def on_start(self):
        adapter = SourceAddress(next(NEXT_ADDRESS))
        self.client.mount("https://", adapter)
        self.client.mount("http://", adapter)
        self.client.verify = False
        self.challenges = []
        self.registered = False
        name = "bench-" + uuid.uuid4().hex[:10]
        page = self.client.get("/register", name="page /register")
        match = NONCE.search(page.text or "")
        if not match:
            return
        with self.client.post("/register", name="register", allow_redirects=False, catch_response=True, data={
                "name": name, "email": f"{name}@example.org", "password": uuid.uuid4().hex,
                "nonce": match.group(1) or match.group(2)}) as response:
            if response.status_code in (302, 303):
                response.success()
                self.registered = True
            else:
                response.failure(f"register answered {response.status_code}")

    def _listed(self):
        response = self.client.get("/api/v1/challenges", name="api /api/v1/challenges")
        try:
            self.challenges = response.json()["data"]
        except (ValueError, KeyError, TypeError):
            self.challenges = []

    @task(3)
    def browse(self):
        if not self.registered:
            return
        self.client.get("/challenges", name="page /challenges")
        self._listed()
        if self.challenges:
            self.client.get(f"/api/v1/challenges/{random.choice(self.challenges)['id']}",
                            name="api /api/v1/challenges/<id>")

    @task(1)
    def home(self):
        if self.registered:
            self.client.get("/", name="page /")

    @task(2)
    def chat(self):
        if not self.registered:
            return
        if not self.challenges:
            self._listed()
        chats = [c for c in self.challenges if c.get("type") == "llm_verification"]
        if chats:
            self.client.post("/generate", name="chat", json={
                "challenge_id": random.choice(chats)["id"], "prompt": "bench " + uuid.uuid4().hex[:6]})
