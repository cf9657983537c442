#!/usr/bin/env bash
# Installs the services the realtime tests and benchmarks start themselves:
#   * ClickHouse (Debian's clickhouse-server) when missing;
#   * tansu, a Kafka-protocol broker, into $HOME/.cache/qdp-tools/bin when missing;
#   * s3s-fs, an S3-compatible server on a local folder (lake sink tests), likewise;
#   * pyiceberg (from PyPI, in a venv under $HOME/.cache/qdp-tools/pyiceberg), the
#     independent engine the Iceberg tests read qdp's tables back with.
# Idempotent and quick when everything is present.
#
#   bash scripts/services.sh install
set -euo pipefail

TANSU_VERSION="0.6.0"
# 0.14.1 is the last s3s-fs release that builds with rustc 1.95 (0.15 and later need 1.96).
S3S_FS_VERSION="0.14.1"
PYICEBERG_VERSION="0.12.0"
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

install_s3s_fs() {
  if [ -x "${TOOLS}/bin/s3s-fs" ]; then
    echo "s3s-fs: present"
    return
  fi
  echo "s3s-fs ${S3S_FS_VERSION}: building (once; cached in ${TOOLS})"
  CARGO_TARGET_DIR="${TOOLS}/build" cargo install --locked "s3s-fs@${S3S_FS_VERSION}" \
    --features binary --root "${TOOLS}"
  rm -rf "${TOOLS}/build"
}

install_pyiceberg() {
  local venv="${TOOLS}/pyiceberg"
  if [ -x "${venv}/bin/python" ] && "${venv}/bin/python" -c "import pyiceberg, pyarrow, sqlalchemy, psycopg2" 2>/dev/null; then
    echo "pyiceberg: present"
    return
  fi
  echo "pyiceberg ${PYICEBERG_VERSION}: installing into ${venv}"
  python3 -m venv "${venv}"
  "${venv}/bin/pip" install --quiet --disable-pip-version-check \
    "pyiceberg[sql-sqlite,sql-postgres,pyarrow]==${PYICEBERG_VERSION}"
}

case "${1:-install}" in
  install)
    install_clickhouse
    install_tansu
    install_s3s_fs
    install_pyiceberg
    ;;
  *)
    echo "usage: scripts/services.sh install" >&2
    exit 2
    ;;
esac
