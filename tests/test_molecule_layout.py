"""The Molecule scenarios' layout: `molecule test` as typed has a scenario to run,
and no two scenarios create a container of the same name (the engine's names are
global: destroying one scenario would remove the other's host while it runs).
"""

import collections
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / ".config" / "molecule" / "config.yml").read_text())
SCENARIOS = {p.parent.name: yaml.safe_load(p.read_text()) or {} for p in (ROOT / "molecule").glob("*/molecule.yml")}


def test_the_default_scenario_is_the_monolith():
    # "default" is the scenario a bare `molecule test` runs: one host in both ctfd and router.
    hosts = [p for p in SCENARIOS["default"]["platforms"] if "docker_hosts" in p["groups"]]
    assert len(hosts) == 1 and {"ctfd", "router"} <= set(hosts[0]["groups"]), hosts


def test_platform_names_are_unique_across_scenarios():
    owners = collections.defaultdict(list)
    for scenario, config in SCENARIOS.items():
        # A scenario without platforms of its own gets the base config's (lists are replaced whole).
        for platform in config.get("platforms", BASE["platforms"]):
            owners[platform["name"]].append(scenario)
    assert {name: users for name, users in owners.items() if len(users) > 1} == {}
