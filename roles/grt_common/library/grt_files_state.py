#!/usr/bin/python
# -*- coding: utf-8 -*-
"""The state of many paths in one call, for the grt_files action (role grt_common)."""

DOCUMENTATION = r"""
module: grt_files_state
short_description: type, mode, owner and group (names and ids) and sha1 of many paths at once
description:
  - Read-only. The grt_files action asks it once per task, then changes only the paths that differ.
options:
  paths:
    description: Absolute paths.
    type: list
    elements: str
    required: true
  contents:
    description:
      - Files whose content is returned too (base64, in C(content); up to 1 MiB), such as a certificate to inspect.
        They need not be in O(paths).
    type: list
    elements: str
    default: []
author: grt-deploy
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.grt_paths import path_state


def main():
    module = AnsibleModule(argument_spec={"paths": {"type": "list", "elements": "str", "required": True},
                                          "contents": {"type": "list", "elements": "str", "default": []}},
                           supports_check_mode=True)
    contents = set(module.params["contents"])
    paths = module.params["paths"] + [path for path in module.params["contents"] if path not in module.params["paths"]]
    module.exit_json(changed=False, states={path: path_state(path, path in contents) for path in paths})


if __name__ == "__main__":
    main()
