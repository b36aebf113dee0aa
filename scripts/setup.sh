#!/usr/bin/env bash
# Makes sure this machine can build dentsynth and run its managed PostgreSQL.
# Installs the PostgreSQL server with apt-get when it is missing and we are root; otherwise says how.
set -euo pipefail

have_postgres() {
    local dirs=()
    if [ -n "${DENTSYNTH_PG_BIN:-}" ]; then
        dirs=("$DENTSYNTH_PG_BIN")
    else
        IFS=: read -r -a dirs <<< "${PATH:-}"
        dirs+=(/usr/lib/postgresql/*/bin /usr/pgsql-*/bin /opt/homebrew/opt/postgresql*/bin /usr/local/opt/postgresql*/bin)
    fi
    local dir
    for dir in "${dirs[@]}"; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then
            return 0
        fi
    done
    return 1
}

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found: install Rust (https://rustup.rs) and run this again" >&2
    exit 2
fi

if have_postgres; then
    exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL server binaries not found: installing them with apt-get" >&2
    # dentsynth manages its own cluster: do not let the package create and start a system one.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
    if have_postgres; then
        exit 0
    fi
fi

echo "error: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) or set DENTSYNTH_PG_BIN to their folder" >&2
exit 2
