# Emits one JSON object per playbook event to the file named by DROPSHIP_EVENTS_FILE,
# so Dropship reads progress from a machine-readable stream instead of scraping text.
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: dropship_events
    type: notification
    short_description: JSON-lines task events for Dropship
    description: Writes play, task start, per-host result and recap events as JSON lines.
    requirements:
      - DROPSHIP_EVENTS_FILE set in the environment
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "dropship_events"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        path = os.environ.get("DROPSHIP_EVENTS_FILE")
        self._out = open(path, "a", buffering=1, encoding="utf-8") if path else None
        self._task_total = 0
        self._task_index = 0

    def _emit(self, event, **fields):
        if self._out is None:
            return
        fields.update(event=event, at=time.time())
        self._out.write(json.dumps(fields, default=str) + "\n")

    def v2_playbook_on_start(self, playbook):
        # The answers file (DROPSHIP_VARS_FILE) was read when ansible-playbook loaded its extra vars, before any play:
        # remove it now, so private answers do not sit on the host's disk while the tasks run.
        path = os.environ.get("DROPSHIP_VARS_FILE")
        if path:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def v2_playbook_on_play_start(self, play):
        tasks = 0
        for block in play.compile():
            for task in block.get_tasks() if hasattr(block, "get_tasks") else []:
                # Ansible adds implicit housekeeping (meta: flush_handlers) that users never wrote.
                if not getattr(task, "implicit", False):
                    tasks += 1
        self._task_total = tasks
        self._task_index = 0
        self._emit("play", name=play.get_name(), tasks=tasks)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_index += 1
        self._emit("task", name=task.get_name(), action=task.action, index=self._task_index, total=self._task_total)

    def v2_playbook_on_handler_task_start(self, task):
        self._emit("task", name=task.get_name(), action=task.action, handler=True)

    def _result(self, status, result):
        self._emit(
            "result",
            status=status,
            host=result._host.get_name(),
            task=result._task.get_name(),
            changed=bool(result._result.get("changed", False)),
            msg=str(result._result.get("msg", ""))[:500] if status in ("failed", "unreachable") else None,
        )

    def v2_runner_on_ok(self, result):
        self._result("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for host in sorted(stats.processed.keys()):
            hosts[host] = stats.summarize(host)
        self._emit("recap", hosts=hosts)
