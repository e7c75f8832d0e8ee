#!/usr/bin/python3
"""llm_router contract stand-in (grt-deploy test fixture; not upstream code).

See the Dockerfile next to this file for the contract. Errors map as
upstream's ModelError: ModelNotFound 404, PromptTooLong / SystemTooLong /
HistoryPromptTooLong 422, RateLimitExceeded 429, UpstreamModelError and
Other 500; the cached form is "ERR:" + the error as JSON (e.g.
ERR:"ModelNotFound", ERR:{"Other":"Missing Auth"}), a success "OK:<text>".
The mock models answer by prompt: upstream_error, rate_limit,
prompt_too_long, system_too_long, error, long_response, anything else.
"""
import json
import math
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

ERRORS = {
    "ModelNotFound": (404, "Model not found"),
    "UpstreamModelError": (500, "Upstream model error"),
    "HistoryPromptTooLong": (422, "Historical prompt too long"),
    "RateLimitExceeded": (429, "Rate limit exceeded"),
    "PromptTooLong": (422, "Prompt too long"),
    "SystemTooLong": (422, "System prompt too long"),
    "Other": (500, "Other error"),
}


def log(msg):
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} llm_router: {msg}", flush=True)


class ModelError(Exception):
    def __init__(self, kind, arg=None):
        super().__init__(kind)
        self.kind, self.arg = kind, arg

    def to_redis(self):
        value = self.kind if self.arg is None else {self.kind: self.arg}
        return "ERR:" + json.dumps(value)

    @classmethod
    def from_redis(cls, text):
        value = json.loads(text[4:])
        if isinstance(value, str):
            return cls(value)
        (kind, arg), = value.items()
        return cls(kind, arg)


def count_tokens(text):
    return math.ceil(len(text.split()) * 1.35)


class Model:
    context_size = 250
    system_limit = 0
    prompt_limit = 0

    def __init__(self, spec):
        self.spec = spec
        self.name = spec["name"]

    def trim(self, request):
        """Upstream's ChatRequest::trim: limits, then history aged out."""
        system_tokens = count_tokens(request["system"]) if request.get("system") else 0
        prompt_tokens = count_tokens(request["prompt"])
        total = system_tokens + prompt_tokens
        if 0 < self.system_limit < system_tokens:
            raise ModelError("SystemTooLong")
        if 0 < self.prompt_limit < prompt_tokens:
            raise ModelError("PromptTooLong")
        history, kept = list(request["history"]), []
        old_len = len(history)
        while history:
            item = history.pop()
            hist_prompt = count_tokens(item["prompt"])
            if 0 < self.prompt_limit < hist_prompt:
                raise ModelError("HistoryPromptTooLong", old_len - len(kept))
            total += count_tokens(item["generation"]) + hist_prompt
            if self.context_size < total:
                break
            kept.append(item)
        request["history"] = list(reversed(kept))


class MockModel(Model):
    def chat(self, prompt, system, history):
        canned = {
            "upstream_error": ModelError("UpstreamModelError"),
            "rate_limit": ModelError("RateLimitExceeded", 1000),
            "prompt_too_long": ModelError("PromptTooLong"),
            "system_too_long": ModelError("SystemTooLong"),
            "error": ModelError("Other", "Other error"),
        }
        if prompt in canned:
            raise canned[prompt]
        text = self.spec["long"] if prompt == "long_response" else self.spec["short"]
        return f"response: {len(history)}, {text}"


class ReflectionModel(Model):
    def chat(self, prompt, system, history):
        return f"prompt: {prompt}"


def _post_json(url, body, token, timeout=120):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode())
    except urllib.error.HTTPError as err:
        log(f"vendor answered {err.code}: {err.read()[:200]!r}")
        if err.code == 429:
            raise ModelError("RateLimitExceeded", 1000) from None
        raise ModelError("UpstreamModelError") from None
    except (OSError, ValueError) as err:
        log(f"vendor request failed: {err}")
        raise ModelError("UpstreamModelError") from None


class OpenAIModel(Model):
    PARAMS = ("temperature", "top_p", "stop", "max_tokens", "presence_penalty", "frequency_penalty",
              "logit_bias", "user")

    def chat(self, prompt, system, history):
        messages = []
        if system is not None:
            messages.append({"role": "system", "content": system})
        for item in history:
            messages.append({"role": "user", "content": item["prompt"]})
            messages.append({"role": "assistant", "content": item["generation"]})
        messages.append({"role": "user", "content": prompt})
        body = {"model": self.spec["model"], "messages": messages}
        for key in self.PARAMS:
            if self.spec.get("parameters", {}).get(key) is not None:
                body[key] = self.spec["parameters"][key]
        token = os.environ.get("OPENAI_API_TOKEN")
        if token is None:
            raise ModelError("Other", "Missing Auth")
        base = os.environ.get("GRT_STANDIN_OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
        answer = _post_json(f"{base}/chat/completions", body, token)
        try:
            content = answer["choices"][-1]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ModelError("UpstreamModelError") from None
        if content is None:
            raise ModelError("UpstreamModelError")
        return content


class HuggingFaceModel(Model):
    def __init__(self, spec):
        super().__init__(spec)
        self.context_size = spec["context_size"]

    def _fmt(self, token, close, text):
        fmt = self.spec["prompt_format"]
        return f"{fmt[token]}{text}{fmt.get(close) or fmt['stop_token']}"

    def chat(self, prompt, system, history):
        fmt = self.spec["prompt_format"]
        full = self._fmt("system_token", "close_system_token", system) if system is not None else ""
        for item in history:
            full += self._fmt("prompt_token", "close_prompt_token", item["prompt"])
            full += self._fmt("assistant_token", "close_assistant_token", item["generation"])
        full += self._fmt("prompt_token", "close_prompt_token", prompt) + fmt["assistant_token"]
        token = os.environ.get("HUGGINGFACE_API_TOKEN")
        if token is None:
            raise ModelError("Other", "Missing Auth")
        answer = _post_json(self.spec["url"], {"inputs": full, "parameters": self.spec.get("parameters", {}),
                                               "stream": False}, token)
        try:
            return answer[-1]["generated_text"]
        except (KeyError, IndexError, TypeError):
            raise ModelError("UpstreamModelError") from None


def load_models(model_dir):
    chat_dir = os.path.join(model_dir, "chat")
    names = os.listdir(chat_dir)  # missing directory: the start fails, as upstream
    models = {}

    def read(name):
        with open(os.path.join(chat_dir, name), encoding="utf-8") as fh:
            return json.load(fh)

    if "mock.json" in names:
        for name, spec in read("mock.json").items():
            models[name] = MockModel({**spec, "name": spec.get("name", name)})
    if "reflection.json" in names:
        for name, spec in read("reflection.json").items():
            models[name] = ReflectionModel({**spec, "name": spec.get("name", name)})
    if "huggingface.json" in names:
        for spec in read("huggingface.json"):
            models[spec["name"]] = HuggingFaceModel(spec)
    if "openai.json" in names:
        for spec in read("openai.json"):
            models[spec["name"]] = OpenAIModel(spec)
    return models


class Router:
    def __init__(self):
        self.models = load_models(os.environ.get("MODEL_DIR", "/opt/models/"))
        url = os.environ.get("REDIS_URL")
        self.redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10) if url else None
        if url:
            log(f"Connecting to redis at {url}; using idempotency")
        log(f"models: {sorted(self.models)}")

    def chat(self, request):
        uuid = request["uuid"]
        if self.redis is not None:
            try:
                cached = self.redis.get(uuid)
            except redis.RedisError as err:
                log(f"Idempotency error: {err}")
                cached = None
            if cached is not None:
                cached = cached.decode()
                log(f"Found cached generation for {uuid}")
                if cached.startswith("ERR:"):
                    return ModelError.from_redis(cached)
                return {"generation": cached.split(":", 1)[1], "uuid": uuid}
        model = self.models.get(request["model"])
        try:
            if model is None:
                log(f"Model not found: {request['model']}")
                raise ModelError("ModelNotFound")
            model.trim(request)
            result = {"generation": model.chat(request["prompt"], request.get("system"), request["history"]),
                      "uuid": uuid}
        except ModelError as err:
            result = err
        if self.redis is not None:
            value = result.to_redis() if isinstance(result, ModelError) else "OK:" + result["generation"]
            try:
                self.redis.set(uuid, value, ex=3600)
            except redis.RedisError as err:
                log(f"Failed to cache generation: {err}")
        return result


def validate(body):
    if not isinstance(body, dict):
        return "expected a JSON object"
    for key in ("uuid", "model", "prompt"):
        if not isinstance(body.get(key), str):
            return f"missing field `{key}`"
    if body.get("system") is not None and not isinstance(body["system"], str):
        return "invalid type for `system`"
    history = body.setdefault("history", [])
    if not isinstance(history, list) or not all(
            isinstance(h, dict) and isinstance(h.get("prompt"), str) and isinstance(h.get("generation"), str)
            for h in history):
        return "invalid `history`"
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer each response and send it in one write (flushed after each request):
    # headers and body as two small writes on a keep-alive connection meet
    # Nagle + delayed ACK, about 40 ms per response, which would swamp latencies.
    wbufsize = -1
    server_version = "llm_router-standin"
    router = None

    def log_message(self, fmt, *args):
        log(f"{self.address_string()} {fmt % args}")

    def _send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/health":
            self._send(200, b"Ok", "text/plain; charset=utf-8")
        elif self.path == "/chat/models":
            self._send(200, {"models": sorted(self.router.models)})
        else:
            self._send(404, b"", "text/plain")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if self.path != "/chat/generate":
            self._send(404 if self.path != "/chat/models" else 405, b"", "text/plain")
            return
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._send(415, b"Expected request with `Content-Type: application/json`", "text/plain")
            return
        try:
            body = json.loads(raw)
        except ValueError as err:
            self._send(400, f"Failed to parse the request body as JSON: {err}".encode(), "text/plain")
            return
        problem = validate(body)
        if problem:
            self._send(422, f"Failed to deserialize the JSON body into the target type: {problem}".encode(),
                       "text/plain")
            return
        result = self.router.chat(body)
        if isinstance(result, ModelError):
            status, reason = ERRORS[result.kind]
            self._send(status, {"error": reason})
        else:
            self._send(200, result)


class Server(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: under a burst of new connections the
    # kernel drops SYNs and clients wait 1 s to retry. A real server (the
    # router's tokio listener) uses 1024; so does this stand-in.
    request_queue_size = 1024


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        Handler.router = Router()
    except OSError as err:
        print(f"Error: Failed to read directory while opening models: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
    server = Server(("0.0.0.0", 8000), Handler)
    server.daemon_threads = True
    log("listening on 0.0.0.0:8000")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    threading.current_thread().name = "main"
    main()
