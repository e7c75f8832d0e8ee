# -*- coding: utf-8 -*-
"""The state of a path as grt_common's grt_files action compares it (modules grt_files_state, compose_stack_state)."""

import base64
import grp
import hashlib
import os
import pwd
import stat

# A file whose content is asked for (a certificate, a key's public half) is small; a larger one is not read.
CONTENT_LIMIT = 1 << 20


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def path_state(path, content=False):
    """exists; and type, mode, owner, group (names and ids), a file's sha1 - and its content (base64) if asked."""
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
        data = b""
        keep = content and info.st_size <= CONTENT_LIMIT
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
                if keep:
                    data += block
        state["checksum"] = digest.hexdigest()
        if keep:
            state["content"] = base64.b64encode(data).decode("ascii")
    return state
