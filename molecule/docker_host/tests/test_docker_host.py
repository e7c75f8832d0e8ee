"""docker_host on a Debian 13 test host: engine, plugins, daemon.json, mirror, a real container."""

import json

import pytest
from grt_testinfra import docker_json, merge, offline_image, role_vars, run_ok, wait_for_command, wait_until

PUBLISHED_PORT = 18080


@pytest.mark.parametrize("service", ["docker", "containerd"])
def test_engine_active_and_enabled(host, service):
    unit = host.service(service)
    assert unit.is_running
    assert unit.is_enabled


def test_compose_v2_plugin(host):
    version = run_ok(host, "docker compose version --short").strip()
    assert version.lstrip("v").startswith("2."), version


def test_buildx_plugin(host):
    assert "buildx" in run_ok(host, "docker buildx version")


def test_python_sdk_for_community_docker(host):
    run_ok(host, "python3 -c 'import docker'")


def expected_daemon_json(host):
    """daemon.json as the role's variables for this host describe it."""
    values = role_vars(host, "docker_host")
    expected = merge(values["docker_host_daemon_options"], values["docker_host_daemon_extra_options"])
    if values["docker_host_registry_mirrors"]:
        expected["registry-mirrors"] = values["docker_host_registry_mirrors"]
    if values["docker_host_insecure_registries"]:
        expected["insecure-registries"] = values["docker_host_insecure_registries"]
    return expected


def test_daemon_json_is_what_the_variables_say(host):
    expected = expected_daemon_json(host)
    daemon_json = host.file("/etc/docker/daemon.json")
    assert daemon_json.mode == 0o644
    assert json.loads(daemon_json.content_string) == expected


def test_engine_runs_with_that_configuration(host):
    expected = expected_daemon_json(host)
    info = docker_json(host, "docker info --format '{{json .}}'")
    assert info["LiveRestoreEnabled"] is expected["live-restore"]
    assert info["LoggingDriver"] == expected["log-driver"]
    mirrors = [m.rstrip("/") for m in info["RegistryConfig"]["Mirrors"] or []]
    assert mirrors == [m.rstrip("/") for m in expected.get("registry-mirrors", [])]
    insecure = info["RegistryConfig"]["IndexConfigs"]
    for registry in expected.get("insecure-registries", []):
        assert insecure[registry]["Secure"] is False


@pytest.fixture(scope="module")
def web(host):
    """An nginx container pulled by its upstream name and published on the test host's loopback."""
    image = offline_image("nginx")
    run_ok(host, "docker rm -f grt-verify-web || true")
    run_ok(host, f"docker pull {image}")
    run_ok(host, f"docker run -d --name grt-verify-web -p 127.0.0.1:{PUBLISHED_PORT}:80 {image}")
    yield image
    run_ok(host, "docker rm -f grt-verify-web")


def test_image_pulled_by_upstream_name_through_the_mirror(host, web):
    repository, tag = web.split(":")
    digest = run_ok(host, f"docker image inspect --format '{{{{index .RepoDigests 0}}}}' {web}").strip()
    assert digest.startswith(repository + "@sha256:"), digest
    # The same manifest, as the mirror serves it: the pull came from there (Docker Hub is out of reach).
    mirror = expected_daemon_json(host)["registry-mirrors"][0].rstrip("/")
    headers = run_ok(
        host,
        "curl -fsSI -H 'Accept: application/vnd.docker.distribution.manifest.v2+json'"
        f" {mirror}/v2/library/{repository}/manifests/{tag}",
    )
    served = [line.split(":", 1)[1].strip() for line in headers.splitlines() if line.lower().startswith("docker-content-digest:")]
    assert served == [digest.split("@", 1)[1]]


def test_container_answers_on_published_port(host, web):
    def answer():
        result = host.run(f"curl -fsS -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{PUBLISHED_PORT}/")
        return result.stdout if result.rc == 0 else None

    assert wait_until(answer, timeout=30, what="nginx answering on the published port") == "200"


def test_new_containers_get_the_configured_log_rotation(host, web):
    expected = expected_daemon_json(host)
    log_config = docker_json(host, "docker inspect --format '{{json .HostConfig.LogConfig}}' grt-verify-web")
    assert log_config["Type"] == expected["log-driver"]
    assert log_config["Config"] == expected["log-opts"]


def test_live_restore_keeps_containers_across_an_engine_restart(host, web):
    before = run_ok(host, "docker inspect --format '{{.State.StartedAt}}' grt-verify-web")
    run_ok(host, "systemctl restart docker")
    wait_for_command(host, "docker info", timeout=60, what="engine back after restart")
    after = run_ok(host, "docker inspect --format '{{.State.StartedAt}} {{.State.Running}}' grt-verify-web")
    assert after.split() == [before.strip(), "true"]
