#!/usr/bin/env bash
# BouncyCastle 1.87 (bcpkix/bcprov-jdk18on) as a second, independent CMP reference peer.
#
#   interop/bouncycastle/run.sh
#
#  1. builds the Java client and server with Maven (dependencies cached in
#     $BC_INTEROP_M2, default ~/.cache/cmpv2-rs/m2; offline once they are there) and
#     `cmpv2` with cargo (CARGO_TARGET_DIR, default ~/.cache/cmpv2-rs/target);
#  2. starts `cmpv2 serve` on a free loopback port and runs BcClient against it: ir, cr,
#     kur, p10cr, rr, genm caCerts and certConf/pkiConf with PasswordBasedMac, PBMAC1 and
#     signatures, every answer verified by BouncyCastle;
#  3. starts BcServer (a BouncyCastle CA over RFC 6712 HTTP) and runs `cmpv2 enroll`,
#     `update`, `revoke` and `genm` against it, checking each certificate with
#     `openssl verify -CAfile` and against its key;
#  4. prints one `PASS name` or `FAIL name: reason` line per case and `N passed, N failed`;
#     exits 1 when any failed.
# Every process it started is stopped on exit. The work folder (logs, every message
# exchanged as DER, keys and certificates) is kept when a case fails, or always with
# BC_INTEROP_KEEP=1; BC_INTEROP_WORK=DIR chooses it.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cmpv2-rs/target}"
M2=${BC_INTEROP_M2:-$HOME/.cache/cmpv2-rs/m2}
CMPV2=$CARGO_TARGET_DIR/debug/cmpv2
CP="$HERE/target/classes:$HERE/target/lib/*"
# The MAC credential and the client certificate of crates/cmp-proto's OpenSSL fixtures, so
# that the BouncyCastle messages kept as fixtures (capture-fixtures.sh) verify there too.
FIXTURE_KEYS=$REPO/crates/cmp-proto/tests/fixtures/keys
REF=$(cat "$FIXTURE_KEYS/ref.txt")
SECRET=$(cat "$FIXTURE_KEYS/secret.txt")
WORK=${BC_INTEROP_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/cmpv2-bc-interop.XXXXXX")}
mkdir -p "$WORK"

log() { printf '[bc-interop %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

PIDS=()
PASSED=0
FAILED=0
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    if [ "$FAILED" -gt 0 ] || [ "${BC_INTEROP_KEEP:-0}" = 1 ]; then
        log "work folder kept: $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass() { echo "PASS $1"; PASSED=$((PASSED + 1)); }
fail() { echo "FAIL $1: $2"; FAILED=$((FAILED + 1)); }
finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}
# One line of text from a command's output (for FAIL lines).
oneline() { tr '\n' ' ' <"$1" | sed 's/  */ /g; s/ $//'; }

# Waits for PID to print "PREFIX URL" into FILE; prints URL.
wait_listening() {
    local file=$1 prefix=$2 pid=$3 i
    for i in $(seq 1 600); do
        if grep -q "^$prefix" "$file" 2>/dev/null; then
            sed -n "s#^$prefix##p" "$file" | head -n 1
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- build
log "building the Java peer (maven, repository $M2)"
MVN=(mvn -B -q -Dmaven.repo.local="$M2" -f "$HERE/pom.xml" package)
if ! "${MVN[@]}" -o >"$WORK/mvn.log" 2>&1; then
    log "offline build failed, fetching from Maven Central"
    if ! "${MVN[@]}" >"$WORK/mvn.log" 2>&1; then
        fail "maven build" "$(tail -n 20 "$WORK/mvn.log" | tr '\n' ' ')"
        finish
    fi
fi
log "building cmpv2 (cargo build --locked, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
if ! (cd "$REPO" && cargo build --locked -q -p cmpv2-examples) >"$WORK/cargo.log" 2>&1; then
    fail "cargo build" "$(tail -n 20 "$WORK/cargo.log" | tr '\n' ' ')"
    finish
fi

# ---------------------------------------------------------------- BouncyCastle client -> cmpv2 serve
log "BouncyCastle client against cmpv2 serve"
"$CMPV2" serve --listen 127.0.0.1:0 --ref "$REF" --secret "pass:$SECRET" --dir "$WORK/serve-ca" \
    --trusted "$FIXTURE_KEYS/root.pem" \
    >"$WORK/serve.out" 2>"$WORK/serve.log" </dev/null &
PIDS+=($!)
if SERVE_URL=$(wait_listening "$WORK/serve.out" "cmpv2 serve: listening on " "$!"); then
    java -cp "$CP" cmpinterop.BcClient --server "${SERVE_URL}pkix/" --ref "$REF" --secret "$SECRET" \
        --trusted "$WORK/serve-ca/ca.pem" --out "$WORK/bc-client" \
        --other-cert "$FIXTURE_KEYS/client.pem" --other-key "$FIXTURE_KEYS/client.key" \
        >"$WORK/bc-client.out" 2>&1 </dev/null
    rc=$?
    grep -E '^(PASS|FAIL) ' "$WORK/bc-client.out"
    PASSED=$((PASSED + $(grep -c '^PASS ' "$WORK/bc-client.out")))
    n_fail=$(grep -c '^FAIL ' "$WORK/bc-client.out")
    FAILED=$((FAILED + n_fail))
    if [ "$rc" -ne 0 ] && [ "$n_fail" -eq 0 ]; then
        fail "bc-client runs" "exit $rc: $(tail -n 5 "$WORK/bc-client.out" | tr '\n' ' ')"
    fi
else
    fail "cmpv2 serve starts" "$(oneline "$WORK/serve.log")"
fi

# ---------------------------------------------------------------- cmpv2 -> BouncyCastle server
log "cmpv2 against the BouncyCastle server"
C="$WORK/cmpv2"
mkdir -p "$C"
BC_CA=$C/bc-ca.pem
java -cp "$CP" cmpinterop.BcServer --port 0 --ca-out "$BC_CA" --ref "$REF" --secret "$SECRET" \
    --out "$WORK/bc-server" >"$WORK/bc-server.out" 2>"$WORK/bc-server.log" </dev/null &
PIDS+=($!)
if ! BC_URL=$(wait_listening "$WORK/bc-server.out" "bc-server: listening on " "$!"); then
    fail "bc-server starts" "$(oneline "$WORK/bc-server.log")"
    finish
fi

MAC=(--ref "$REF" --secret "pass:$SECRET")

# cmpv2 NAME ARGS...: runs `cmpv2 ARGS` with --reqout/--rspout into $C/NAME.*.der; its
# output goes to $C/NAME.log. Returns its exit code.
run_cmpv2() {
    local name=$1 cmd=$2 n
    shift 2
    case $cmd in
        enroll | update) n=2 ;;
        *) n=1 ;;
    esac
    local req="$C/$name.req1.der" rsp="$C/$name.rsp1.der"
    if [ "$n" = 2 ]; then
        req="$req,$C/$name.req2.der"
        rsp="$rsp,$C/$name.rsp2.der"
    fi
    "$CMPV2" "$cmd" "$@" --reqout "$req" --rspout "$rsp" >"$C/$name.log" 2>&1 </dev/null
}

# Checks that CERT chains to the BouncyCastle CA and certifies KEY's public key.
cert_ok() {
    local cert=$1 key=$2 out
    out=$(openssl verify -CAfile "$BC_CA" "$cert" 2>&1) || { echo "openssl verify: $out"; return 1; }
    [ "$(openssl x509 -in "$cert" -noout -pubkey)" = "$(openssl pkey -in "$key" -pubout)" ] ||
        { echo "the certificate is not for $key"; return 1; }
}

# enroll_case ID NAME PATH SUBJECT EXTRA...: `cmpv2 enroll` with a new P-256 key into
# $C/ID.key and $C/ID.pem; checks the certificate.
enroll_case() {
    local id=$1 name=$2 path=$3 subject=$4 why
    shift 4
    if run_cmpv2 "$id" enroll --server "$BC_URL$path" --subject "$subject" --newkey-type p256 \
        --keyout "$C/$id.key" --certout "$C/$id.pem" --trusted "$BC_CA" "$@"; then
        if why=$(cert_ok "$C/$id.pem" "$C/$id.key"); then pass "cmpv2 $name"; else fail "cmpv2 $name" "$why"; fi
    else
        fail "cmpv2 $name" "exit $?: $(oneline "$C/$id.log")"
    fi
}
enroll_case ir-pbm "ir PasswordBasedMac + certConf" pkix/ /CN=cmpv2-ir-pbm "${MAC[@]}"
enroll_case ir-pbmac1 "ir PBMAC1 + certConf" pkix/ /CN=cmpv2-ir-pbmac1 "${MAC[@]}" --pbmac1
enroll_case ir-ms "ir, answers with messageTime in milliseconds + certConf" ms/pkix/ /CN=cmpv2-ir-ms "${MAC[@]}"
enroll_case ir-notime "ir, answers without messageTime + certConf" notime/pkix/ /CN=cmpv2-ir-notime "${MAC[@]}"
enroll_case ir-sig-answers "ir PBMAC1, answers signed by the CA + certConf" sig/pkix/ /CN=cmpv2-ir-sig-answers \
    "${MAC[@]}" --pbmac1
enroll_case cr-pbm "cr PasswordBasedMac + certConf" pkix/ /CN=cmpv2-cr-pbm "${MAC[@]}" --cmd cr
enroll_case ir-sig "ir signed with a certificate BouncyCastle issued + certConf" pkix/ /CN=cmpv2-ir-sig \
    --cert "$C/ir-pbm.pem" --key "$C/ir-pbm.key"

# implicitConfirm: BcServer grants it on /implicit/ (then no certConf), not elsewhere.
implicit_case() {
    local id=$1 name=$2 path=$3 want_certconf=$4 why
    if run_cmpv2 "$id" enroll --server "$BC_URL$path" --subject "/CN=cmpv2-$id" --newkey-type p256 \
        --keyout "$C/$id.key" --certout "$C/$id.pem" --trusted "$BC_CA" "${MAC[@]}" --implicit-confirm; then
        if ! why=$(cert_ok "$C/$id.pem" "$C/$id.key"); then
            fail "cmpv2 $name" "$why"
        elif [ "$want_certconf" = yes ] && [ ! -e "$C/$id.req2.der" ]; then
            fail "cmpv2 $name" "no certConf although implicitConfirm was not granted"
        elif [ "$want_certconf" = no ] && [ -e "$C/$id.req2.der" ]; then
            fail "cmpv2 $name" "certConf sent although implicitConfirm was granted"
        else
            pass "cmpv2 $name"
        fi
    else
        fail "cmpv2 $name" "exit $?: $(oneline "$C/$id.log")"
    fi
}
implicit_case ir-implicit "ir asking implicitConfirm, granted: no certConf" implicit/pkix/ no
implicit_case ir-implicit-no "ir asking implicitConfirm, not granted: certConf" pkix/ yes

name="ir with a wrong secret is refused, nothing written"
if run_cmpv2 ir-wrong enroll --server "${BC_URL}pkix/" --subject /CN=cmpv2-wrong --newkey-type p256 \
    --keyout "$C/ir-wrong.key" --certout "$C/ir-wrong.pem" --trusted "$BC_CA" --ref "$REF" \
    --secret pass:not-the-secret; then
    fail "cmpv2 $name" "accepted"
elif [ $? -eq 2 ] && [ ! -e "$C/ir-wrong.pem" ]; then
    pass "cmpv2 $name"
else
    fail "cmpv2 $name" "$(oneline "$C/ir-wrong.log")"
fi

# p10cr: the CSR comes from openssl; BcServer answers certReqId -1, or 0 on /p10-id-0/.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$C/p10.key" \
    -subj /CN=cmpv2-p10cr -out "$C/p10.csr" 2>/dev/null
p10_case() {
    local id=$1 name=$2 path=$3 why
    shift 3
    if run_cmpv2 "$id" enroll --server "$BC_URL$path" --cmd p10cr --csr "$C/p10.csr" \
        --certout "$C/$id.pem" --trusted "$BC_CA" "${MAC[@]}" "$@"; then
        if why=$(cert_ok "$C/$id.pem" "$C/p10.key"); then pass "cmpv2 $name"; else fail "cmpv2 $name" "$why"; fi
    else
        fail "cmpv2 $name" "exit $?: $(oneline "$C/$id.log")"
    fi
}
p10_case p10cr "p10cr answered with certReqId -1 + certConf" pkix/
p10_case p10cr-id0 "p10cr answered with certReqId 0 (EJBCA-style) + certConf" p10-id-0/pkix/
name="p10cr answered with certReqId 0 is refused with --strict-p10cr-id"
if run_cmpv2 p10cr-strict enroll --server "${BC_URL}p10-id-0/pkix/" --cmd p10cr --csr "$C/p10.csr" \
    --certout "$C/p10cr-strict.pem" --trusted "$BC_CA" "${MAC[@]}" --strict-p10cr-id; then
    fail "cmpv2 $name" "accepted"
elif [ $? -eq 2 ] && grep -qi 'certReqId' "$C/p10cr-strict.log" && [ ! -e "$C/p10cr-strict.pem" ]; then
    pass "cmpv2 $name"
else
    fail "cmpv2 $name" "$(oneline "$C/p10cr-strict.log")"
fi

# kur: signed with the old certificate, and with PBMAC1 (oldCertID from --oldcert).
update_case() {
    local id=$1 name=$2 path=$3 old=$4 why
    shift 4
    if [ ! -e "$C/$old.pem" ]; then
        fail "cmpv2 $name" "needs $old.pem from an earlier case"
        return
    fi
    if run_cmpv2 "$id" update --server "$BC_URL$path" --oldcert "$C/$old.pem" --key "$C/$old.key" \
        --newkey-type p256 --keyout "$C/$id.key" --certout "$C/$id.pem" --trusted "$BC_CA" "$@"; then
        if ! why=$(cert_ok "$C/$id.pem" "$C/$id.key"); then
            fail "cmpv2 $name" "$why"
        elif [ "$(openssl x509 -in "$C/$id.pem" -noout -serial)" = "$(openssl x509 -in "$C/$old.pem" -noout -serial)" ]; then
            fail "cmpv2 $name" "same serial as the old certificate"
        else
            pass "cmpv2 $name"
        fi
    else
        fail "cmpv2 $name" "exit $?: $(oneline "$C/$id.log")"
    fi
}
update_case kur-sig "kur signed with the old certificate + certConf" pkix/ ir-pbm
update_case kur-pbmac1 "kur PBMAC1 + certConf" pkix/ ir-pbmac1 "${MAC[@]}" --pbmac1
update_case kur-sig-ms "kur signed, answers signed with messageTime in milliseconds + certConf" ms/sig/pkix/ cr-pbm

# rr with MAC, PBMAC1 and signed by the certificate itself; then a second rr is refused.
revoke_case() {
    local id=$1 name=$2 victim=$3
    shift 3
    if [ ! -e "$C/$victim.pem" ]; then
        fail "cmpv2 $name" "needs $victim.pem from an earlier case"
        return
    fi
    if run_cmpv2 "$id" revoke --server "${BC_URL}pkix/" --oldcert "$C/$victim.pem" --trusted "$BC_CA" "$@"; then
        pass "cmpv2 $name"
    else
        fail "cmpv2 $name" "exit $?: $(oneline "$C/$id.log")"
    fi
}
revoke_case rr-pbm "rr PasswordBasedMac" p10cr "${MAC[@]}"
revoke_case rr-pbmac1 "rr PBMAC1" ir-ms "${MAC[@]}" --pbmac1
revoke_case rr-sig "rr signed by the certificate itself" ir-sig --key "$C/ir-sig.key"
name="rr of a revoked certificate is refused (certRevoked)"
if run_cmpv2 rr-again revoke --server "${BC_URL}pkix/" --oldcert "$C/p10cr.pem" --trusted "$BC_CA" "${MAC[@]}"; then
    fail "cmpv2 $name" "accepted"
elif [ $? -eq 1 ] && grep -qi 'revoked' "$C/rr-again.log"; then
    pass "cmpv2 $name"
else
    fail "cmpv2 $name" "$(oneline "$C/rr-again.log")"
fi

# genm caCerts: the certificates written must be the BouncyCastle CA's.
genm_case() {
    local id=$1 name=$2
    shift 2
    if run_cmpv2 "$id" genm --server "${BC_URL}pkix/" --infotype caCerts --cacertsout "$C/$id.pem" \
        --trusted "$BC_CA" "$@"; then
        if [ "$(openssl x509 -in "$C/$id.pem" -outform DER | od -An -tx1)" = \
            "$(openssl x509 -in "$BC_CA" -outform DER | od -An -tx1)" ]; then
            pass "cmpv2 $name"
        else
            fail "cmpv2 $name" "caCerts is not the BouncyCastle CA certificate"
        fi
    else
        fail "cmpv2 $name" "exit $?: $(oneline "$C/$id.log")"
    fi
}
genm_case genm-pbm "genm caCerts PasswordBasedMac" "${MAC[@]}"
genm_case genm-pbmac1 "genm caCerts PBMAC1" "${MAC[@]}" --pbmac1
genm_case genm-sig "genm caCerts signature" --cert "$C/kur-sig.pem" --key "$C/kur-sig.key"
name="genm signKeyPairTypes, answered without a value"
if run_cmpv2 genm-skpt genm --server "${BC_URL}pkix/" --infotype signKeyPairTypes --trusted "$BC_CA" "${MAC[@]}"; then
    pass "cmpv2 $name"
else
    fail "cmpv2 $name" "exit $?: $(oneline "$C/genm-skpt.log")"
fi

finish
