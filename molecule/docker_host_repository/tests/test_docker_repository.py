"""The role's Docker apt repository setup works with a real apt and a signed repository."""

from grt_testinfra import role_vars, run_ok

testinfra_hosts = ["ansible://docker_hosts"]


def test_key_and_source_files(host):
    key = host.file("/etc/apt/keyrings/docker.asc")
    assert key.mode == 0o644
    assert key.content_string.startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
    source = host.file("/etc/apt/sources.list.d/docker.sources")
    assert source.mode == 0o644
    url = role_vars(host, "docker_host")["docker_host_docker_repo_url"]
    fields = dict(
        line.split(": ", 1) for line in source.content_string.splitlines() if line and not line.startswith("#")
    )
    assert fields == {
        "Types": "deb",
        "URIs": f"{url}/debian",
        "Suites": "bookworm",
        "Components": "stable",
        "Architectures": "amd64",
        "Signed-By": "/etc/apt/keyrings/docker.asc",
    }


def test_apt_accepts_the_signed_repository(host):
    output = run_ok(host, "apt-get update 2>&1")
    assert "grt-fake-docker-repo" in output
    for complaint in ("NO_PUBKEY", "not signed", "W:", "E:"):
        assert complaint not in output, output


def test_docker_packages_come_from_that_repository(host):
    for package in ["docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin"]:
        policy = run_ok(host, f"apt-cache policy {package}")
        assert "Candidate: 5:99.0.0-1~bookworm" in policy, policy
        assert "http://grt-fake-docker-repo/linux/debian bookworm/stable amd64 Packages" in policy, policy
