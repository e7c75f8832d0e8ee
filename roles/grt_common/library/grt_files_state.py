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
author: grt-deploy
"""

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def _state(path):
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"exists": False}
    state = {
        "exists": True,
        "type": "directory" if stat.S_ISDIR(info.st_mode) else "file" if stat.S_ISREG(info.st_mode) else "other",
        "mode": "%04o" % stat.S_IMODE(info.st_mode),
        "owner": _name(pwd.getpwuid, info.st_uid),
        "group": _name(grp.getgrgid, info.st_gid),
        "uid": info.st_uid,
        "gid": info.st_gid,
    }
    if state["type"] == "file":
        digest = hashlib.sha1()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
        state["checksum"] = digest.hexdigest()
    return state


def main():
    module = AnsibleModule(argument_spec={"paths": {"type": "list", "elements": "str", "required": True}},
                           supports_check_mode=True)
    module.exit_json(changed=False, states={path: _state(path) for path in module.params["paths"]})


if __name__ == "__main__":
    main()
