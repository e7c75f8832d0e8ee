#!/bin/sh
# Entrypoint of the offline redis look-alike (a test fixture, written for this
# project). As the official image does: options alone mean "redis-server
# <options>"; /data belongs to the redis user, who runs the server. The
# official binary defaults to protected-mode off (so other containers can
# connect without a password); Debian's does not, so unless the command line
# says otherwise, turn it off here.
set -e
case "${1:-}" in
  -*|*.conf) set -- redis-server "$@" ;;
esac
if [ "${1:-}" = redis-server ]; then
  case " $* " in
    *" --protected-mode "*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    chown -R redis:redis /data
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
