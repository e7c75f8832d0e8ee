"""After the refused converge, nothing Docker-related may exist on the host."""

import pytest


@pytest.mark.parametrize(
    "package",
    ["docker.io", "docker-ce", "docker-compose", "docker-compose-plugin", "python3-docker"],
)
def test_no_docker_package_installed(host, package):
    assert not host.package(package).is_installed


@pytest.mark.parametrize(
    "path",
    ["/etc/docker", "/etc/apt/sources.list.d/docker.sources", "/etc/apt/keyrings/docker.asc"],
)
def test_no_docker_file_written(host, path):
    assert not host.file(path).exists


def test_no_docker_group(host):
    assert not host.group("docker").exists
