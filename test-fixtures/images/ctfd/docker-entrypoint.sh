#!/bin/bash
# Entrypoint of the CTFd stand-in (a test fixture written for this project).
# Same contract as ctfd/ctfd:3.8.7's entrypoint: WORKERS (1), WORKER_CLASS
# (gevent), ACCESS_LOG/ERROR_LOG (-), WORKER_TEMP_DIR (/dev/shm), SECRET_KEY,
# SKIP_DB_PING; refuse WORKERS>1 without SECRET_KEY or .ctfd_secret_key; wait
# for the database; "db upgrade" (creates the app: plugins load here and a
# failing plugin stops the container, exit 1); then gunicorn on 0.0.0.0:8000,
# every worker creating the app again.
set -euo pipefail

WORKERS=${WORKERS:-1}
WORKER_CLASS=${WORKER_CLASS:-gevent}
ACCESS_LOG=${ACCESS_LOG:--}
ERROR_LOG=${ERROR_LOG:--}
WORKER_TEMP_DIR=${WORKER_TEMP_DIR:-/dev/shm}
SECRET_KEY=${SECRET_KEY:-}
SKIP_DB_PING=${SKIP_DB_PING:-false}

if [ ! -f .ctfd_secret_key ] && [ -z "$SECRET_KEY" ] && [ "$WORKERS" -gt 1 ]; then
  echo "[ ERROR ] WORKERS=$WORKERS needs a shared secret: set SECRET_KEY or create /opt/CTFd/.ctfd_secret_key."
  echo "[ ERROR ] Exiting..."
  exit 1
fi

if [[ "$SKIP_DB_PING" == "false" ]]; then
  python ping.py
fi

python manage.py db upgrade

echo "Starting CTFd"
exec python -m gunicorn 'CTFd:create_app()' \
  --bind '0.0.0.0:8000' \
  --workers "$WORKERS" \
  --worker-tmp-dir "$WORKER_TEMP_DIR" \
  --worker-class "$WORKER_CLASS" \
  --access-logfile "$ACCESS_LOG" \
  --error-logfile "$ERROR_LOG"
