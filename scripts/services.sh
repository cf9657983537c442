#!/usr/bin/env bash
# Installs the services the realtime tests and benchmarks start themselves:
#   * ClickHouse (Debian's clickhouse-server) when missing;
#   * tansu, a Kafka-protocol broker, into $HOME/.cache/qdp-tools/bin when missing.
# Idempotent and quick when everything is present.
#
#   bash scripts/services.sh install
set -euo pipefail

TANSU_VERSION="0.6.0"
TOOLS="${HOME}/.cache/qdp-tools"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_clickhouse() {
  if command -v clickhouse-server >/dev/null 2>&1; then
    echo "clickhouse-server: present"
    return
  fi
  echo "clickhouse-server: installing Debian's package"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y --no-install-recommends clickhouse-server clickhouse-client \
    || { as_root apt-get update && as_root apt-get install -y --no-install-recommends clickhouse-server clickhouse-client; }
  # The package's own service is not used: tests start private servers.
  as_root sh -c 'command -v service >/dev/null && service clickhouse-server stop >/dev/null 2>&1 || true'
}

install_tansu() {
  if [ -x "${TOOLS}/bin/tansu" ]; then
    echo "tansu: present"
    return
  fi
  echo "tansu ${TANSU_VERSION}: building (once; cached in ${TOOLS})"
  CARGO_TARGET_DIR="${TOOLS}/build" cargo install --locked "tansu@${TANSU_VERSION}" \
    --features dynostore,libsql --root "${TOOLS}"
  rm -rf "${TOOLS}/build"
}

case "${1:-install}" in
  install)
    install_clickhouse
    install_tansu
    ;;
  *)
    echo "usage: scripts/services.sh install" >&2
    exit 2
    ;;
esac
