#!/bin/bash
# healthcheck.sh of the offline mariadb look-alike (a test fixture, written
# for this project). Same call as the official image's script, for the checks
# the roles use:  healthcheck.sh --connect --innodb_initialized
# Every test named must pass; an unknown option fails.
set -uo pipefail

DATADIR=/var/lib/mysql
if [ -r "$DATADIR/.my-healthcheck.cnf" ]; then
  auth=(--defaults-extra-file="$DATADIR/.my-healthcheck.cnf")
else
  auth=(-uroot ${MARIADB_ROOT_PASSWORD:+-p"$MARIADB_ROOT_PASSWORD"} --protocol=tcp -h127.0.0.1)
fi
# TCP, not the socket: the server must accept network clients to be healthy.
query() { mariadb "${auth[@]}" --skip-column-names --batch -e "$1" 2>/dev/null; }

[ $# -gt 0 ] || set -- --connect
for test in "$@"; do
  case "$test" in
    --connect)
      query 'SELECT 1' >/dev/null || { echo "healthcheck: cannot connect" >&2; exit 1; } ;;
    --innodb_initialized)
      [ "$(query "SELECT 1 FROM information_schema.ENGINES WHERE engine='InnoDB' AND support IN ('YES','DEFAULT')")" = 1 ] \
        || { echo "healthcheck: InnoDB not initialised" >&2; exit 1; } ;;
    *)
      echo "healthcheck: unknown test $test" >&2; exit 1 ;;
  esac
done
