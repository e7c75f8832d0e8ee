#!/usr/bin/env bash
# The tests' own vault password file (the scenarios' ANSIBLE_VAULT_PASSWORD_FILE),
# made once per machine like `make vault` makes .vault-pass for a deployment.
source "$(dirname "$0")/lib.sh"
mkdir -p "$GRT_STATE_DIR"
if [ ! -s "$GRT_STATE_DIR/vault-pass" ]; then
  (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$GRT_STATE_DIR/vault-pass")
  log "test vault password file: $GRT_STATE_DIR/vault-pass"
fi
