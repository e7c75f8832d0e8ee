#!/usr/bin/env python3
"""Keep every role's defaults, argument specs and the README's variable table in step.

  argument_specs.py check   every role has meta/argument_specs.yml; each entry point lists exactly
                            the keys of defaults/main.yml, each with a default equal to it; the
                            README's generated table is current
  argument_specs.py docs    rewrite the README's variable table from the specs
"""

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BEGIN = "<!-- BEGIN GENERATED VARIABLES (tools/argument_specs.py docs) -->"
END = "<!-- END GENERATED VARIABLES -->"


def load_yaml(path):
    with open(path, encoding="utf-8") as stream:
        return yaml.safe_load(stream) or {}


def roles(root):
    # Roles with tasks, and defaults-only roles such as grt_common (they have specs).
    return sorted(p for p in (root / "roles").iterdir()
                  if (p / "tasks").is_dir() or (p / "meta" / "argument_specs.yml").is_file())


def role_problems(role):
    """Everything wrong between one role's defaults and its argument specs, as sentences."""
    problems = []
    specs_file = role / "meta" / "argument_specs.yml"
    if not specs_file.exists():
        return [f"{role.name}: meta/argument_specs.yml is missing"]
    defaults_file = role / "defaults" / "main.yml"
    defaults = load_yaml(defaults_file) if defaults_file.exists() else {}
    entry_points = load_yaml(specs_file).get("argument_specs") or {}
    if "main" not in entry_points:
        problems.append(f"{role.name}: argument_specs has no 'main' entry point")
    for entry, spec in entry_points.items():
        options = (spec or {}).get("options") or {}
        where = f"{role.name} ({entry})"
        for key in sorted(set(defaults) - set(options)):
            problems.append(f"{where}: {key} is in defaults/main.yml but not in argument_specs")
        for key in sorted(set(options) - set(defaults)):
            problems.append(f"{where}: {key} is in argument_specs but not in defaults/main.yml")
        for key in sorted(set(options) & set(defaults)):
            option = options[key] or {}
            if "default" not in option:
                problems.append(f"{where}: {key} has no default in argument_specs")
            elif option["default"] != defaults[key]:
                problems.append(
                    f"{where}: {key} defaults to {defaults[key]!r} in defaults/main.yml"
                    f" but {option['default']!r} in argument_specs"
                )
            if not option.get("description"):
                problems.append(f"{where}: {key} has no description")
    for key in defaults:
        if not key.startswith(role.name + "_"):
            problems.append(f"{role.name}: default {key} does not start with '{role.name}_'")
    return problems


def _cell(text):
    text = " ".join(text) if isinstance(text, list) else str(text)
    text = re.sub(r"[CIOV]\(([^)]*)\)", r"`\1`", text)  # ansible-doc markup to Markdown
    return text.replace("|", "\\|").replace("\n", " ")


def variables_table(root):
    lines = []
    for role in roles(root):
        spec = load_yaml(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]
        lines += ["", f"#### Role `{role.name}`", "", _cell(spec.get("short_description", "")), ""]
        lines += ["| Variable | Type | Default | Description |", "| --- | --- | --- | --- |"]
        for key, option in spec.get("options", {}).items():
            kind = option.get("type", "str")
            if option.get("choices"):
                kind += " (" + ", ".join(map(str, option["choices"])) + ")"
            default = yaml.safe_dump(option.get("default"), default_flow_style=True, width=1000).strip()
            default = default.removesuffix("...").strip()
            lines.append(f"| `{key}` | {kind} | `{default}` | {_cell(option.get('description', ''))} |")
    return "\n".join(lines) + "\n"


def readme_with_table(root):
    readme = (root / "README.md").read_text(encoding="utf-8")
    if BEGIN not in readme or END not in readme:
        raise SystemExit(f"README.md lacks the markers {BEGIN} … {END}")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return readme, head + BEGIN + "\n" + variables_table(root) + END + tail


def main(argv):
    command = argv[1] if len(argv) > 1 else "check"
    root = pathlib.Path(argv[2]) if len(argv) > 2 else ROOT
    if command == "docs":
        _, updated = readme_with_table(root)
        (root / "README.md").write_text(updated, encoding="utf-8")
        return 0
    if command != "check":
        print(__doc__, file=sys.stderr)
        return 2
    problems = [problem for role in roles(root) for problem in role_problems(role)]
    current, updated = readme_with_table(root)
    if current != updated:
        problems.append("README.md's variable table is out of date: run `make docs`")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"argument specs: {len(roles(root))} role(s) agree with their defaults and the README")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
