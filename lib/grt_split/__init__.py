"""The controller's way to the Molecule `split` scenario's hosts.

Used by the scenario's tests (molecule/split/tests) and by `make bench`
(bench/split.py); installed editable into .venv by `make deps`.

The controller (where pytest or the bench runs) is the "third vantage point":
outside both test hosts, on the harness network grt-test, it reaches the
remote proxy's published port and the fake vendor directly, and the nested
containers through `docker exec` into the test hosts.

  scenario     host names, the run's vaulted secrets and fixture pins
  hosts        docker on the controller, commands on the test hosts, cutting the link
  client       link_client.py run inside a container of a test host
  link_client  the router client itself (stdlib only; run, never imported)
  vendor       the fake vendor's control and call log
"""
