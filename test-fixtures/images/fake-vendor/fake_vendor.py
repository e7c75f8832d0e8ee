#!/usr/bin/python3
"""Fake OpenAI-compatible vendor (grt-deploy test fixture). See Dockerfile."""
import json
import os
import signal
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
CALLS = []
CONFIG = {
    "delay": float(os.environ.get("FAKE_VENDOR_DELAY") or 0),
    "status": int(os.environ.get("FAKE_VENDOR_STATUS") or 200),
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer each response and send it in one write (flushed after each request):
    # headers and body as two small writes on a keep-alive connection meet
    # Nagle + delayed ACK, about 40 ms per response, which would swamp latencies.
    wbufsize = -1
    server_version = "fake-vendor"

    def log_message(self, fmt, *args):
        print(f"fake-vendor: {self.address_string()} {fmt % args}", flush=True)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_calls":
            with LOCK:
                self._send(200, list(CALLS))
        elif self.path == "/_config":
            with LOCK:
                self._send(200, dict(CONFIG))
        elif self.path == "/health":
            self._send(200, {"ok": True})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_DELETE(self):
        self._body()
        if self.path == "/_calls":
            with LOCK:
                CALLS.clear()
            self._send(200, [])
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_PUT(self):
        raw = self._body()
        if self.path != "/_config":
            self._send(404, {"error": {"message": "not found"}})
            return
        update = json.loads(raw or b"{}")
        with LOCK:
            if "delay" in update:
                CONFIG["delay"] = float(update["delay"] or 0)
            if "status" in update:
                CONFIG["status"] = int(update["status"] or 200)
            self._send(200, dict(CONFIG))

    def do_POST(self):
        raw = self._body()
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with LOCK:
            delay = CONFIG["delay"]
            status = CONFIG["status"]
            CALLS.append({
                "time": time.time(),
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "body": body if body is not None else raw.decode("utf-8", "replace"),
            })
        delay = float(self.headers.get("X-Fake-Delay") or delay)
        status = int(self.headers.get("X-Fake-Status") or status)
        if delay:
            time.sleep(delay)
        if status != 200:
            self._send(status, {"error": {"message": f"fake vendor error {status}", "type": "fake_error"}})
            return
        if not isinstance(body, dict) or not body.get("messages"):
            self._send(400, {"error": {"message": "messages is required", "type": "invalid_request_error"}})
            return
        last = body["messages"][-1].get("content", "")
        content = f"fake-vendor reply to: {last}"
        self._send(200, {
            "id": "chatcmpl-" + uuid.uuid4().hex[:24],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "unknown"),
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": len(str(body["messages"]).split()),
                      "completion_tokens": len(content.split()),
                      "total_tokens": len(str(body["messages"]).split()) + len(content.split())},
        })


class Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: under a burst of new connections the
    # kernel drops SYNs and clients wait 1 s to retry. A real server (the
    # router's tokio listener) uses 1024; so does this stand-in.
    request_queue_size = 1024


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = Server(("0.0.0.0", 8080), Handler)
    server.daemon_threads = True
    print("fake-vendor: listening on 0.0.0.0:8080", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
