"""link_client.py run inside a container of a test host, to completion or in the background.

The program comes as an argument (`python -c`), its settings as one JSON line
on standard input: a secret in them touches no disk or command line.
"""

import json
import os
import pathlib
import select
import subprocess
import time

CLIENT_SOURCE = (pathlib.Path(__file__).parent / "link_client.py").read_text()


def client_argv(host, container=None, image=None, network="grt-router", python="python3"):
    """argv that runs link_client.py in `container` (docker exec) or a throwaway `image` on `network`."""
    if container:
        inner = ["docker", "exec", "-i", container, python, "-c", CLIENT_SOURCE]
    else:
        inner = ["docker", "run", "--rm", "-i", "--network", network, "--entrypoint", python,
                 image, "-c", CLIENT_SOURCE]
    return ["docker", "exec", "-i", host, *inner]


def run_client(host, settings, container=None, image=None, network="grt-router", python="python3", timeout=300):
    """Run the client to completion and return its JSON answer."""
    argv = client_argv(host, container, image, network, python)
    result = subprocess.run(argv, input=json.dumps(settings) + "\n", capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"client exited {result.returncode}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


class BackgroundClient:
    """The client started now, answer collected later (loop mode stops when .finish() closes stdin).

    With settings {"announce": true} (request mode) the client prints "started" just before it
    sends the request; wait_started() waits for that line.
    """

    def __init__(self, host, settings, container=None, image=None, network="grt-router", python="python3"):
        # Unbuffered bytes: wait_started() must not read ahead of the line it waits for.
        self.proc = subprocess.Popen(client_argv(host, container, image, network, python), bufsize=0,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.proc.stdin.write((json.dumps(settings) + "\n").encode())
        self.keep_stdin = settings.get("mode") == "loop"
        if not self.keep_stdin:
            self.proc.stdin.close()

    def wait_started(self, timeout=60):
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            assert time.monotonic() < deadline, f"the client did not start within {timeout} s"
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if ready:
                byte = os.read(self.proc.stdout.fileno(), 1)
                assert byte, f"the client ended before it started: {self.proc.stderr.read()[-2000:]!r}"
                line += byte
        assert line.strip() == b"started", line
        return time.time()

    def finish(self, timeout=300):
        if self.keep_stdin and not self.proc.stdin.closed:
            self.proc.stdin.close()
        # Closed already: communicate() would try to flush it.
        self.proc.stdin = None
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"client still running after {timeout} s: {err[-2000:]!r}") from None
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        assert self.proc.returncode == 0, f"client exited {self.proc.returncode}: {out[-2000:]}{err[-2000:]}"
        return json.loads(out.strip().splitlines()[-1])
