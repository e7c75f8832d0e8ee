"""grt_common's grt_files action: one remote call when nothing differs, the builtins for what does.

Real ansible-playbook runs on localhost (local connection) in a temporary directory."""

import base64
import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
TEMPLATE = "name={{ demo_name }}\n{% for i in range(2) %}\nline {{ i }}\n{% endfor %}\nmanaged={{ ansible_managed is defined }}\n"


@pytest.fixture()
def demo(tmp_path):
    role = tmp_path / "roles" / "demo"
    for folder in ("tasks", "templates", "files", "meta"):
        (role / folder).mkdir(parents=True)
    (role / "meta" / "main.yml").write_text("dependencies: [grt_common]\n")
    (role / "templates" / "a.conf.j2").write_text(TEMPLATE)
    (role / "files" / "prog").write_text("#!/bin/sh\necho hi\n")
    out = tmp_path / "out"
    (role / "tasks" / "main.yml").write_text(textwrap.dedent(f"""\
        - name: Read the paths first (as compose_stack_state does)
          grt_files_state:
            paths: [{out}, {out}/sub, {out}/a.conf, {out}/prog, {out}/pass, {out}/gone]
            contents: [{out}/prog]
          register: demo_read
          when: demo_read_first | default(false) | bool
        - name: Change a path after the read
          ansible.builtin.file:
            path: {out}/prog
            mode: "0700"
          when: demo_change_after_read | default(false) | bool
        - name: Demo files
          grt_files:
            states: "{{{{ demo_read.states if demo_read_first | default(false) | bool else omit }}}}"
            items:
              - {{path: {out}, state: directory, mode: "0750"}}
              - {{path: {out}/sub, state: directory, mode: "0700", owner: 0, group: "0"}}
              - {{dest: {out}/a.conf, template: a.conf.j2, mode: "0644", validate: "grep -q '^name=[a-z]*$' %s"}}
              - {{dest: {out}/prog, src: prog, mode: "0750"}}
              - {{dest: {out}/pass, content: "{{{{ demo_secret }}}}", mode: "0600", secret: true}}
              - {{path: {out}/gone, state: absent}}
          register: demo_out
        - name: Keep the result
          ansible.builtin.copy:
            content: "{{{{ demo_out | to_json }}}}"
            dest: {tmp_path}/result.json
            mode: "0644"
          delegate_to: localhost
          check_mode: false
        - name: The builtin template renders the same bytes
          ansible.builtin.template:
            src: a.conf.j2
            dest: {tmp_path}/builtin.conf
            mode: "0644"
          check_mode: false
        """))
    (tmp_path / "play.yml").write_text(textwrap.dedent("""\
        - name: Demo
          hosts: localhost
          connection: local
          gather_facts: false
          roles: [demo]
        """))
    return tmp_path


def run(base, *extra, name="abc", secret="s3cret-value"):
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(base / "play.yml"), "--diff", "-v",
         "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"demo_name={name}",
         "-e", f"demo_secret={secret}", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_ROLES_PATH=f"{base / 'roles'}:{ROOT / 'roles'}"))
    data = json.loads((base / "result.json").read_text()) if (base / "result.json").exists() else None
    (base / "result.json").unlink(missing_ok=True)
    return result, data


def by(data):
    return {pathlib.Path(p["path"]).name: p for p in data["paths"]}


def test_writes_then_matches_without_the_builtins(demo):
    out = demo / "out"
    (out).mkdir(mode=0o755)
    (out / "gone").write_text("old")
    first, data = run(demo)
    assert first.returncode == 0, first.stdout + first.stderr
    assert data["changed"] and all(p["changed"] and p["by"] == "builtin" for p in data["paths"]), data
    assert (out / "a.conf").read_bytes() == (demo / "builtin.conf").read_bytes()
    assert oct((out / "prog").stat().st_mode & 0o777) == "0o750" and oct(out.stat().st_mode & 0o777) == "0o750"
    assert (out / "pass").read_text() == "s3cret-value" and not (out / "gone").exists()
    second, data = run(demo)
    assert second.returncode == 0 and not data["changed"], data
    # The fast path: every path matched in the one state call, the builtins were not asked.
    assert all(p["by"] == "state" and not p["changed"] for p in data["paths"]), data
    assert "s3cret-value" not in first.stdout + second.stdout


def test_check_mode_reports_and_diffs_without_writing(demo):
    assert run(demo)[0].returncode == 0
    before = (demo / "out" / "a.conf").read_text()
    (demo / "out" / "sub").chmod(0o755)
    checked, data = run(demo, "--check", name="xyz", secret="other-secret")
    assert checked.returncode == 0, checked.stdout
    changed = {name for name, p in by(data).items() if p["changed"]}
    assert changed == {"a.conf", "sub", "pass"}, data
    assert "-name=abc" in checked.stdout and "+name=xyz" in checked.stdout, checked.stdout
    assert "other-secret" not in checked.stdout and "s3cret-value" not in checked.stdout
    assert (demo / "out" / "a.conf").read_text() == before
    assert oct((demo / "out" / "sub").stat().st_mode & 0o777) == "0o755"


def test_a_file_failing_validate_leaves_the_live_one(demo):
    assert run(demo)[0].returncode == 0
    failed, _data = run(demo, name="NOT-valid")
    assert failed.returncode != 0 and "a.conf: failed to validate" in failed.stdout, failed.stdout
    assert (demo / "out" / "a.conf").read_text().startswith("name=abc\n")


def test_states_read_before_are_used_and_not_asked_again(demo):
    assert run(demo)[0].returncode == 0
    prog = demo / "out" / "prog"
    read, data = run(demo, "-e", "demo_read_first=true")
    assert read.returncode == 0 and not data["changed"], read.stdout
    assert all(p["by"] == "state" for p in data["paths"]), data
    # A path changed after the read is not seen: the host is not asked again (the action's contract - only a read
    # made after the last change to those paths may be passed) ...
    stale, data = run(demo, "-e", "demo_read_first=true", "-e", "demo_change_after_read=true")
    assert stale.returncode == 0 and not by(data)["prog"]["changed"], data
    assert oct(prog.stat().st_mode & 0o777) == "0o700"
    # ... and a run that reads for itself puts it back.
    fixed, data = run(demo)
    assert fixed.returncode == 0 and by(data)["prog"]["changed"] and by(data)["prog"]["by"] == "builtin", data
    assert oct(prog.stat().st_mode & 0o777) == "0o750"


def test_the_state_module_returns_asked_contents(demo, tmp_path):
    assert run(demo)[0].returncode == 0
    result = subprocess.run(
        [str(BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", "grt_files_state",
         "-a", json.dumps({"paths": [str(demo / "out")], "contents": [str(demo / "out" / "prog"), str(tmp_path / "none")]}),
         "-e", f"ansible_python_interpreter={sys.executable}", "-o"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_LIBRARY=str(ROOT / "roles" / "grt_common" / "library"),
                 ANSIBLE_MODULE_UTILS=str(ROOT / "roles" / "grt_common" / "module_utils")))
    assert result.returncode == 0, result.stdout + result.stderr
    states = json.loads(result.stdout.split("=>", 1)[1])["states"]
    assert states[str(demo / "out")]["type"] == "directory" and "content" not in states[str(demo / "out")]
    prog = states[str(demo / "out" / "prog")]
    assert base64.b64decode(prog["content"]) == (demo / "out" / "prog").read_bytes() and prog["mode"] == "0750"
    assert states[str(tmp_path / "none")] == {"exists": False}
