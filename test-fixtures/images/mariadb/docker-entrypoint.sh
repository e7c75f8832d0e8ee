#!/bin/bash
# Entrypoint of the offline mariadb look-alike (a test fixture, written for
# this project). It honours the official image's documented contract, which
# the roles rely on:
#   MARIADB_ROOT_PASSWORD[_FILE] (or MARIADB_ALLOW_EMPTY_ROOT_PASSWORD /
#   MARIADB_RANDOM_ROOT_PASSWORD), MARIADB_DATABASE, MARIADB_USER,
#   MARIADB_PASSWORD[_FILE]; data in /var/lib/mysql, initialised on the first
#   start only (an existing datadir is used as it is, env passwords ignored);
#   /docker-entrypoint-initdb.d/*.sql and *.sh run once; options given after
#   the image name go to mariadbd, which runs as "mysql" and is exec'd (PID 1).
set -euo pipefail
shopt -s nullglob

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

say() { echo "[entrypoint] $*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

# Only options: run the server with them.
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- mariadbd "$@"
fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
  exec "$@"
fi

# Started as root: own the data and socket dirs, then drop to mysql.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$DATADIR" /run/mysqld
  chown -R mysql:mysql "$DATADIR" /run/mysqld
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi

# secret NAME: $NAME, or the content of the file $NAME_FILE names.
secret() {
  local file_var="${1}_FILE"
  if [ -n "${!1:-}" ] && [ -n "${!file_var:-}" ]; then
    fail "set $1 or $file_var, not both"
  fi
  if [ -n "${!file_var:-}" ]; then cat "${!file_var}"; else printf '%s' "${!1:-}"; fi
}
# Quote for SQL: a string literal, an identifier.
literal() { local s=${1//\\/\\\\}; printf "'%s'" "${s//\'/\\\'}"; }
ident() { printf '`%s`' "${1//\`/\`\`}"; }

client() { mariadb --protocol=socket --socket="$SOCKET" -uroot "$@"; }

initialise() {
  local root_pw user_pw check_pw pid
  root_pw=$(secret MARIADB_ROOT_PASSWORD)
  user_pw=$(secret MARIADB_PASSWORD)
  if [ -z "$root_pw" ]; then
    if [ -n "${MARIADB_RANDOM_ROOT_PASSWORD:-}" ]; then
      root_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
      say "GENERATED ROOT PASSWORD: $root_pw"
    elif [ -z "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-}" ]; then
      fail "database is uninitialised and no root password is set: give MARIADB_ROOT_PASSWORD," \
           "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD"
    fi
  fi
  if [ -n "${MARIADB_USER:-}" ] && [ -z "$user_pw" ]; then
    fail "MARIADB_USER is set without MARIADB_PASSWORD"
  fi

  say "first start: initialising $DATADIR"
  mariadb-install-db --datadir="$DATADIR" --skip-test-db --skip-name-resolve \
    --auth-root-authentication-method=normal >/dev/null

  # A temporary server on the socket only, so nothing connects half-way.
  "$@" --skip-networking --socket="$SOCKET" &
  pid=$!
  for _ in $(seq 1 60); do
    client -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || fail "temporary server exited during initialisation"
    sleep 1
  done
  client -e 'SELECT 1' >/dev/null || fail "temporary server did not answer within 60 s"

  # The healthcheck account may only connect; healthcheck.sh finds it in the
  # datadir. It connects over TCP, so the socket-only temporary server never
  # looks healthy.
  check_pw=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
  printf '[mariadb-client]\nuser=healthcheck\npassword=%s\nprotocol=tcp\nhost=127.0.0.1\n' "$check_pw" \
    >"$DATADIR/.my-healthcheck.cnf"
  chmod 0600 "$DATADIR/.my-healthcheck.cnf"

  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    # mariadb-install-db also made accounts for this container's host name.
    echo "DROP USER IF EXISTS ''@'localhost', ''@'$(hostname)', 'root'@'$(hostname)';"
    echo "CREATE USER 'healthcheck'@'127.0.0.1' IDENTIFIED BY $(literal "$check_pw");"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(literal "$root_pw");"
    echo "CREATE USER 'root'@'%' IDENTIFIED BY $(literal "$root_pw");"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "${MARIADB_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS $(ident "$MARIADB_DATABASE");"
    fi
    if [ -n "${MARIADB_USER:-}" ]; then
      echo "CREATE USER $(literal "$MARIADB_USER")@'%' IDENTIFIED BY $(literal "$user_pw");"
      if [ -n "${MARIADB_DATABASE:-}" ]; then
        # In GRANT, _ and % in a database name are wildcards: escape them.
        local grant_db=${MARIADB_DATABASE//_/\\_}
        echo "GRANT ALL ON $(ident "${grant_db//%/\\%}").* TO $(literal "$MARIADB_USER")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | client

  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) say "running $f"; client -p"$root_pw" ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} <"$f" ;;
      *.sql.gz) say "running $f"; gunzip -c "$f" | client -p"$root_pw" ${MARIADB_DATABASE:+"$MARIADB_DATABASE"} ;;
      *.sh) say "sourcing $f"; . "$f" ;;
      *) say "ignoring $f" ;;
    esac
  done

  mariadb-admin --protocol=socket --socket="$SOCKET" -uroot -p"$root_pw" shutdown
  wait "$pid" || true
  say "initialisation done"
}

# The mysql schema exists once the datadir has been initialised.
if [ ! -d "$DATADIR/mysql" ]; then
  initialise "$@"
fi
exec "$@"
