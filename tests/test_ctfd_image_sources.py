"""ctfd_image's controller side: plugin and theme fetched at their pins from any
git URL, the default fix and patch files applied, deterministic archives.

Runs the role's sources.yml on the controller against small git repositories
made here (the real ones are unreachable from the test machines).
"""

import json
import os
import pathlib
import subprocess
import sys
import tarfile
import textwrap

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent
DEFECT = "        if generation.account_id != get_current_user().id or not is_admin():\n"
FIXED = "        if generation.account_id != get_current_user().id and not is_admin():\n"


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout


def make_repo(path, files):
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, content in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(content)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "fixture")
    return git(path, "rev-parse", "HEAD").strip()


def repos(tmp_path, routes=DEFECT):
    plugin_sha = make_repo(tmp_path / "plugin", {
        "__init__.py": "def load(app):\n    pass\n",
        "llmv_routes.py": "def get_conversation(generation_id):\n" + routes + "            abort(403)\n",
        "assets/view.js": "console.log('view');\n"})
    theme_sha = make_repo(tmp_path / "theme", {
        "README.md": "theme repository\n",
        "pages/index.html": "<h1>Welcome to the Generative Red Team</h1>\n",
        "aiv-beta/templates/page.html": "{{ content }}\n",
        "aiv-beta/static/assets/main.js": "console.log('theme');\n"})
    return plugin_sha, theme_sha


def prepare(tmp_path, plugin_sha, theme_sha, **extra):
    variables = {
        "ctfd_image_plugin_repo": f"file://{tmp_path}/plugin", "ctfd_image_plugin_version": plugin_sha,
        "ctfd_image_theme_repo": f"file://{tmp_path}/theme", "ctfd_image_theme_version": theme_sha,
        "ctfd_image_controller_cache_dir": str(tmp_path / "cache"), **extra}
    playbook = tmp_path / "prepare.yml"
    playbook.write_text(textwrap.dedent(f"""\
        - name: Prepare the sources as the role does
          hosts: localhost
          connection: local
          gather_facts: false
          vars: {json.dumps(variables)}
          tasks:
            - name: Sources
              ansible.builtin.include_role:
                name: ctfd_image
                tasks_from: sources
            - name: Keep what was prepared
              ansible.builtin.copy:
                content: "{{{{ {{'prepared': _ctfd_image_prepared, 'index': ctfd_image_theme_index_html}} | to_json }}}}"
                dest: {tmp_path}/prepared.json
                mode: "0644"
        """))
    result = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook),
                             "-e", f"ansible_python_interpreter={sys.executable}"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300,
                            env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_ROLES_PATH=str(ROOT / "roles")))
    prepared = json.loads((tmp_path / "prepared.json").read_text()) if result.returncode == 0 else None
    return result, prepared


def member(archive, name):
    with tarfile.open(archive) as tar:
        return tar.extractfile(name).read().decode()


def recap_changed(output):
    return int(output.split("changed=")[-1].split()[0])


def test_fix_applied_archives_deterministic_and_idempotent(tmp_path):
    plugin_sha, theme_sha = repos(tmp_path)
    first, prepared = prepare(tmp_path, plugin_sha, theme_sha)
    assert first.returncode == 0, first.stdout + first.stderr
    plugin, theme = prepared["prepared"]["plugin"], prepared["prepared"]["theme"]
    assert plugin["commit"] == plugin_sha and theme["commit"] == theme_sha
    assert FIXED in member(plugin["archive"], "./llmv_routes.py")
    with tarfile.open(theme["archive"]) as tar:
        names = set(tar.getnames())
        assert all(m.uid == 0 and m.mtime == 0 for m in tar.getmembers())
    # Only the theme folder, at the archive's root (it becomes CTFd/themes/aiv-beta).
    assert "./static/assets/main.js" in names and "./templates/page.html" in names
    assert not any("README" in n or "pages" in n for n in names)
    assert prepared["index"].strip() == "<h1>Welcome to the Generative Red Team</h1>"

    second, again = prepare(tmp_path, plugin_sha, theme_sha)
    assert second.returncode == 0, second.stdout
    assert recap_changed(second.stdout) == 0, second.stdout
    assert again["prepared"] == prepared["prepared"]


def test_without_the_default_fix_the_source_is_untouched(tmp_path):
    plugin_sha, theme_sha = repos(tmp_path)
    result, prepared = prepare(tmp_path, plugin_sha, theme_sha, ctfd_image_plugin_default_fix=False)
    assert result.returncode == 0, result.stdout
    assert DEFECT in member(prepared["prepared"]["plugin"]["archive"], "./llmv_routes.py")


def test_patch_files_are_applied_in_order(tmp_path):
    plugin_sha, theme_sha = repos(tmp_path)
    patch = tmp_path / "banner.patch"
    patch.write_text(textwrap.dedent("""\
        --- a/assets/view.js
        +++ b/assets/view.js
        @@ -1 +1,2 @@
         console.log('view');
        +console.log('patched for the event');
        """))
    result, prepared = prepare(tmp_path, plugin_sha, theme_sha, ctfd_image_plugin_patches=[str(patch)])
    assert result.returncode == 0, result.stdout
    assert "patched for the event" in member(prepared["prepared"]["plugin"]["archive"], "./assets/view.js")


def test_a_patch_that_does_not_apply_fails_the_play(tmp_path):
    plugin_sha, theme_sha = repos(tmp_path)
    patch = tmp_path / "stale.patch"
    patch.write_text("--- a/assets/view.js\n+++ b/assets/view.js\n@@ -1 +1 @@\n-console.log('other');\n+x\n")
    result, _ = prepare(tmp_path, plugin_sha, theme_sha, ctfd_image_plugin_patches=[str(patch)])
    assert result.returncode != 0
    assert "patch does not apply" in result.stdout + result.stderr


def test_default_fix_says_so_when_upstream_changed(tmp_path):
    plugin_sha, theme_sha = repos(tmp_path, routes="        if not can_view(generation):\n")
    result, _ = prepare(tmp_path, plugin_sha, theme_sha)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "has neither the known defective access check nor its corrected form" in output
    assert "ctfd_image_plugin_default_fix: false" in output
