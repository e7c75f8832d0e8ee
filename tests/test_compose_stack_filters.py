"""compose_stack's filters: image references (venue mode pins every pulled image by digest), and the judgement of
a stack's containers (`up` is skipped only when compose would change nothing: one container per service, from this
compose file, on its image, running, healthy; no orphan)."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "compose_stack_filters", ROOT / "roles" / "compose_stack" / "filter_plugins" / "compose_stack.py")
filters = importlib.util.module_from_spec(spec)
spec.loader.exec_module(filters)

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize("ref, repo", [
    ("nginx:1.26", "nginx"),
    ("nginx", "nginx"),
    ("ctfd/ctfd:3.8.7", "ctfd/ctfd"),
    ("registry.example:5000/grt/ctfd:1", "registry.example:5000/grt/ctfd"),
    ("registry.example:5000/grt/ctfd", "registry.example:5000/grt/ctfd"),
    (f"mariadb@{DIGEST}", "mariadb"),
    (f"ghcr.io/a/b:1@{DIGEST}", "ghcr.io/a/b"),
])
def test_the_repository_of_a_reference(ref, repo):
    assert filters.compose_stack_image_repo(ref) == repo


def test_the_digest_of_the_pulled_repository_is_chosen():
    digests = [f"other@{DIGEST}", "nginx@sha256:" + "b" * 64]
    assert filters.compose_stack_digest_ref("nginx:1.26", digests) == "nginx@sha256:" + "b" * 64
    # Docker names Docker Hub's official images without docker.io/library/ in RepoDigests.
    assert filters.compose_stack_digest_ref("docker.io/library/nginx:1.26", digests) == "nginx@sha256:" + "b" * 64


def test_no_digest_for_a_loaded_or_built_image():
    assert filters.compose_stack_digest_ref("grt/ctfd:3.8.7-abc", []) == ""
    assert filters.compose_stack_digest_ref("nginx:1.26", [f"nginxx@{DIGEST}"]) == ""


def test_a_reference_by_digest_is_kept():
    assert filters.compose_stack_digest_ref(f"redis@{DIGEST}", []) == f"redis@{DIGEST}"


def test_the_id_of_a_built_image_by_tag():
    images = [{"Id": "sha256:1", "RepoTags": ["a:1"]}, {"Id": "sha256:2", "RepoTags": None}]
    assert filters.compose_stack_image_id("a:1", images) == "sha256:1"
    assert filters.compose_stack_image_id("a:2", images) == ""


FILE = "/opt/grt/router/compose.yaml"
SERVICES = {"router": "aivillage/llm_router@sha256:" + "a" * 64, "router-redis": "redis@sha256:" + "b" * 64}


def container(service, **changes):
    found = {"name": f"grt-router-{service}-1", "service": service, "image": SERVICES[service], "state": "running",
             "health": "healthy", "config_files": FILE}
    found.update(changes)
    return found


def test_every_service_running_healthy_on_its_image_needs_no_up():
    found = [container("router"), container("router-redis", health="none")]
    assert filters.compose_stack_up_problems(found, SERVICES, FILE) == []


@pytest.mark.parametrize("containers, expected", [
    ([container("router", state="exited"), container("router-redis")], "grt-router-router-1: exited"),
    ([container("router", health="starting"), container("router-redis")], "grt-router-router-1: starting"),
    ([container("router", health="unhealthy"), container("router-redis")], "grt-router-router-1: unhealthy"),
    ([container("router-redis")], "router: 0 containers"),
    ([container("router"), container("router", name="x"), container("router-redis")], "router: 2 containers"),
    ([container("router", image="aivillage/llm_router:latest"), container("router-redis")],
     "grt-router-router-1: runs aivillage/llm_router:latest"),
    ([container("router", config_files="/elsewhere/compose.yaml"), container("router-redis")],
     "grt-router-router-1: made from '/elsewhere/compose.yaml'"),
    ([container("router"), container("router-redis"), {**container("router"), "service": "old", "name": "grt-old"}],
     "grt-old: not a service of"),
])
def test_anything_compose_would_change_is_named(containers, expected):
    problems = filters.compose_stack_up_problems(containers, SERVICES, FILE)
    assert any(problem.startswith(expected) for problem in problems), problems
