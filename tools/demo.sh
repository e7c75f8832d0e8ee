#!/usr/bin/env bash
# `make demo`: deploy the monolith into a disposable local Debian 13 host
# container with generated secrets and mock models, then say where to look.
# GRT_DEMO_HTTPS_PORT / GRT_DEMO_HTTP_PORT (8443 / 8080) pick the ports on 127.0.0.1.
# `make demo-clean` (tools/demo.sh clean) removes that container.
#
# Images: the real ones from Docker Hub when it answers; otherwise the
# offline image set of the test harness (look-alikes built from Debian
# packages, with contract stand-ins for CTFd and llm_router), said plainly.
# Plugin and theme: GitHub at the pinned commits when it answers; otherwise
# the fixture repositories of the test harness, said plainly too.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
# shellcheck source=../test-fixtures/harness/lib.sh
source test-fixtures/harness/lib.sh

name=grt-demo
state=$GRT_STATE_DIR/demo
https_port=${GRT_DEMO_HTTPS_PORT:-8443}
http_port=${GRT_DEMO_HTTP_PORT:-8080}

if [[ ${1:-} == clean ]]; then
  docker rm -f -v "$name" >/dev/null 2>&1 && log "removed the demo host $name" || log "no demo host $name to remove"
  rm -rf "$state"
  exit 0
fi

mkdir -p "$state"
extra=$state/vars.yml
: > "$extra"
notes=()

"$HARNESS_DIR/ensure-docker.sh"

# Docker Hub answers 401 on /v2/ when it is reachable.
if [[ $(curl -s -o /dev/null -m 8 -w '%{http_code}' https://registry-1.docker.io/v2/ || true) == 401 ]]; then
  hub=reachable
else
  hub=unreachable
fi
if timeout 15 git ls-remote https://github.com/aivillage/llm_verification.git HEAD >/dev/null 2>&1; then
  github=reachable
else
  github=unreachable
fi

# The demo host is the harness's systemd test host; its images come from Debian's archive.
"$HARNESS_DIR/build-base-images.sh"
"$HARNESS_DIR/build-images.sh"
"$HARNESS_DIR/registry.sh"

if [[ $hub == unreachable ]]; then
  notes+=("Docker Hub is unreachable from this machine, so the demo uses the OFFLINE IMAGE SET:"
          "  look-alikes of mariadb, redis and nginx built from Debian packages, and CONTRACT STAND-INS"
          "  for ctfd/ctfd:3.8.7 and aivillage/llm_router:dev (test fixtures, not the real CTFd or router),"
          "  served by a local registry that the demo host uses as its Docker Hub mirror.")
  cat >> "$extra" <<YAML
docker_host_registry_mirrors: [http://$GRT_REGISTRY_NAME:5000]
docker_host_insecure_registries: ["$GRT_REGISTRY_NAME:5000"]
YAML
fi
if [[ $github == unreachable ]]; then
  "$top/test-fixtures/upstream/make-repos.sh" "$GRT_STATE_DIR/upstream" >/dev/null
  # shellcheck disable=SC1091
  source "$GRT_STATE_DIR/upstream/shas.env"
  notes+=("GitHub is unreachable from this machine, so the plugin and the theme come from the"
          "  FIXTURE REPOSITORIES of the test harness (small stand-ins), not from aivillage's repositories.")
  cat >> "$extra" <<YAML
ctfd_image_plugin_repo: file://$GRT_STATE_DIR/upstream/llm_verification
ctfd_image_plugin_version: $LLM_VERIFICATION_SHA
ctfd_image_theme_repo: file://$GRT_STATE_DIR/upstream/aiv_ctfd_theme
ctfd_image_theme_version: $AIV_CTFD_THEME_SHA
YAML
fi
cat >> "$extra" <<YAML
# nginx listens on the ports the browser uses, so redirects and X-Forwarded-Port are right.
front_proxy_https_port: $https_port
front_proxy_http_port: $http_port
front_proxy_server_names: [localhost, 127.0.0.1]
YAML

for line in "${notes[@]}"; do log "$line"; done

# Generated secrets, exactly as an operator gets them.
tools/vault-init.sh

if ! docker inspect "$name" >/dev/null 2>&1; then
  log "starting the demo host $name (Debian 13, systemd) with ports $https_port and $http_port on 127.0.0.1"
  docker run -d --name "$name" --hostname "$name" --network "$GRT_TEST_NETWORK" \
    --cgroupns host \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add NET_RAW --cap-add MKNOD --cap-add SYS_PTRACE \
    --cap-add SYS_CHROOT --cap-add SYS_NICE --cap-add SYS_MODULE --cap-add IPC_LOCK --cap-add SETFCAP \
    --cap-add AUDIT_WRITE --cap-add DAC_READ_SEARCH \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw -v /var/lib/docker \
    -p "127.0.0.1:$https_port:$https_port" -p "127.0.0.1:$http_port:$http_port" \
    grt-test/host:trixie >/dev/null
fi

ansible-playbook site.yml -i inventories/demo -e "@$extra"

cat <<DONE

==============================================================================
 The GRT monolith runs in the container $name.
   Open:      https://127.0.0.1:$https_port/   (self-signed certificate: accept it)
   Admin:     user "admin", password = grt_ctfd_admin_password in the vault:
              ansible-vault view group_vars/all/secrets.yml
   Vendor keys (mock models need none): ansible-vault edit group_vars/router/keys.yml
   On the host: docker exec -it $name bash; cd /opt/grt/<ctfd|router|front>; docker compose ps
   Remove it:  make demo-clean
$(for line in "${notes[@]}"; do echo " NOTE: $line"; done)
==============================================================================
DONE
