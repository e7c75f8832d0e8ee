"""compose_stack's image-reference filters (venue mode pins every pulled image by digest)."""

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
