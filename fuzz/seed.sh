#!/usr/bin/env bash
# Seeds the corpus with the real OpenSSL messages kept as test fixtures
# (named after their path, since mac/ and sig/ hold the same file names).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/decode_message
fixtures=../crates/cmp-proto/tests/fixtures
while IFS= read -r f; do
  rel=${f#"$fixtures"/}
  cp "$f" "corpus/decode_message/${rel//\//_}"
done < <(find "$fixtures" -name '*.der')
ls corpus/decode_message | wc -l
