#!/usr/bin/env bash
# Keeps real BouncyCastle messages as crates/cmp-proto test fixtures.
#
#   interop/bouncycastle/capture-fixtures.sh
#
# Runs run.sh (which uses the MAC credential and client certificate of
# crates/cmp-proto/tests/fixtures/keys, so the messages verify in fixtures.rs) with its
# work folder kept, then copies the messages BouncyCastle made into
# crates/cmp-proto/tests/fixtures/bouncycastle/{mac,sig}/, named BODY_what.der as
# fixtures.rs expects (the body type before the first underscore; MAC-protected under
# mac/, signed under sig/ and signed by keys/client.pem). Prints each file's
# messageTime as `openssl asn1parse` shows it.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DEST=$REPO/crates/cmp-proto/tests/fixtures/bouncycastle
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cmpv2-bc-fixtures.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

BC_INTEROP_WORK=$WORK BC_INTEROP_KEEP=1 "$HERE/run.sh"

mkdir -p "$DEST/mac" "$DEST/sig"
# destination <- source in the work folder (bc-client/: what BcClient sent; cmpv2/*.rsp*:
# what BcServer answered to cmpv2).
while read -r dest src; do
    cp "$WORK/$src" "$DEST/$dest"
    # The header's messageTime is the GeneralizedTime at depth 3 (PKIMessage > header > [0]).
    time=$(openssl asn1parse -inform DER -in "$DEST/$dest" | awk '/d=3 .*GENERALIZEDTIME/ { sub(/.*GENERALIZEDTIME *:/, ""); print; exit }')
    printf '%-42s %s\n' "$dest" "${time:-(no messageTime)}"
done <<'EOF'
mac/ir_bc-client-pbm.der bc-client/ir-pbm.1.ir.der
mac/certConf_bc-client-pbm.der bc-client/ir-pbm.2.certConf.der
mac/ir_bc-client-pbmac1-ms.der bc-client/ir-pbmac1-ms.1.ir.der
mac/ir_bc-client-no-messagetime.der bc-client/ir-no-time.1.ir.der
mac/p10cr_bc-client-pbm.der bc-client/p10cr-pbm.1.p10cr.der
mac/rr_bc-client-pbmac1.der bc-client/rr-pbmac1.1.rr.der
mac/genm_bc-client-pbmac1.der bc-client/genm-pbmac1.1.genm.der
sig/cr_bc-client-sig.der bc-client/cr-sig-other-ca.1.cr.der
mac/ip_bc-server-pbm.der cmpv2/ir-pbm.rsp1.der
mac/ip_bc-server-pbmac1.der cmpv2/ir-pbmac1.rsp1.der
mac/ip_bc-server-ms.der cmpv2/ir-ms.rsp1.der
mac/ip_bc-server-no-messagetime.der cmpv2/ir-notime.rsp1.der
mac/cp_bc-server-p10cr.der cmpv2/p10cr.rsp1.der
mac/cp_bc-server-p10cr-id0.der cmpv2/p10cr-id0.rsp1.der
mac/pkiConf_bc-server-pbm.der cmpv2/ir-pbm.rsp2.der
mac/rp_bc-server-pbmac1.der cmpv2/rr-pbmac1.rsp1.der
mac/genp_bc-server-pbm.der cmpv2/genm-pbm.rsp1.der
EOF
