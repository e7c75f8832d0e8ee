"""The fake vendor (test-fixtures/images/fake-vendor): its settings and the calls it recorded."""

import json
import urllib.request


class Vendor:
    def __init__(self, url):
        self.url = url.rstrip("/")

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    def configure(self, delay=None, status=None):
        update = {}
        if delay is not None:
            update["delay"] = delay
        if status is not None:
            update["status"] = status
        return self._call("PUT", "/_config", update)

    def calls(self):
        return self._call("GET", "/_calls")

    def calls_with(self, marker):
        return [c for c in self.calls() if marker in json.dumps(c.get("body"))]
