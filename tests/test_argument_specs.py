"""The defaults/specs/README checker must catch each kind of drift it claims to."""

import importlib.util
import pathlib
import shutil

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("argument_specs", ROOT / "tools" / "argument_specs.py")
argument_specs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(argument_specs)


@pytest.fixture
def tree(tmp_path):
    """A copy of the project's roles and README to break on purpose."""
    shutil.copytree(ROOT / "roles", tmp_path / "roles")
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def edit_yaml(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_the_project_passes(tree):
    assert argument_specs.main(["x", "check", str(tree)]) == 0


def test_a_default_missing_from_the_specs_is_reported(tree, capsys):
    edit_yaml(tree / "roles/docker_host/defaults/main.yml", lambda d: d.update(docker_host_extra_knob=1))
    assert argument_specs.main(["x", "check", str(tree)]) == 1
    assert "docker_host_extra_knob is in defaults/main.yml but not in argument_specs" in capsys.readouterr().err


def test_a_spec_missing_from_the_defaults_is_reported(tree, capsys):
    edit_yaml(tree / "roles/docker_host/defaults/main.yml", lambda d: d.pop("docker_host_users"))
    assert argument_specs.main(["x", "check", str(tree)]) == 1
    assert "docker_host_users is in argument_specs but not in defaults/main.yml" in capsys.readouterr().err


def test_different_default_values_are_reported(tree, capsys):
    edit_yaml(
        tree / "roles/docker_host/defaults/main.yml",
        lambda d: d.update(docker_host_install_source="docker"),
    )
    assert argument_specs.main(["x", "check", str(tree)]) == 1
    assert "docker_host_install_source defaults to 'docker'" in capsys.readouterr().err


def test_a_stale_readme_table_is_reported_and_docs_fixes_it(tree, capsys):
    def reword(data):
        data["argument_specs"]["main"]["options"]["docker_host_users"]["description"] = ["Reworded."]

    specs = tree / "roles/docker_host/meta/argument_specs.yml"
    edit_yaml(specs, reword)
    assert argument_specs.main(["x", "check", str(tree)]) == 1
    assert "variable table is out of date" in capsys.readouterr().err
    assert argument_specs.main(["x", "docs", str(tree)]) == 0
    assert argument_specs.main(["x", "check", str(tree)]) == 0
    assert "| `docker_host_users` | list | `[]` | Reworded. |" in (tree / "README.md").read_text()
