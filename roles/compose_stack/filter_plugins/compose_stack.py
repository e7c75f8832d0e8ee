"""Image references as compose_stack pins them (venue mode, the inventory's image lock).

compose_stack_image_repo: the repository of a reference, without its tag or digest
  ("nginx:1.26" -> "nginx", "host:5000/a/b:1" -> "host:5000/a/b", "x@sha256:..." -> "x").
compose_stack_digest_ref: the reference by digest of an image pulled as `ref`, from the image's RepoDigests
  (the registry's manifest digest, what `docker pull` printed); '' when it has none (an image loaded from a file
  or built here). A reference that is already by digest is returned as it is.
compose_stack_image_id: the id of the image tagged `ref` among docker_image_info's images; '' when none is.
compose_stack_up_problems: why a stack's containers (module compose_stack_state) are not what `docker compose up`
  would leave - one container per service, made from this compose file, on its image, running, healthy where it has
  a health check, no orphan - one line each; empty when `up` would change nothing.
"""


def compose_stack_image_repo(ref):
    ref = str(ref).split("@", 1)[0]
    name, _, tag = ref.rpartition(":")
    # A colon before the last slash belongs to a registry's port, not to a tag.
    return name if name and "/" not in tag else ref


def compose_stack_digest_ref(ref, repo_digests):
    ref = str(ref)
    if "@" in ref:
        return ref
    repo = compose_stack_image_repo(ref)
    # Docker names Docker Hub's images without their docker.io/ (and library/) prefix in RepoDigests.
    short = repo.removeprefix("docker.io/").removeprefix("library/")
    for digest in repo_digests or []:
        if digest.split("@", 1)[0] in (repo, short):
            return digest
    return ""


def compose_stack_image_id(ref, images):
    for image in images or []:
        if str(ref) in (image.get("RepoTags") or []):
            return image.get("Id", "")
    return ""


def compose_stack_up_problems(containers, services, compose_file):
    """Why the project's containers are not what compose would leave after `up` (empty: nothing to do)."""
    problems = []
    by_service = {}
    for container in containers:
        by_service.setdefault(container["service"], []).append(container)
    for service in sorted(set(by_service) - set(services)):
        problems.append("%s: not a service of %s (an orphan)" % (by_service[service][0]["name"], compose_file))
    for service, image in sorted(services.items()):
        found = by_service.get(service, [])
        if len(found) != 1:
            problems.append("%s: %d containers" % (service, len(found)))
            continue
        container = found[0]
        if container["config_files"] != compose_file:
            problems.append("%s: made from %r" % (container["name"], container["config_files"]))
        if container["image"] != image:
            problems.append("%s: runs %s, not %s" % (container["name"], container["image"], image))
        if container["state"] != "running":
            problems.append("%s: %s" % (container["name"], container["state"]))
        elif container["health"] not in ("none", "healthy"):
            problems.append("%s: %s" % (container["name"], container["health"]))
    return problems


class FilterModule:
    def filters(self):
        return {
            "compose_stack_image_repo": compose_stack_image_repo,
            "compose_stack_digest_ref": compose_stack_digest_ref,
            "compose_stack_image_id": compose_stack_image_id,
            "compose_stack_up_problems": compose_stack_up_problems,
        }
