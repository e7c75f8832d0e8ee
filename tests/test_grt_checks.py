"""grt_common's grt_checks action (a role's preflight in one task) and the project's grt_warm_plugins callback (the
Jinja plugins loaded once in the controller process). Real ansible-playbook runs on localhost."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent


def run(tmp_path, playbook, extra_vars=None, env=None):
    (tmp_path / "play.yml").write_text(textwrap.dedent(playbook))
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
         "-e", json.dumps(extra_vars or {})],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
        env=dict(os.environ, ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                 ANSIBLE_CONFIG=str(tmp_path / "none.cfg"), **(env or {})))


CHECKS = """\
    - hosts: localhost
      gather_facts: false
      roles: [{role: grt_common, tags: [never]}]
      tasks:
        - name: Preflight | the input makes sense
          grt_checks:
            checks:
              - name: the port is a port
                that: [demo_port | int >= 1, demo_port | int <= 65535]
                msg: "demo_port must be between 1 and 65535 (got {{ demo_port }})."
              - name: the names have no spaces
                that: _spaced | length == 0
                msg: "demo_names without spaces, please: {{ _spaced }}."
              - name: only checked with TLS
                that: demo_tls_days | int > 0
                msg: "demo_tls_days must be above 0."
                when: demo_tls
              - name: a recommendation, not a requirement
                that: demo_names | length > 1
                warn: true
                msg: "demo_names has one name only: consider a second."
              - name: the mode's settings
                that: demo_modes[demo_mode].size > 0
                # Templated only when the check fails: it names what only then matters.
                msg: "demo_modes has no usable '{{ demo_mode }}' entry."
          vars:
            _spaced: "{{ demo_names | select('search', ' ') | list }}"
        - name: Reached only when every check holds
          ansible.builtin.debug:
            msg: ALL CHECKS HELD
"""
GOOD = {"demo_port": 443, "demo_names": ["a", "b"], "demo_tls": False, "demo_tls_days": "x",
        "demo_mode": "small", "demo_modes": {"small": {"size": 1}}}


def test_every_check_holds_and_the_play_goes_on(tmp_path):
    result = run(tmp_path, CHECKS, GOOD)
    assert result.returncode == 0, result.stdout[-3000:]
    # The TLS check did not apply (its `when`), so its value was never judged.
    assert "ALL CHECKS HELD" in result.stdout


def test_a_warning_check_warns_and_the_play_goes_on(tmp_path):
    result = run(tmp_path, CHECKS, dict(GOOD, demo_names=["a"]))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "[WARNING]: demo_names has one name only: consider a second." in result.stdout + result.stderr
    assert "ALL CHECKS HELD" in result.stdout
    # Holding, it says nothing.
    quiet = run(tmp_path, CHECKS, GOOD)
    assert "consider a second" not in quiet.stdout + quiet.stderr


def test_each_failed_check_names_itself_in_one_message_before_anything_runs(tmp_path):
    result = run(tmp_path, CHECKS, dict(GOOD, demo_port=70000, demo_names=["a b"], demo_tls=True, demo_tls_days=0,
                                        demo_mode="large"))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "demo_port must be between 1 and 65535 (got 70000)." in output
    assert "demo_names without spaces, please: ['a b']." in output
    assert "demo_tls_days must be above 0." in output
    # A check that cannot be evaluated fails with its own message and the reason.
    assert "demo_modes has no usable 'large' entry. (the check could not be evaluated:" in output
    assert "ALL CHECKS HELD" not in output


FILTER_PLUGIN = """\
import os, pathlib
# Records the process that loads the filter plugins (ansible-core imports every plugin file when it loads them).
with open(pathlib.Path(__file__).parents[1] / "loads", "a") as out:
    out.write(f"{os.getpid()}\\n")

class FilterModule:
    def filters(self):
        return {"demo_twice": lambda value: value * 2}
"""
WARM = """\
    - hosts: localhost
      gather_facts: false
      tasks:
""" + "".join(f"""\
        - name: Task {i} uses a filter
          ansible.builtin.debug:
            msg: "{{{{ 2 | demo_twice }}}}"
""" for i in range(6))


def test_the_filter_plugins_are_loaded_once_in_the_controller_not_in_each_task(tmp_path):
    (tmp_path / "filter_plugins").mkdir()
    (tmp_path / "filter_plugins" / "demo.py").write_text(FILTER_PLUGIN)
    loads = tmp_path / "loads"
    # Without the callback: each task's worker loads them again.
    result = run(tmp_path, WARM, env={"ANSIBLE_CALLBACK_PLUGINS": str(tmp_path / "none")})
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(set(loads.read_text().split())) == 6
    loads.unlink()
    # With it (as ansible.cfg and Molecule's env set it): once, in the controller process.
    result = run(tmp_path, WARM, env={"ANSIBLE_CALLBACK_PLUGINS": str(ROOT / "plugins" / "callback")})
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(loads.read_text().split()) == 1
