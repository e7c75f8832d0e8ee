"""grt_checks: a role's preflight checks in one task, each with its own clear message.

    - name: Preflight | the input makes sense
      grt_checks:
        checks:
          - name: ports are valid and distinct
            that: [front_proxy_http_port | int > 0, ...]     # like assert's `that` (all must hold)
            msg: "front_proxy_http_port ({{ front_proxy_http_port }}) must ..."
            when: front_proxy_tls_mode != 'none'             # optional: the check applies only then
            warn: true                                       # optional: a warning when it does not hold, not a failure

Every check is judged, in order, and the task fails with the message of each one that does not hold - all of
them, one per line - so a run with two mistakes names both before anything changes. A check whose expression
cannot be evaluated counts as failed (its message, then the error). A message is templated only when its check
fails, so it may name what only a failed check makes meaningful. Nothing on the host is touched: one task
replaces a file of asserts (a task costs ~0.1 s on a re-run; a preflight has dozens of checks).
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase


def _as_list(value: t.Any) -> list:
    return value if isinstance(value, list) else [value]


class ActionModule(ActionBase):
    _requires_connection = False

    @classmethod
    def finalize_task_arg(cls, name: str, value: t.Any, templar: t.Any, context: t.Any) -> t.Any:
        # The checks are judged (and their messages templated) one by one in run(), not up front: a message or
        # an expression that only makes sense once an earlier check holds must not fail the whole task first.
        if name == "checks":
            return value
        return super().finalize_task_arg(name, value, templar, context)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        checks = self._task.args.get("checks")
        if not isinstance(checks, list) or not all(isinstance(c, dict) and "that" in c and "msg" in c for c in checks):
            return {"failed": True, "msg": "grt_checks: checks must be a list of {name, that, msg[, when]}."}

        problems, failed_names, warnings = [], [], []
        for check in checks:
            try:
                if not all(self._templar.evaluate_conditional(conditional=c) for c in _as_list(check.get("when", []))):
                    continue
                if all(self._templar.evaluate_conditional(conditional=c) for c in _as_list(check["that"])):
                    continue
                error = ""
            except AnsibleError as exc:
                error = f" (the check could not be evaluated: {exc.message})"
            try:
                message = str(self._templar.template(check["msg"])).strip()
            except AnsibleError:
                message = str(check["msg"]).strip()
            if check.get("warn") and not error:
                warnings.append(message)
                continue
            problems.append(message + error)
            failed_names.append(check.get("name", check["that"]))

        result["changed"] = False
        result["checks"] = len(checks)
        if warnings:
            result["warnings"] = warnings
        if problems:
            result["failed"] = True
            result["failed_checks"] = failed_names
            result["msg"] = "\n".join(problems)
        else:
            result["msg"] = f"All {len(checks)} checks hold."
        return result
