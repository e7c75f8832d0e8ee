"""Image references as compose_stack pins them (venue mode, the inventory's image lock).

compose_stack_image_repo: the repository of a reference, without its tag or digest
  ("nginx:1.26" -> "nginx", "host:5000/a/b:1" -> "host:5000/a/b", "x@sha256:..." -> "x").
compose_stack_digest_ref: the reference by digest of an image pulled as `ref`, from the image's RepoDigests
  (the registry's manifest digest, what `docker pull` printed); '' when it has none (an image loaded from a file
  or built here). A reference that is already by digest is returned as it is.
compose_stack_image_id: the id of the image tagged `ref` among docker_image_info's images; '' when none is.
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


class FilterModule:
    def filters(self):
        return {
            "compose_stack_image_repo": compose_stack_image_repo,
            "compose_stack_digest_ref": compose_stack_digest_ref,
            "compose_stack_image_id": compose_stack_image_id,
        }
