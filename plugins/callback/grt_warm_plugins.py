"""grt_warm_plugins: load the Jinja filter and test plugins once, in the controller process, before any task runs.

ansible-core runs each task in a worker process forked from the controller process, and loads the filter and
test plugins (its own, the roles' filter_plugins) the first time a template needs one - in the worker, unless
the controller process has loaded them already, in which case every worker inherits them. In a site.yml run
the controller process itself rarely templates a filter, so each task that does paid for the whole set again:
measured on a no-op monolith run, 36 workers loading the filters at ~80 ms each (~3 s of a ~38 s run) and 115
loading the tests (~0.5 s). Warmed here at the start of each play and task (a dictionary check once loaded:
a role loaded later adds its plugins and empties the set), no worker loads them.

Nothing else changes: no output, no state. Enabled by being on the callback plugin path (ansible.cfg's
callback_plugins; Molecule's provisioner env for the tests).
"""

from __future__ import annotations

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import filter_loader, test_loader

DOCUMENTATION = """
    name: grt_warm_plugins
    type: aggregate
    short_description: Load the Jinja filter and test plugins once in the controller process
    description:
      - Loads the filter and test plugins in the controller process before each play and task, so that the
        worker process forked for each task inherits them instead of loading them itself.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "grt_warm_plugins"
    CALLBACK_NEEDS_ENABLED = False

    @staticmethod
    def _warm():
        # Jinja2Loader.all() loads the non-collection plugins once (then it only checks its cache).
        for loader in (filter_loader, test_loader):
            next(loader.all(), None)

    def v2_playbook_on_play_start(self, play):
        self._warm()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._warm()

    def v2_playbook_on_handler_task_start(self, task):
        self._warm()
