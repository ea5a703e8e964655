#!/usr/bin/env bash
# Builds every target with cargo-fuzz (nightly) and runs each for FUZZ_SECONDS (default
# 60) from the seeded corpus; exits non-zero on the first crash, leak or timeout, whose
# input cargo-fuzz keeps in artifacts/<target>/. The build goes to
# ~/.cache/cmpv2-rs/fuzz-target (FUZZ_TARGET_DIR), outside the clone, so a rerun is warm.
set -euo pipefail
cd "$(dirname "$0")"
SECS=${FUZZ_SECONDS:-60}
TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/cmpv2-rs/fuzz-target}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --version 0.13.2
./seed.sh
t0=$SECONDS
cargo +nightly fuzz build --target-dir "$TARGET_DIR"
echo "[fuzz] built in $((SECONDS - t0)) s"
for target in decode_message responder_handle client_receive checkpoint path_verifier; do
  t0=$SECONDS
  cargo +nightly fuzz run --target-dir "$TARGET_DIR" "$target" "corpus/$target" -- \
    -max_total_time="$SECS" -rss_limit_mb=2048 -print_final_stats=1 2>"corpus/$target.log" ||
    { tail -n 40 "corpus/$target.log" >&2; echo "[fuzz] $target FAILED (input in fuzz/artifacts/$target)"; exit 1; }
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "corpus/$target.log" | tail -n 1)
  echo "[fuzz] $target: ${runs:-?} runs in $((SECONDS - t0)) s, no crash"
done
