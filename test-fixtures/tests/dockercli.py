"""Docker CLI helpers shared by the fixture tests (offline images, stand-ins)."""

from __future__ import annotations

import subprocess
import time

import pytest


def docker(*args: str, check: bool = True, timeout: float = 120,
           input: str | None = None) -> subprocess.CompletedProcess:
    """Run the docker CLI; on check failure, show the command and its output."""
    cmd = ["docker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
    if check and proc.returncode != 0:
        pytest.fail(
            f"command failed (rc={proc.returncode}): {' '.join(cmd)}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        )
    return proc


def is_running(container: str) -> bool:
    proc = docker("inspect", "-f", "{{.State.Running}}", container, check=False)
    return proc.stdout.strip() == "true"


def logs(container: str) -> str:
    proc = docker("logs", container, check=False)
    return proc.stdout + proc.stderr


def wait_until(predicate, what: str, container: str | None = None,
               timeout: float = 60, interval: float = 0.3):
    """Poll predicate() until it returns a truthy value, at most `timeout` s.

    With `container`, give up early (and show its logs) once it stops running.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if container is not None and not is_running(container):
            pytest.fail(f"{what}: container {container} stopped\n{logs(container)[-4000:]}")
        if time.monotonic() > deadline:
            extra = f"\n{logs(container)[-4000:]}" if container else ""
            pytest.fail(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(interval)
