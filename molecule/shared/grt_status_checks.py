"""Test-only helpers for playbooks/status.yml: a run as the project's ansible.cfg prints it, and its table, JSON
and problems read back (test_monolith_status.py, test_monolith_venue.py)."""

import json
import re
import subprocess

import yaml
from grt_backup_checks import EPHEMERAL, PLAY_ENV, PROJECT


def status(*args):
    """playbooks/status.yml as the project's ansible.cfg prints it (the yaml result format: Molecule's
    config, which the other runs use, leaves the default JSON)."""
    return subprocess.run(["ansible-playbook", "-i", str(EPHEMERAL / "inventory"), str(PROJECT / "playbooks/status.yml"),
                           *args], env=dict(PLAY_ENV, ANSIBLE_CALLBACK_RESULT_FORMAT="yaml"), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)


def plain(run):
    """A run's output without colours (Molecule's environment forces them)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", run.stdout)


def recap(run):
    """changed= per host of the play recap."""
    return {host: int(changed) for host, changed in
            re.findall(r"^(\S+)\s+:\s+ok=\d+\s+changed=(\d+)", plain(run), re.M)}


def table(run):
    """The report's rows as (host, section, item, state, value), from the block the callback prints."""
    text = plain(run)
    start = text.index("HOST ")
    header = text[start:text.index("\n", start)]
    # Columns start where the header's names do (the value column takes the rest of the line).
    columns = [header.index(name) for name in ("HOST", "SECTION", "ITEM", "STATE", "VALUE")]
    indent = text.rfind("\n", 0, start) + 1
    rows = []
    for line in text[text.index("\n", start) + 1:].splitlines():
        if not line.strip() or not line.startswith(" " * (start - indent)) or line.strip().startswith("["):
            break
        line = line[start - indent:]
        rows.append(tuple(line[a:b].strip() for a, b in zip(columns, columns[1:] + [None])))
    return rows


def report_json(run):
    """The JSON the report prints with -e status_format=json (a block of the yaml callback)."""
    text = plain(run)
    block = text[text.index("msg: |-") + len("msg: |-"):]
    lines = []
    for line in block.splitlines()[1:]:
        if line.strip() == "" or not line.startswith("        "):
            break
        lines.append(line)
    return json.loads("\n".join(lines))


def problems(run):
    """The one-line problems of a red report: the failed assert's message, a YAML list the callback folds."""
    text = plain(run)
    lines = text[text.index("nothing is red"):].splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "msg:")
    indent = len(lines[at]) - len(lines[at].lstrip())
    block = []
    for line in lines[at + 1:]:
        if not line.strip() or len(line) - len(line.lstrip()) < indent:
            break
        block.append(line[indent:])
    return yaml.safe_load("\n".join(block))
