#!/usr/bin/python
# -*- coding: utf-8 -*-
"""What a compose stack finds on its host, in one call (role compose_stack)."""

DOCUMENTATION = r"""
module: compose_stack_state
short_description: a compose stack's images, networks and containers on the host, in one call
description:
  - Read-only, through the docker CLI. A no-op re-run asks this once where it would ask each image, each
    network and compose itself one call at a time.
options:
  images:
    description: Image references (a tag or repository@digest); each is reported with exists, id and repo_digests.
    type: list
    elements: str
    default: []
  networks:
    description: Network names; each is reported with exists.
    type: list
    elements: str
    default: []
  project:
    description: A compose project whose containers are reported (the filter compose_stack_up_problems judges them).
    type: str
  paths:
    description:
      - Absolute paths (the stack's files), each reported as grt_common's grt_files_state reports it; the
        grt_files tasks that write them take the result as their states and ask the host nothing more.
    type: list
    elements: str
    default: []
  stack:
    description:
      - A label returned as given (the stack's directory), so that a later step knows whose read this is.
    type: str
    default: ""
author: grt-deploy
"""

RETURN = r"""
images: {description: reference -> exists, id, repo_digests, type: dict, returned: always}
networks: {description: name -> exists, type: dict, returned: always}
containers:
  description: the project's containers but one-off ones (name, service, image, state, health, config_files)
  type: list
  returned: with project
files: {description: path -> its state (as grt_files_state reports it), type: dict, returned: always}
stack: {description: the label given, type: str, returned: always}
"""

import json

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.grt_paths import path_state

_ONEOFF = "com.docker.compose.oneoff"


def _inspect(module, kind, name):
    """`docker <kind> inspect` of one object: its JSON, or None when there is none of that name."""
    rc, out, err = module.run_command(["docker", kind, "inspect", "--format", "{{json .}}", name])
    if rc != 0:
        if "no such" in err.lower() or "not found" in err.lower():
            return None
        module.fail_json(msg="docker %s inspect %s: %s" % (kind, name, err.strip()))
    return json.loads(out)


def _containers(module, project):
    rc, out, err = module.run_command(["docker", "ps", "--all", "--quiet", "--no-trunc",
                                       "--filter", "label=com.docker.compose.project=%s" % project])
    if rc != 0:
        module.fail_json(msg="docker ps: %s" % err.strip())
    ids = out.split()
    if not ids:
        return []
    rc, out, err = module.run_command(["docker", "container", "inspect"] + ids)
    if rc != 0:
        module.fail_json(msg="docker container inspect: %s" % err.strip())
    found = []
    for container in json.loads(out):
        labels = container["Config"].get("Labels") or {}
        if labels.get(_ONEOFF, "False").lower() == "true":
            continue
        state = container["State"]
        found.append({
            "name": container["Name"].lstrip("/"),
            "service": labels.get("com.docker.compose.service", ""),
            "image": container["Config"]["Image"],
            "state": state["Status"],
            "health": (state.get("Health") or {}).get("Status", "none"),
            "config_files": labels.get("com.docker.compose.project.config_files", ""),
        })
    return found


def main():
    module = AnsibleModule(argument_spec={
        "images": {"type": "list", "elements": "str", "default": []},
        "networks": {"type": "list", "elements": "str", "default": []},
        "project": {"type": "str"},
        "paths": {"type": "list", "elements": "str", "default": []},
        "stack": {"type": "str", "default": ""},
    }, supports_check_mode=True)
    result = {"changed": False, "images": {}, "networks": {}, "stack": module.params["stack"],
              "files": {path: path_state(path) for path in module.params["paths"]}}
    for ref in module.params["images"]:
        image = _inspect(module, "image", ref)
        result["images"][ref] = ({"exists": True, "id": image["Id"], "repo_digests": image.get("RepoDigests") or []}
                                 if image else {"exists": False, "id": "", "repo_digests": []})
    for name in module.params["networks"]:
        result["networks"][name] = {"exists": _inspect(module, "network", name) is not None}
    if module.params["project"]:
        result["containers"] = _containers(module, module.params["project"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
