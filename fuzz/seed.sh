#!/usr/bin/env bash
# Seeds each target's corpus from the real messages and certificates kept as test
# fixtures (OpenSSL's and BouncyCastle's), named after their path.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../crates/cmp-proto/tests/fixtures
mkdir -p corpus/{decode_message,responder_handle,client_receive,checkpoint,path_verifier}
while IFS= read -r f; do
  rel=${f#"$fixtures"/}
  name=${rel//\//_}
  cp "$f" "corpus/decode_message/$name"
  cp "$f" "corpus/responder_handle/$name"
  # client_receive: the first byte picks the transaction (ir, rr, genm).
  for t in 0 1 2; do
    { printf "\\x0$t"; cat "$f"; } >"corpus/client_receive/$t-$name"
  done
done < <(find "$fixtures" -name '*.der')
# path_verifier: a leaf and its issuers, DER one after another.
der() { openssl x509 -in "$fixtures/keys/$1" -outform DER; }
for leaf in ee server client; do
  { der "$leaf.pem"; der root.pem; } >"corpus/path_verifier/$leaf-root"
done
for t in decode_message responder_handle client_receive checkpoint path_verifier; do
  echo "$t: $(ls "corpus/$t" | wc -l) seeds"
done
