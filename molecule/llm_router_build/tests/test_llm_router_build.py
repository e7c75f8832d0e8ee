"""llm_router built from its (fixture) git repository at the pinned commit, seen from outside.

The expected commit and content come from the fixture repository itself (shas.env
and `git show` on the controller), not from the inventory the role read.
"""

import json
import os
import pathlib
import subprocess

import pytest
from grt_testinfra import docker_json, role_vars, run_ok, wait_until

testinfra_hosts = ["ansible://grt-molecule-router-build"]

UPSTREAM = pathlib.Path("/var/tmp/grt-test/upstream")
FIXTURE_REPO = UPSTREAM / "llm_router"
# Where the fixture's dockerfiles/Dockerfile copies FIXTURE_BUILD (make-repos.sh).
FIXTURE_FILE_IN_IMAGE = "/opt/grt-fixture/FIXTURE_BUILD"
# The role's fixed host layout and compose project (roles/llm_router/vars/main.yml).
BUILD_DIR = "/opt/grt/router/build"
PROJECT = "grt-router"
PORT = 8000


def fixture_shas():
    pairs = (line.split("=", 1) for line in (UPSTREAM / "shas.env").read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


SHAS = fixture_shas()
PINNED = SHAS["LLM_ROUTER_SHA"]
HEAD = SHAS["LLM_ROUTER_HEAD_SHA"]


def fixture_file(commit, path="FIXTURE_BUILD"):
    """A file of the fixture repository at `commit`, read on the controller."""
    return subprocess.run(["git", "--git-dir", str(FIXTURE_REPO), "show", f"{commit}:{path}"],
                          check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def values(host):
    return role_vars(host, "llm_router")


@pytest.fixture(scope="module")
def built_ref(values):
    return f"{values['llm_router_build_repository']}:{PINNED[:12]}"


def service_container(host, service):
    ids = run_ok(host, f"docker ps -aq --filter label=com.docker.compose.project={PROJECT}"
                       f" --filter label=com.docker.compose.service={service}").split()
    assert len(ids) == 1, f"expected one {service} container, found {ids}"
    return docker_json(host, f"docker inspect {ids[0]}")[0]


def test_fixture_commits_differ_in_the_checked_file():
    # Guard: the content test below can only tell the pin from HEAD if the file differs.
    assert PINNED != HEAD
    assert fixture_file(PINNED) != fixture_file(HEAD)


def test_router_runs_the_image_built_from_the_pinned_commit(host, built_ref):
    router = service_container(host, "router")
    assert router["Config"]["Image"] == built_ref
    image = docker_json(host, f"docker image inspect {built_ref}")[0]
    assert router["Image"] == image["Id"]
    labels = image["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == PINNED
    # Made from the fixture's Dockerfile on the host, not pulled from a registry.
    assert labels["org.grt-deploy.fixture"] == "llm_router"
    assert not image["RepoDigests"]


def test_image_holds_the_pinned_tree(host):
    router = service_container(host, "router")
    in_image = run_ok(host, f"docker exec {router['Id']} cat {FIXTURE_FILE_IN_IMAGE}")
    assert in_image == fixture_file(PINNED)


def test_host_build_source_is_the_pinned_commit(host):
    assert host.file(f"{BUILD_DIR}/src.commit").content_string.strip() == PINNED
    assert host.file(f"{BUILD_DIR}/src/FIXTURE_BUILD").content_string == fixture_file(PINNED)
    assert host.file(f"{BUILD_DIR}/src/dockerfiles/Dockerfile").content_string == fixture_file(
        PINNED, "dockerfiles/Dockerfile")
    # Only in the commit after the pin.
    assert not host.file(f"{BUILD_DIR}/src/NEWER_THAN_PIN").exists


def test_controller_clone_cache_is_this_runs(values):
    cache = pathlib.Path(values["llm_router_build_cache_dir"])
    assert cache.is_relative_to(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
    assert (cache / f"llm_router-{PINNED}.tar").is_file()
    assert not (cache / f"llm_router-{HEAD}.tar").exists()


@pytest.mark.parametrize("service", ["router", "router-redis"])
def test_stack_containers_healthy(host, service):
    def healthy():
        state = service_container(host, service)["State"]
        return state["Running"] and state.get("Health", {}).get("Status") == "healthy"

    wait_until(healthy, timeout=90, what=f"{service} healthy")
    assert service_container(host, service)["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def client_get(host, values, image, path):
    """GET on the router from a throwaway container on the client network, as CTFd calls it."""
    url = f"http://{values['llm_router_client_alias']}:{PORT}{path}"
    return run_ok(host, f"docker run --rm --network {values['llm_router_client_network']}"
                        f" --entrypoint curl {image} -fsS --max-time 10 {url}")


def test_router_answers_health_on_the_client_network(host, values, built_ref):
    assert client_get(host, values, built_ref, "/health").strip() == "Ok"


def test_router_lists_the_configured_models_on_the_client_network(host, values, built_ref):
    answer = json.loads(client_get(host, values, built_ref, "/chat/models"))
    expected = [model["name"] for model in values["llm_router_mock_models"]]
    assert sorted(answer["models"]) == sorted(expected)
