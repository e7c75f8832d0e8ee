#!/usr/bin/env bash
# Make a Docker engine reachable for the tests: use the one that answers, or,
# as root on Debian, install Debian's docker.io and start dockerd in the
# background (this machine kind has no systemd as PID 1), then wait for it.
source "$(dirname "$0")/lib.sh"

need_pkgs=()
command -v debootstrap >/dev/null || need_pkgs+=(debootstrap)
command -v curl >/dev/null || need_pkgs+=(curl)

if docker info >/dev/null 2>&1; then
  log "docker engine reachable: $(docker version --format '{{.Server.Version}}')"
else
  [ "$(id -u)" = 0 ] || die "no Docker engine reachable and not root: start one, or run as root"
  [ -f /etc/debian_version ] || die "no Docker engine reachable; automatic install only on Debian"
  command -v dockerd >/dev/null || need_pkgs+=(docker.io)
fi

if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  mkdir -p "$GRT_STATE_DIR"
  log "starting dockerd in the background (log: $GRT_STATE_DIR/dockerd.log)"
  nohup dockerd >"$GRT_STATE_DIR/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -20 "$GRT_STATE_DIR/dockerd.log" >&2; die "dockerd did not answer within 60 s"; }
  log "docker engine started: $(docker version --format '{{.Server.Version}}')"
fi
