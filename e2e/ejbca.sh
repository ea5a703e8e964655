#!/usr/bin/env bash
# The client against a real EJBCA CE 8.2, the kit in ../shared/ejbca (its README says what
# it holds: ManagementCA and five CMP aliases).
#
#   e2e/ejbca.sh start      set the kit up in $EJBCA_DIR and start it (idempotent);
#                           fails when EJBCA cannot start
#   e2e/ejbca.sh test       run the suites (cargo test --test ejbca --test ejbca_probe)
#                           against the running one
#   e2e/ejbca.sh stop       stop it
#   e2e/ejbca.sh            start, test, stop
#
# EJBCA_KIT (default: ../shared/ejbca beside the clone) and EJBCA_DIR (default
# ~/.cache/cmpv2-rs/ejbca, outside the clone so a rerun reuses WildFly and the database)
# say where the kit and the installation are. The database is put back to the kit's
# snapshot at every start, so each run sees the same CA and aliases.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export EJBCA_KIT=${EJBCA_KIT:-$(cd "$REPO/.." && pwd)/shared/ejbca}
EJBCA_DIR=${EJBCA_DIR:-$HOME/.cache/cmpv2-rs/ejbca}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cmpv2-rs/target}"

log() { printf '[ejbca %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

[ -x "$EJBCA_KIT/start.sh" ] || { log "error: no EJBCA kit at $EJBCA_KIT (set EJBCA_KIT)"; exit 1; }

start() {
  local t0=$SECONDS
  # A leftover from an earlier run is stopped first, so the database can be reset.
  "$EJBCA_KIT/stop.sh" "$EJBCA_DIR" >/dev/null 2>&1 || true
  "$EJBCA_KIT/setup.sh" "$EJBCA_DIR" --reset-db
  "$EJBCA_KIT/start.sh" "$EJBCA_DIR"
  log "EJBCA set up and started in $((SECONDS - t0)) s"
}

run_suite() {
  local t0=$SECONDS
  (cd "$REPO" && cargo test --locked -p cmpv2-examples --test ejbca --test ejbca_probe)
  log "EJBCA suite ran in $((SECONDS - t0)) s"
}

stop() { "$EJBCA_KIT/stop.sh" "$EJBCA_DIR"; }

case "${1:-all}" in
  start) start ;;
  test) run_suite ;;
  stop) stop ;;
  all)
    start
    trap stop EXIT
    run_suite
    ;;
  *) log "usage: e2e/ejbca.sh [start|test|stop]"; exit 64 ;;
esac
