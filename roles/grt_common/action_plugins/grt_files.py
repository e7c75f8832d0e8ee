# -*- coding: utf-8 -*-
"""grt_files: a role's directories, templates and copies in one task, with one remote call when nothing differs.

A no-op re-run is the organiser's "is everything still right?" at the venue; a loop of template/copy/file tasks
costs one or more remote round trips per path. This action renders each template and hashes each file on the
controller, asks the host once (module grt_files_state) for every path's type, mode, owner, group and sha1, and
hands each path that differs to the builtin action for it (ansible.legacy.file / template / copy), which makes the
change with its own validate, check mode and --diff. A template it cannot render as the builtin would (another
ansible-core) only costs speed: the builtin decides.

Items (one list, in order):
  - {path: /dir, state: directory, owner, group, mode}
  - {path: /file, state: absent}
  - {dest: /file, template: name.j2, owner, group, mode, validate, secret}
  - {dest: /file, src: name (the role's files/), owner, group, mode, validate, secret}
  - {dest: /file, content: text, owner, group, mode, validate, secret}
secret: true keeps that item's content and diff out of the result (the task need not be no_log as a whole).
states (optional): path -> state as module grt_files_state returns it, read by an earlier call of the same run
(compose_stack_state reads a stack's files with its images); when it holds every path, the host is not asked
again. Only a read made after the last change to those paths may be passed.
The result: changed, diff (of the paths that changed) and paths - per path, changed and by (state: it matched,
nothing more was asked; builtin: the builtin action judged it).
"""

import hashlib
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

try:  # ansible-core 2.19: what the builtin template action renders with
    from ansible.template import trust_as_template
    from ansible._internal._templating import _template_vars
except ImportError:  # another ansible-core: every template goes to the builtin, which decides
    trust_as_template = _template_vars = None

_FILE_KEYS = ("owner", "group", "mode", "validate")


def _secret(item):
    return boolean(item.get("secret", False), strict=False)


class ActionModule(ActionBase):

    TRANSFERS_FILES = True
    _requires_connection = True

    def _render(self, name, source, dest, task_vars):
        if trust_as_template is None:
            return None
        searchpath = list(task_vars.get("ansible_search_path", [])) + [self._loader._basedir, os.path.dirname(source)]
        searchpath = [path for base in searchpath for path in (os.path.join(base, "templates"), base)]
        variables = dict(task_vars)
        variables.update(_template_vars.generate_ansible_template_vars(
            path=name, fullpath=source, dest_path=dest, include_ansible_managed="ansible_managed" not in variables))
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        text = templar.template(trust_as_template(self._loader.get_text_file_contents(source)),
                                escape_backslashes=False,
                                overrides={"trim_blocks": True, "lstrip_blocks": False, "newline_sequence": "\n"})
        return to_bytes(text or "", errors="surrogate_or_strict")

    @staticmethod
    def _mode_matches(wanted, actual):
        if wanted is None:
            return True
        if isinstance(wanted, int):
            return wanted == int(actual, 8)
        try:
            return int(str(wanted), 8) == int(actual, 8)
        except ValueError:  # a symbolic mode: the builtin judges it
            return False

    def _matches(self, item, state, checksum):
        if item.get("state") == "absent" or not state.get("exists"):
            return item.get("state") == "absent" and not state.get("exists")
        kind = "directory" if item.get("state") == "directory" else "file"
        if state["type"] != kind or (kind == "file" and state.get("checksum") != checksum):
            return False
        # An owner or group by name or by id (a container's user often has no name on the host).
        return (self._mode_matches(item.get("mode"), state["mode"])
                and item.get("owner") in (None, state["owner"], state["uid"], str(state["uid"]))
                and item.get("group") in (None, state["group"], state["gid"], str(state["gid"])))

    def _builtin(self, action, args, task_vars, secret):
        task = self._task.copy()
        task.args = args
        # As a no_log task of its own: the module logs nothing of it on the host either.
        task.no_log = task.no_log or secret
        return self._shared_loader_obj.action_loader.get(
            action, task=task, connection=self._connection, play_context=self._play_context, loader=self._loader,
            templar=self._templar, shared_loader_obj=self._shared_loader_obj).run(task_vars=task_vars)

    def _apply(self, item, task_vars):
        wanted = {key: item[key] for key in _FILE_KEYS if item.get(key) is not None}
        if item.get("state") == "absent":
            return self._execute_module(module_name="ansible.legacy.file", task_vars=task_vars,
                                        module_args={"path": item["path"], "state": "absent"})
        if item.get("state") == "directory":
            wanted.pop("validate", None)
            return self._execute_module(module_name="ansible.legacy.file", task_vars=task_vars,
                                        module_args=dict(wanted, path=item["path"], state="directory"))
        if "template" in item:
            return self._builtin("ansible.legacy.template", dict(wanted, src=item["template"], dest=item["dest"]),
                                 task_vars, _secret(item))
        source = {"content": item["content"]} if "content" in item else {"src": item["src"]}
        return self._builtin("ansible.legacy.copy", dict(wanted, dest=item["dest"], **source), task_vars,
                             _secret(item))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        items = self._task.args.get("items")
        known = self._task.args.get("states") or {}
        if not isinstance(items, list) or not isinstance(known, dict) or set(self._task.args) - {"items", "states"}:
            raise AnsibleActionFail("grt_files takes items, a list of paths, and optionally states, a dict of their "
                                    "states read already (see the action's doc)")
        wanted = []
        for item in items:
            kinds = [key for key in ("state", "template", "src", "content") if key in item]
            if len(kinds) != 1 or (kinds == ["state"] and item["state"] not in ("directory", "absent")):
                raise AnsibleActionFail("grt_files: each item has one of state (directory or absent), template, src or content "
                                        "(got %s)" % sorted(item))
            path = item.get("path") if kinds == ["state"] else item.get("dest")
            if not path or not os.path.isabs(to_text(path)):
                raise AnsibleActionFail("grt_files: an absolute path or dest is required (got %r)" % path)
            checksum = None
            if "template" in item:
                rendered = self._render(item["template"], self._find_needle("templates", item["template"]),
                                        path, task_vars)
                checksum = hashlib.sha1(rendered).hexdigest() if rendered is not None else None
            elif "content" in item:
                checksum = hashlib.sha1(to_bytes(item["content"], errors="surrogate_or_strict")).hexdigest()
            elif "src" in item:
                with open(self._find_needle("files", item["src"]), "rb") as handle:
                    checksum = hashlib.sha1(handle.read()).hexdigest()
            wanted.append((path, item, checksum))

        paths = [path for path, _item, _sum in wanted]
        if all(path in known for path in paths):
            states = {"states": known}
        else:
            states = self._execute_module(module_name="grt_files_state", task_vars=task_vars,
                                          module_args={"paths": paths})
            if states.get("failed"):
                return dict(result, **states)
        try:
            results, diffs = [], []
            for path, item, checksum in wanted:
                state = states["states"][path]
                if self._matches(item, state, checksum):
                    results.append({"path": path, "changed": False, "by": "state"})
                    continue
                done = self._apply(item, task_vars)
                entry = {"path": path, "changed": bool(done.get("changed")), "failed": bool(done.get("failed")),
                         "by": "builtin"}
                if _secret(item):
                    entry["msg"] = "(secret: output hidden)" if done.get("failed") else ""
                else:
                    entry.update({key: done[key] for key in ("msg", "stderr", "stdout") if done.get(key)})
                    if done.get("diff"):
                        diffs.extend(done["diff"] if isinstance(done["diff"], list) else [done["diff"]])
                results.append(entry)
                if entry["failed"]:
                    result.update(failed=True, msg="%s: %s" % (path, entry.get("msg") or "failed"))
                    break
            result.update(changed=any(entry["changed"] for entry in results), paths=results)
            if diffs:
                result["diff"] = diffs
            return result
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
