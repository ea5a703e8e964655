#!/usr/bin/env bash
# End to end on a real Kubernetes API server with the real cert-manager controllers:
# Certificate → cert-manager → CertificateRequest → cmpv2-issuer → CMP → test CA → Secret.
#
#   e2e/run.sh                 build or reuse everything, run every scenario
#   E2E_SCENARIOS="1 3" e2e/run.sh   run some scenarios only (helm-lint and probes always
#                                    run); E2E_LOAD_CERTS=50 sizes scenario 8 (default 200)
# Scenarios e1-e3 run the issuer against a real EJBCA: start it first with
# `e2e/ejbca.sh start` (.ci/run does); without it they fail.
#
# What it does, all on 127.0.0.1 and in a temporary folder:
#  1. builds or reuses etcd, kube-apiserver, kubectl, the cert-manager launcher and helm
#     (e2e/build.sh, cached by version under $E2E_CACHE) and our Rust binaries
#     (cargo build --locked, into $CARGO_TARGET_DIR, default ~/.cache/cmpv2-rs/target);
#  2. starts etcd (--unsafe-no-fsync) and kube-apiserver the way controller-runtime's
#     envtest does, with RBAC, service-account keys and an admin client certificate
#     (O=system:masters) made with openssl, and an admin kubeconfig; waits for /readyz;
#  3. applies cert-manager's CRDs (deploy/crds of the pinned cert-manager module) and the
#     whole chart as `helm template deploy/chart/cmpv2-issuer --include-crds` renders it
#     (CRDs, ServiceAccount, RBAC, Deployment...: the API server validates all of it; the
#     Deployment never runs, there is no node);
#  4. starts the cert-manager launcher (namespace e2e only, see scenario 6), the test CA
#     (`cmpv2 serve`) and `cmpv2-issuer` out of cluster, authenticated as the chart's
#     ServiceAccount (a TokenRequest token), so the chart's RBAC is what it runs with;
#  5. runs the scenarios, prints one `PASS name` or `FAIL name` line each and a closing
#     `N passed, N failed` line; exits 1 when any failed.
# Every process it started is stopped on exit. On failure the work folder (logs,
# kubeconfig) is kept and its path printed; E2E_KEEP=1 keeps it always.
#
# kubectl is built (from the same pinned k8s.io/kubernetes module as kube-apiserver)
# rather than driving the API with curl: server-side apply of multi-document YAML, `wait`,
# `create token` and jsonpath output would otherwise need a YAML parser and a table of
# resource paths written here; the build adds a few minutes once and is cached.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$E2E_DIR/.." && pwd)
# shellcheck source=build.sh
source "$E2E_DIR/build.sh"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cmpv2-rs/target}"
SCENARIOS=${E2E_SCENARIOS:-1 1b 1c 2 3 4 5 6 9 7 e1 e2 e3 8}
N_CERTS=${E2E_LOAD_CERTS:-200}

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- binaries
T0=$SECONDS
ETCD=$(e2e_binary etcd)
KUBE_APISERVER=$(e2e_binary kube-apiserver)
KUBECTL=$(e2e_binary kubectl)
CERT_MANAGER=$(e2e_binary cert-manager)
HELM=$(e2e_binary helm)
log "building the Rust binaries (cargo build --locked, CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$REPO" && cargo build --locked -q -p cmpv2-examples -p cmpv2-issuer)
CMPV2=$CARGO_TARGET_DIR/debug/cmpv2
ISSUER=$CARGO_TARGET_DIR/debug/cmpv2-issuer
KUBE_VERSION=$(e2e__version "$E2E_DIR/kube-apiserver" k8s.io/kubernetes)
CM_DIR=$(cd "$E2E_DIR/cert-manager" && GOTOOLCHAIN=local go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)
log "binaries ready in $((SECONDS - T0)) s (kube $KUBE_VERSION, cert-manager ${CM_DIR##*@})"

# ---------------------------------------------------------------- processes
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cmpv2-e2e.XXXXXX")
mkdir -p "$WORK/logs" "$WORK/pki" "$WORK/pids"
FAILED=0

# Each started process has its pid in $WORK/pids/NAME, so that scenarios (which run in
# subshells) can stop and restart processes and the EXIT trap still finds them all.
pid_of() { cat "$WORK/pids/$1" 2>/dev/null; }

stop() { # name [signal]: the signal (default TERM), then SIGKILL after 10 s
  local pid; pid=$(pid_of "$1") || return 0
  rm -f "$WORK/pids/$1"
  kill -"${2:-TERM}" "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  set +e
  # The reverse order of starting: the issuer and cert-manager before the API server.
  for name in issuer issuer-scoped cert-manager ca ca7 kube-apiserver etcd; do stop "$name"; done
  for f in "$WORK"/pids/*; do [ -e "$f" ] && stop "$(basename "$f")"; done
  if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ] || [ -n "${E2E_KEEP:-}" ]; then
    log "work folder kept: $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # name command... : runs in the background, output in $WORK/logs/name.log
  local name=$1; shift
  "$@" >>"$WORK/logs/$name.log" 2>&1 &
  echo $! >"$WORK/pids/$name"
  disown $!  # stopped through its pid file; no job notices when a scenario kills it
}

count_lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }

# Starts a process as `start` does and waits until its log shows a line matching the
# pattern, looking only at what this start wrote: a restart appends to the same log.
start_until() { # name seconds pattern command...
  local name=$1 secs=$2 pattern=$3 from; shift 3
  from=$(count_lines "$WORK/logs/$name.log")
  start "$name" "$@"
  wait_for "$secs" "$name: $pattern" logged_since "$name" "$from" "$pattern"
}
logged_since() { tail -n +"$(($2 + 1))" "$WORK/logs/$1.log" | grep -q -- "$3"; }

# Ports come from below the kernel's ephemeral range: a port from inside it can be taken
# between the check and the bind by the local end of any outgoing connection (etcd and
# the API server open many), which made a listener fail with "Address already in use".
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$EPHEMERAL_LOW" -gt 12000 ] || die "the ephemeral port range starts at $EPHEMERAL_LOW: no room below it"
free_port() { # a TCP port nobody listens on now, and not handed out before
  local p
  while :; do
    p=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000)))
    grep -qx "$p" "$WORK/ports" 2>/dev/null && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p" >>"$WORK/ports"; echo "$p"; return; }
  done
}

wait_for() { # seconds description command... : until the command succeeds
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.5
  done
}

alive() { kill -0 "$(pid_of "$1")" 2>/dev/null || die "$1 exited: $(tail -n 20 "$WORK/logs/$1.log")"; }

k() { "$KUBECTL" --kubeconfig "$WORK/admin.kubeconfig" "$@"; }

# ---------------------------------------------------------------- PKI (openssl)
PKI=$WORK/pki
ossl_ca() { # name subject
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "$2" -keyout "$PKI/$1.key" -out "$PKI/$1.crt" 2>/dev/null
}
ossl_leaf() { # name subject ca extensions
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "$2" -keyout "$PKI/$1.key" -out "$PKI/$1.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$3.crt" -CAkey "$PKI/$3.key" \
    -CAcreateserial -days 2 -extfile <(printf '%s\n' "$4") -out "$PKI/$1.crt" 2>/dev/null
}
ossl_ca kube-ca "/CN=e2e kube CA"
ossl_leaf apiserver "/CN=kube-apiserver" kube-ca \
  "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature"
ossl_leaf admin "/O=system:masters/CN=e2e-admin" kube-ca \
  "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
# The RA that signs requests for scenario 2 (signature protection, raVerified).
ossl_ca ra-ca "/CN=e2e RA CA"
ossl_leaf ra "/CN=e2e RA" ra-ca \
  "keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"

# ---------------------------------------------------------------- etcd, kube-apiserver
ETCD_PORT=$(free_port); ETCD_PEER=$(free_port); API_PORT=$(free_port)
log "starting etcd on 127.0.0.1:$ETCD_PORT"
start etcd "$ETCD" --name e2e --data-dir "$WORK/etcd" --unsafe-no-fsync \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER" --log-level warn
wait_for 60 "etcd" curl -fsS "http://127.0.0.1:$ETCD_PORT/health" || die "etcd: $(tail -n 20 "$WORK/logs/etcd.log")"

log "starting kube-apiserver $KUBE_VERSION on 127.0.0.1:$API_PORT"
start kube-apiserver "$KUBE_APISERVER" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --secure-port "$API_PORT" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 \
  --cert-dir "$WORK/apiserver" \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --client-ca-file "$PKI/kube-ca.crt" \
  --service-cluster-ip-range 10.0.0.0/24 \
  --service-account-issuer https://kubernetes.default.svc \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --authorization-mode RBAC --allow-privileged=true
API=https://127.0.0.1:$API_PORT
readyz() { [ "$(curl -sS --cacert "$PKI/kube-ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" "$API/readyz")" = ok ]; }
wait_for 120 "kube-apiserver /readyz" readyz || die "kube-apiserver: $(tail -n 30 "$WORK/logs/kube-apiserver.log")"

kubeconfig() { # file user-yaml
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $API
    certificate-authority: $PKI/kube-ca.crt
users:
- name: e2e
  user:
$2
contexts:
- name: e2e
  context: {cluster: e2e, user: e2e}
current-context: e2e
EOF
}
kubeconfig "$WORK/admin.kubeconfig" "    client-certificate: $PKI/admin.crt
    client-key: $PKI/admin.key"
log "API server ready in $((SECONDS - T0)) s since start; admin kubeconfig $WORK/admin.kubeconfig"

# ---------------------------------------------------------------- CRDs and the chart
CHART=$REPO/deploy/chart/cmpv2-issuer
k apply --server-side -f "$CM_DIR/deploy/crds/" >/dev/null
k create namespace cmpv2-issuer >/dev/null
k create namespace e2e >/dev/null
k create namespace e2e-deny >/dev/null
k create namespace e2e-scoped >/dev/null
"$HELM" template cmpv2-issuer "$CHART" --namespace cmpv2-issuer --include-crds \
  --kube-version "${KUBE_VERSION#v}" >"$WORK/chart.yaml"
k apply --server-side -f "$WORK/chart.yaml" >"$WORK/logs/chart-apply.log" 2>&1 ||
  die "the chart's objects were refused: $(cat "$WORK/logs/chart-apply.log")"
k wait --for condition=established --timeout 60s crd --all >/dev/null

# The issuer runs as the chart's ServiceAccount, with a TokenRequest token.
SA=$(k -n cmpv2-issuer get serviceaccount -o jsonpath='{.items[0].metadata.name}')
TOKEN=$(k -n cmpv2-issuer create token "$SA" --duration 6h)
kubeconfig "$WORK/issuer.kubeconfig" "    token: $TOKEN"

# ---------------------------------------------------------------- the test CA
SECRET=e2e-shared-secret-$RANDOM$RANDOM
CA_PORT=$(free_port)
start_ca() { # name port dir extra-args...
  local name=$1 port=$2 dir=$3; shift 3
  start_until "$name" 30 "listening on" "$CMPV2" serve --listen "127.0.0.1:$port" --dir "$dir" \
    --ref e2e --secret "pass:$SECRET" --mac-ra --ra-trusted "$PKI/ra-ca.crt" "$@" ||
    die "$name: $(tail -n 20 "$WORK/logs/$name.log")"
}
start_ca ca "$CA_PORT" "$WORK/ca"
CA_URL=http://127.0.0.1:$CA_PORT/
split_pem() { # file dir : one file per certificate, cert-N.pem
  mkdir -p "$2"; awk -v d="$2" '/BEGIN CERT/{n++} n{print > (d "/cert-" n ".pem")}' "$1"
}
ca_root() { # ca-dir out : the CA's own certificate, the self-signed one in ca.pem
  local c
  split_pem "$1/ca.pem" "$1.certs"
  for c in "$1".certs/cert-*.pem; do
    if [ "$(openssl x509 -in "$c" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')" = \
         "$(openssl x509 -in "$c" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')" ]; then
      cp "$c" "$2"
    fi
  done
  [ -s "$2" ] || die "no self-signed certificate in $1/ca.pem"
}
ca_root "$WORK/ca" "$WORK/ca-root.pem"
issued_count() { count_lines "$1/issued.log"; }
# Enrollment transactions the CA has decided on, one line each (requests.log, written at
# the first decision: granted, waiting or rejected).
requests_count() { count_lines "$1/requests.log"; }

# ---------------------------------------------------------------- cert-manager, issuer
log "starting the cert-manager launcher"
start cert-manager env KUBECONFIG="$WORK/admin.kubeconfig" "$CERT_MANAGER" --namespace e2e -v 2
ISSUER_PORT=$(free_port)
start_issuer() { # name port [kubeconfig [extra-args...]] (default: the chart's ServiceAccount)
  local name=$1 port=$2 kubeconfig=${3:-$WORK/issuer.kubeconfig}
  shift $(($# < 3 ? $# : 3))
  # Its log says when the controllers run (/readyz is checked by the probes scenario).
  start_until "$name" 60 "controllers started" env KUBECONFIG="$kubeconfig" RUST_BACKTRACE=0 "$ISSUER" \
    --cluster-resource-namespace cmpv2-issuer --listen "127.0.0.1:$port" --log-format text "$@" ||
    die "$name: $(tail -n 20 "$WORK/logs/$name.log")"
}
start_issuer issuer "$ISSUER_PORT"
metric() { # name-with-labels → value, or "unavailable" when /metrics does not answer
  local out
  out=$(curl -fsS --max-time 5 "http://127.0.0.1:$ISSUER_PORT/metrics" 2>/dev/null) || { echo unavailable; return; }
  awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print "unavailable" }' <<<"$out"
}
round_trips() { # CMP attempts so far, successful or not (or "unavailable")
  local ok err
  ok=$(metric 'cmpv2_issuer_ca_round_trips_total{result="ok"}')
  err=$(metric 'cmpv2_issuer_ca_round_trips_total{result="error"}')
  if [ "$ok" = unavailable ] || [ "$err" = unavailable ]; then echo unavailable; else echo $((ok + err)); fi
}
sleep 2
alive cert-manager
alive issuer
log "all started in $((SECONDS - T0)) s"

# ---------------------------------------------------------------- helpers for scenarios
fail() { echo "FAILED: $*" >&2; exit 1; }

# Pending conditions read through kubectl's jsonpath.
cond() { # resource condition-type field → value of .status.conditions[type].field
  k get "$1" -n "${NS:-e2e}" -o jsonpath="{.status.conditions[?(@.type==\"$2\")].$3}" 2>/dev/null
}

# The one CertificateRequest a Certificate made, with the given revision.
request_of() { # certificate revision
  k get certificaterequests -n "${NS:-e2e}" \
    -o jsonpath="{range .items[?(@.metadata.annotations.cert-manager\.io/certificate-name==\"$1\")]}{.metadata.name} {.metadata.annotations.cert-manager\.io/certificate-revision}{\"\n\"}{end}" |
    awk -v r="$2" '$2 == r { print $1 }'
}

secret_file() { # secret key file
  k get secret -n "${NS:-e2e}" "$1" -o jsonpath="{.data.${2//./\\.}}" | base64 -d >"$3"
}

same_key() { # certificate.pem key.pem : the certificate is for that private key
  [ "$(openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum)" = \
    "$(openssl pkey -in "$2" -pubout -outform DER | sha256sum)" ]
}

# Checks a Certificate's Secret: tls.crt/tls.key/ca.crt present, key matches, P-256,
# the SANs and usages asked for, validity of `hours`, verifies against the test CA root.
check_secret() { # secret dir dns-csv ip-csv hours root-pem
  local s=$1 d=$2 hours=$5 root=$6
  mkdir -p "$d"
  for f in tls.crt tls.key ca.crt; do
    secret_file "$s" "$f" "$d/$f"
    [ -s "$d/$f" ] || fail "$s has no $f"
  done
  same_key "$d/tls.crt" "$d/tls.key" || fail "tls.key does not match tls.crt"
  openssl x509 -in "$d/tls.crt" -noout -text >"$d/tls.txt"
  grep -q "ASN1 OID: prime256v1" "$d/tls.txt" || fail "not a P-256 key"
  local san; san=$(openssl x509 -in "$d/tls.crt" -noout -ext subjectAltName | tail -n +2 | tr -d ' ')
  local want; want=$( (IFS=,; for n in $3; do echo "DNS:$n"; done; for n in $4; do echo "IPAddress:$n"; done) | sort | paste -sd,)
  [ "$(tr , '\n' <<<"$san" | sort | paste -sd,)" = "$want" ] || fail "SANs are '$san', want '$want'"
  local ku eku
  ku=$(openssl x509 -in "$d/tls.crt" -noout -ext keyUsage | tail -n +2 | tr -d ' ')
  eku=$(openssl x509 -in "$d/tls.crt" -noout -ext extendedKeyUsage | tail -n +2 | tr -d ' ')
  [ "$ku" = "DigitalSignature" ] || fail "keyUsage is '$ku', want DigitalSignature"
  [ "$eku" = "TLSWebServerAuthentication,TLSWebClientAuthentication" ] || fail "extendedKeyUsage is '$eku'"
  local nb na now
  nb=$(date -d "$(openssl x509 -in "$d/tls.crt" -noout -startdate | cut -d= -f2)" +%s)
  na=$(date -d "$(openssl x509 -in "$d/tls.crt" -noout -enddate | cut -d= -f2)" +%s)
  now=$(date +%s)
  [ "$nb" -le "$now" ] || fail "notBefore is in the future"
  local want_na=$((now + hours * 3600))
  [ $((na - want_na)) -le 60 ] && [ $((want_na - na)) -le 600 ] ||
    fail "notAfter $(date -u -d "@$na") is not now + ${hours}h ($(date -u -d "@$want_na"))"
  grep -q "BEGIN CERTIFICATE" "$d/ca.crt" || fail "ca.crt holds no certificate"
  # tls.crt is the leaf and then the chain: the chain is what may be untrusted.
  openssl verify -CAfile "$root" -untrusted "$d/tls.crt" "$d/tls.crt" >/dev/null ||
    fail "tls.crt does not verify against the test CA root"
  # ca.crt must hold the root itself.
  split_pem "$d/ca.crt" "$d/ca-certs"
  local found=0
  for c in "$d"/ca-certs/cert-*.pem; do cmp -s <(openssl x509 -in "$c" -outform DER) <(openssl x509 -in "$root" -outform DER) && found=1; done
  [ "$found" = 1 ] || fail "ca.crt does not hold the test CA root"
  echo "tls.crt: $(openssl x509 -in "$d/tls.crt" -noout -subject -serial -enddate | paste -sd' ')"
}

certificate() { # name secret issuer-kind issuer-name duration [extra spec yaml]
  cat <<EOF
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: $1, namespace: ${NS:-e2e}}
spec:
  secretName: $2
  commonName: $1.e2e.test
  dnsNames: [$1.e2e.test, alt-$1.e2e.test]
  ipAddresses: [192.0.2.10]
  duration: $5
  privateKey: {algorithm: ECDSA, size: 256}
  usages: [digital signature, server auth, client auth]
  issuerRef: {group: cmpv2-issuer.dev, kind: $3, name: $4}
${6:-}
EOF
}

mac_issuer() { # name url [extra spec yaml]
  cat <<EOF
apiVersion: cmpv2-issuer.dev/v1alpha1
kind: CMPv2Issuer
metadata: {name: $1, namespace: ${NS:-e2e}}
spec:
  url: $2
  protection:
    sharedSecret:
      secretRef: {name: cmp-shared-secret, key: secret}
      reference: e2e
  limits: {healthCheckIntervalSeconds: 0}
${3:-}
EOF
}

# A CertificateRequest of our own (no Certificate) in $NS, key in $WORK/name.key.
bare_request() { # name issuer common-name
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$3" \
    -addext "subjectAltName=DNS:$3" -keyout "$WORK/$1.key" -out "$WORK/$1.csr" 2>/dev/null
  k apply -f - <<EOF
apiVersion: cert-manager.io/v1
kind: CertificateRequest
metadata: {name: $1, namespace: ${NS:-e2e}}
spec:
  request: $(base64 -w0 <"$WORK/$1.csr")
  usages: [digital signature, server auth]
  issuerRef: {group: cmpv2-issuer.dev, kind: CMPv2Issuer, name: $2}
EOF
}

# Approves or denies a request in $NS, as an approver does (a status condition).
decide() { # request Approved|Denied
  k patch -n "${NS:-e2e}" "certificaterequest/$1" --subresource status --type merge -p \
    "{\"status\":{\"conditions\":[{\"type\":\"$2\",\"status\":\"True\",\"reason\":\"e2e\",\"message\":\"$2 by e2e/run.sh\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}]}}"
}

wait_ready() { # resource seconds
  k wait -n "${NS:-e2e}" --for condition=Ready=True --timeout "${2}s" "$1" >/dev/null ||
    fail "$1 not Ready in ${2}s: $(k get -n "${NS:-e2e}" "$1" -o jsonpath='{.status.conditions}')"
}

# ---------------------------------------------------------------- scenarios
k -n e2e create secret generic cmp-shared-secret --from-literal=secret="$SECRET" >/dev/null
k -n e2e-deny create secret generic cmp-shared-secret --from-literal=secret="$SECRET" >/dev/null

scenario_helm_lint() {
  "$HELM" lint "$CHART"
  "$HELM" lint "$CHART" --set watchNamespace=apps --set clusterResourceNamespace=pki
}

# The issuer's probes: /healthz, /readyz (200 once the controllers run), /metrics.
scenario_probes() {
  local p
  for p in healthz readyz metrics; do
    curl -fsS --max-time 5 -o "$WORK/probe-$p.out" "http://127.0.0.1:$ISSUER_PORT/$p" ||
      fail "GET /$p: $(tail -n 3 "$WORK/logs/issuer.log")"
  done
  grep -q "^cmpv2_issuer_ca_round_trips_total" "$WORK/probe-metrics.out" || fail "/metrics lacks cmpv2_issuer_ca_round_trips_total"
  echo "/healthz, /readyz and /metrics answer"
}

# 1. CMPv2Issuer, shared secret; Certificate with DNS and IP SANs, P-256, usages, duration.
#    trustAnchors names the test CA's root: with `cr` the CA sends no caPubs, and the
#    issuer fills status.ca (the Secret's ca.crt) from its trust anchors.
scenario_1() {
  k -n e2e create configmap test-ca-root --from-file=ca.pem="$WORK/ca-root.pem" --dry-run=client -o yaml | k apply -f -
  mac_issuer test-ca "$CA_URL" "  trustAnchors: {configMapRef: {name: test-ca-root, key: ca.pem}}" | k apply -f -
  wait_ready cmpv2issuer/test-ca 60
  certificate s1 s1-tls CMPv2Issuer test-ca 48h | k apply -f -
  wait_ready certificate/s1 90
  check_secret s1-tls "$WORK/s1" s1.e2e.test,alt-s1.e2e.test 192.0.2.10 48 "$WORK/ca-root.pem"
  # The issuer's Event on the request (the chart's RBAC lets it create events.k8s.io).
  local events
  events=$(k get events.events.k8s.io -n e2e -o jsonpath='{range .items[?(@.reportingController=="cmpv2-issuer")]}{.reason}/{.regarding.name}{"\n"}{end}')
  grep -qx "Issued/$(request_of s1 1)" <<<"$events" || fail "no Issued event from cmpv2-issuer on $(request_of s1 1): $events"
  echo "events: $(paste -sd' ' <<<"$events")"
}

# 1b. The same without trustAnchors: the CA sends no CA certificate with `cr`; the
#     Certificate must still be issued (ca.crt may then be empty).
scenario_1b() {
  mac_issuer test-ca-bare "$CA_URL" | k apply -f -
  wait_ready cmpv2issuer/test-ca-bare 60
  certificate s1b s1b-tls CMPv2Issuer test-ca-bare 24h | k apply -f -
  local t=$SECONDS
  until [ "$(cond certificate/s1b Ready status)" = True ]; do
    if [ $((SECONDS - t)) -gt 60 ]; then
      local cr; cr=$(request_of s1b 1)
      echo "CertificateRequest $cr: $(k get -n e2e certificaterequest/"$cr" -o jsonpath='{.status.conditions}')"
      grep "s1b" "$WORK/logs/issuer.log" | grep -v "^ " | tail -n 3
      fail "s1b not Ready in 60 s"
    fi
    sleep 1
  done
  secret_file s1b-tls tls.crt "$WORK/s1b.crt"
  openssl x509 -in "$WORK/s1b.crt" -noout -subject -issuer
}

# 1c. The Certificate before its issuer: the request waits (issuer not found), and is
#     woken when the issuer turns Ready rather than at its requeue. Without the wake-up
#     nothing would look at the request again until 30 s (Settings::issuer_wait) after
#     it was marked Pending, so a request Ready sooner than that, by the issuer's own
#     condition timestamps, was woken (a causal check, not a speed target: it signs in
#     about a second, and the margin is the rest of the 30 s).
epoch() { # resource → its Ready condition's lastTransitionTime in Unix seconds
  local t; t=$(cond "$1" Ready lastTransitionTime)
  [ -n "$t" ] || fail "no Ready lastTransitionTime on $1"
  date -d "$t" +%s
}
scenario_1c() {
  certificate s1c s1c-tls CMPv2Issuer late-ca 24h | k apply -f -
  local cr; cr=$(request_with_reason s1c Pending 60)
  local pending_at; pending_at=$(epoch "certificaterequest/$cr")
  echo "waiting: $(cond "certificaterequest/$cr" Ready message)"
  mac_issuer late-ca "$CA_URL" | k apply -f -
  wait_ready cmpv2issuer/late-ca 60
  local issuer_at; issuer_at=$(epoch cmpv2issuer/late-ca)
  wait_ready "certificaterequest/$cr" 90
  local ready_at; ready_at=$(epoch "certificaterequest/$cr")
  echo "Pending at +0 s, issuer Ready at +$((issuer_at - pending_at)) s, request Ready at +$((ready_at - pending_at)) s"
  [ "$pending_at" -le "$issuer_at" ] && [ "$issuer_at" -le "$ready_at" ] ||
    fail "out of order: Pending $pending_at, issuer Ready $issuer_at, request Ready $ready_at"
  [ $((ready_at - pending_at)) -lt 30 ] ||
    fail "Ready only $((ready_at - pending_at)) s after Pending: the requeue, not the issuer's watch, woke it"
  wait_ready certificate/s1c 60
  secret_file s1c-tls tls.crt "$WORK/s1c.crt"
  openssl x509 -in "$WORK/s1c.crt" -noout -subject
}

# A CMPv2ClusterIssuer signing with the RA certificate (Secret ra-signer), `ir`.
signed_cluster_issuer() { # name url roots-configmap
  cat <<EOF
apiVersion: cmpv2-issuer.dev/v1alpha1
kind: CMPv2ClusterIssuer
metadata: {name: $1}
spec:
  url: $2
  protection:
    signature: {secretName: ra-signer}
  trustAnchors:
    configMapRef: {name: $3, key: ca.pem}
  requestType: ir
  limits: {healthCheckIntervalSeconds: 0}
EOF
}

# The CertificateRequest of a Certificate's first revision, once cert-manager made it.
first_request() { # certificate seconds → request name
  local cr="" deadline=$((SECONDS + $2))
  while [ -z "$cr" ] && [ $SECONDS -lt $deadline ]; do cr=$(request_of "$1" 1); sleep 0.2; done
  [ -n "$cr" ] || fail "no CertificateRequest for $1"
  echo "$cr"
}

# The CertificateRequest of a Certificate's first revision, once its Ready reason is $2.
request_with_reason() { # certificate reason seconds → request name
  local deadline=$((SECONDS + $3)) cr
  cr=$(first_request "$1" "$3")
  until [ "$(cond "certificaterequest/$cr" Ready reason)" = "$2" ]; do
    [ $SECONDS -lt $deadline ] || fail "$cr never $2: $(k get -n "${NS:-e2e}" certificaterequest/"$cr" -o jsonpath='{.status.conditions}')"
    sleep 0.5
  done
  echo "$cr"
}

# 2. CMPv2ClusterIssuer, signature protection, ir with raVerified. The issuer holds no
#    private key of the CSR, so its ir can only carry raVerified; the counter-proof is a
#    second CA that trusts the same RA's signatures but not its vouching: it must refuse.
scenario_2() {
  k -n cmpv2-issuer create secret tls ra-signer --cert <(cat "$PKI/ra.crt" "$PKI/ra-ca.crt") --key "$PKI/ra.key"
  k -n cmpv2-issuer create configmap test-ca-roots --from-file=ca.pem="$WORK/ca/ca.pem"
  signed_cluster_issuer test-ca-signed "$CA_URL" test-ca-roots | k apply -f -
  k wait --for condition=Ready=True --timeout 60s cmpv2clusterissuer/test-ca-signed >/dev/null ||
    fail "cluster issuer not Ready: $(k get cmpv2clusterissuer/test-ca-signed -o jsonpath='{.status.conditions}')"
  certificate s2 s2-tls CMPv2ClusterIssuer test-ca-signed 24h | k apply -f -
  wait_ready certificate/s2 90
  check_secret s2-tls "$WORK/s2" s2.e2e.test,alt-s2.e2e.test 192.0.2.10 24 "$WORK/ca-root.pem"

  local port; port=$(free_port)
  start_until ca-not-ra 30 "listening on" "$CMPV2" serve --listen "127.0.0.1:$port" \
    --dir "$WORK/ca-not-ra" --trusted "$PKI/ra-ca.crt" ||
    fail "ca-not-ra: $(tail -n 20 "$WORK/logs/ca-not-ra.log")"
  k -n cmpv2-issuer create configmap not-ra-roots --from-file=ca.pem="$WORK/ca-not-ra/ca.pem"
  signed_cluster_issuer not-ra "http://127.0.0.1:$port/" not-ra-roots | k apply -f -
  k wait --for condition=Ready=True --timeout 60s cmpv2clusterissuer/not-ra >/dev/null ||
    fail "cluster issuer not-ra not Ready: $(k get cmpv2clusterissuer/not-ra -o jsonpath='{.status.conditions}')"
  certificate s2n s2n-tls CMPv2ClusterIssuer not-ra 24h | k apply -f -
  local cr msg
  cr=$(request_with_reason s2n Failed 60)
  msg=$(cond "certificaterequest/$cr" Ready message)
  # The test CA's words for exactly this refusal (cmp-server's error.rs), not any POP error.
  grep -q "raVerified proof-of-possession from a requester that is not an RA" <<<"$msg" ||
    fail "refused for another reason: $msg"
  [ "$(issued_count "$WORK/ca-not-ra")" = 0 ] || fail "the CA that does not take raVerified issued"
  echo "a CA trusting the RA's signature but not its raVerified refused: $msg"
}

# 3. Renewal the way `cmctl renew` does it: the Issuing condition set on the Certificate.
scenario_3() {
  k get certificate/s1 -n e2e >/dev/null 2>&1 || scenario_1 >/dev/null
  local rev0 serial0 key0
  rev0=$(k get certificate/s1 -n e2e -o jsonpath='{.status.revision}')
  secret_file s1-tls tls.crt "$WORK/s3-old.crt"; secret_file s1-tls tls.key "$WORK/s3-old.key"
  serial0=$(openssl x509 -in "$WORK/s3-old.crt" -noout -serial)
  key0=$(sha256sum <"$WORK/s3-old.key")
  k patch certificate/s1 -n e2e --subresource status --type json -p "[{\"op\":\"add\",\"path\":\"/status/conditions/-\",\"value\":{\"type\":\"Issuing\",\"status\":\"True\",\"reason\":\"ManuallyTriggered\",\"message\":\"Certificate re-issuance manually triggered\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}}]"
  local want=$((rev0 + 1))
  revision_is() { [ "$(k get certificate/s1 -n e2e -o jsonpath='{.status.revision}')" = "$1" ]; }
  wait_for 90 "revision $want" revision_is "$want" ||
    fail "revision stayed $(k get certificate/s1 -n e2e -o jsonpath='{.status.revision}'), want $want"
  wait_ready certificate/s1 60
  secret_file s1-tls tls.crt "$WORK/s3-new.crt"
  [ "$(openssl x509 -in "$WORK/s3-new.crt" -noout -serial)" != "$serial0" ] || fail "same certificate after renewal"
  [ "$(secret_file s1-tls tls.key /dev/stdout | sha256sum)" != "$key0" ] || fail "same key after renewal"
  check_secret s1-tls "$WORK/s3" s1.e2e.test,alt-s1.e2e.test 192.0.2.10 48 "$WORK/ca-root.pem"
  echo "revision $rev0 → $want"
}

# 4. The CA down when the request arrives: Pending (retryable), then Issued once it is back.
scenario_4() {
  k get cmpv2issuer/test-ca -n e2e >/dev/null 2>&1 || { mac_issuer test-ca "$CA_URL" | k apply -f -; wait_ready cmpv2issuer/test-ca 60; }
  stop ca
  # Whatever happens here, the CA runs again for the scenarios after this one.
  trap '[ -n "$(pid_of ca)" ] || start_ca ca "$CA_PORT" "$WORK/ca"' EXIT
  certificate s4 s4-tls CMPv2Issuer test-ca 24h | k apply -f -
  local cr=""
  local deadline=$((SECONDS + 60))
  while [ -z "$cr" ] && [ $SECONDS -lt $deadline ]; do cr=$(request_of s4 1); sleep 0.5; done
  [ -n "$cr" ] || fail "no CertificateRequest for s4"
  deadline=$((SECONDS + 60))
  until [ "$(cond "certificaterequest/$cr" Ready reason)" = Pending ]; do
    [ $SECONDS -lt $deadline ] || fail "$cr never Pending: $(k get -n e2e certificaterequest/"$cr" -o jsonpath='{.status.conditions}')"
    sleep 0.5
  done
  local msg; msg=$(cond "certificaterequest/$cr" Ready message)
  echo "while the CA is down: $msg"
  grep -Eq "\(attempt [0-9]+, retrying in [0-9]+ s\)" <<<"$msg" || fail "no backoff in the message: $msg"
  local trips0; trips0=$(round_trips)
  sleep 5
  [ "$(cond "certificaterequest/$cr" Ready reason)" = Pending ] || fail "$cr left Pending while the CA is down: $(cond "certificaterequest/$cr" Ready reason)"
  local trips1; trips1=$(round_trips)
  [ "$trips0" != unavailable ] && [ "$trips1" != unavailable ] || fail "/metrics unavailable"
  # The backoff starts at 5 s and doubles: at most two attempts in these 5 s.
  [ $((trips1 - trips0)) -le 2 ] || fail "$((trips1 - trips0)) attempts in 5 s while the CA is down: no backoff"
  echo "attempts while the CA was down, over 5 s: $((trips1 - trips0)); $(cond "certificaterequest/$cr" Ready message)"
  start_ca ca "$CA_PORT" "$WORK/ca"
  local t=$SECONDS
  wait_ready certificate/s4 300
  echo "Issued $((SECONDS - t)) s after the CA came back"
  check_secret s4-tls "$WORK/s4" s4.e2e.test,alt-s4.e2e.test 192.0.2.10 24 "$WORK/ca-root.pem"
}

# 5. The CA rejects (its policy: end-entity certificates only): Failed with the CA's
#    reason, no retries.
scenario_5() {
  k get cmpv2issuer/test-ca -n e2e >/dev/null 2>&1 || { mac_issuer test-ca "$CA_URL" | k apply -f -; wait_ready cmpv2issuer/test-ca 60; }
  local before requests0; before=$(round_trips); requests0=$(requests_count "$WORK/ca")
  [ "$before" != unavailable ] || fail "/metrics unavailable"
  certificate s5 s5-tls CMPv2Issuer test-ca 24h "  isCA: true" | k apply -f -
  local cr; cr=$(request_with_reason s5 Failed 60)
  local msg; msg=$(cond "certificaterequest/$cr" Ready message)
  echo "Failed: $msg"
  grep -q "end-entity certificates only" <<<"$msg" || fail "the CA's reason is not in the message"
  [ -n "$(k get -n e2e certificaterequest/"$cr" -o jsonpath='{.status.failureTime}')" ] || fail "no failureTime"
  local after; after=$(round_trips)
  [ "$after" != unavailable ] && [ "$after" -gt "$before" ] || fail "round trips: $before before, $after at Failed"
  sleep 15
  local later requests1; later=$(round_trips); requests1=$(requests_count "$WORK/ca")
  [ "$later" = "$after" ] || fail "round trips went on after Failed: $after → $later"
  [ "$requests1" = $((requests0 + 1)) ] || fail "the CA decided $((requests1 - requests0)) enrollments, want 1"
  tail -n 1 "$WORK/ca/requests.log" | grep -q " rejected$" || fail "the CA's last decision: $(tail -n 1 "$WORK/ca/requests.log")"
  local n; n=$(k get certificaterequests -n e2e -o name | grep -c "s5-" || true)
  [ "$n" = 1 ] || fail "$n CertificateRequests for s5 (cert-manager's backoff is 1 h)"
  echo "round trips: $before before, $after at Failed, $later 15 s later; the CA rejected 1 enrollment; 1 CertificateRequest"
  [ "$(cond "certificaterequest/$cr" Ready reason)" = Failed ] || fail "$cr left Failed"
}

# 6. A request denied by an approver: Denied, nothing sent to the CA. cert-manager only
#    watches namespace e2e, so a request in e2e-deny waits for an approver: we deny it.
scenario_6() {
  NS=e2e-deny
  mac_issuer deny-ca "$CA_URL" | k apply -f -
  wait_ready cmpv2issuer/deny-ca 60
  local issued0 trips0 requests0
  issued0=$(issued_count "$WORK/ca"); trips0=$(round_trips); requests0=$(requests_count "$WORK/ca")
  [ "$trips0" != unavailable ] || fail "/metrics unavailable"
  bare_request s6 deny-ca denied.e2e.test
  sleep 3
  [ -z "$(k get -n e2e-deny certificaterequest/s6 -o jsonpath='{.status.certificate}')" ] || fail "issued before any approval"
  decide s6 Denied
  local deadline=$((SECONDS + 60))
  until [ "$(cond certificaterequest/s6 Ready reason)" = Denied ]; do
    [ $SECONDS -lt $deadline ] || fail "s6 never Ready=False/Denied: $(k get -n e2e-deny certificaterequest/s6 -o jsonpath='{.status.conditions}')"
    sleep 0.5
  done
  [ "$(cond certificaterequest/s6 Ready status)" = False ] || fail "Ready is not False"
  [ -n "$(k get -n e2e-deny certificaterequest/s6 -o jsonpath='{.status.failureTime}')" ] || fail "no failureTime"
  sleep 3
  [ "$(issued_count "$WORK/ca")" = "$issued0" ] || fail "the CA issued something"
  [ "$(requests_count "$WORK/ca")" = "$requests0" ] || fail "the CA received an enrollment"
  [ "$(round_trips)" = "$trips0" ] || fail "the issuer talked to a CA"
  [ -z "$(k get -n e2e-deny certificaterequest/s6 -o jsonpath='{.metadata.annotations.cmpv2-issuer\.dev/in-flight}{.metadata.annotations.cmpv2-issuer\.dev/issued}')" ] ||
    fail "the issuer journaled an enrollment for a denied request"
  echo "Denied: $(cond certificaterequest/s6 Ready message)"
}

# 9. The chart with watchNamespace: Roles instead of cluster-wide grants. The API server's
#    own answers (`kubectl auth can-i` as the release's ServiceAccount) show what the
#    narrower RBAC allows; then an issuer running with only that RBAC (and --namespace)
#    signs a request in that namespace end to end. The main issuer is stopped meanwhile,
#    so the scoped one is the only signer.
scenario_9() {
  NS=e2e-scoped
  "$HELM" template scoped "$CHART" --namespace cmpv2-issuer --set watchNamespace=e2e-scoped \
    --kube-version "${KUBE_VERSION#v}" >"$WORK/chart-scoped.yaml"
  k apply --server-side -f "$WORK/chart-scoped.yaml" >/dev/null
  local sa; sa=$(k -n cmpv2-issuer get serviceaccount -l app.kubernetes.io/instance=scoped -o jsonpath='{.items[0].metadata.name}')
  [ -n "$sa" ] || fail "no ServiceAccount in the scoped release"
  local as=system:serviceaccount:cmpv2-issuer:$sa want verb what ns sub answer scope
  while read -r want verb what ns sub; do
    case $ns in all) scope=(--all-namespaces) ;; cluster) scope=() ;; *) scope=(-n "$ns") ;; esac
    [ -z "$sub" ] || scope+=(--subresource "$sub")
    if k auth can-i --as "$as" "$verb" "$what" "${scope[@]}" >/dev/null 2>&1; then answer=yes; else answer=no; fi
    [ "$answer" = "$want" ] || fail "can-i $verb $what${sub:+/$sub} in $ns: $answer, want $want"
  done <<EOF
yes get secrets e2e-scoped
yes get configmaps e2e-scoped
yes get certificaterequests.cert-manager.io e2e-scoped
yes list certificaterequests.cert-manager.io e2e-scoped
yes watch certificaterequests.cert-manager.io e2e-scoped
yes patch certificaterequests.cert-manager.io e2e-scoped
yes patch certificaterequests.cert-manager.io e2e-scoped status
yes get cmpv2issuers.cmpv2-issuer.dev e2e-scoped
yes list cmpv2issuers.cmpv2-issuer.dev e2e-scoped
yes watch cmpv2issuers.cmpv2-issuer.dev e2e-scoped
yes patch cmpv2issuers.cmpv2-issuer.dev e2e-scoped status
yes create events.events.k8s.io e2e-scoped
yes patch events.events.k8s.io e2e-scoped
yes get secrets cmpv2-issuer
yes get configmaps cmpv2-issuer
yes get cmpv2clusterissuers.cmpv2-issuer.dev cluster
yes list cmpv2clusterissuers.cmpv2-issuer.dev cluster
yes watch cmpv2clusterissuers.cmpv2-issuer.dev cluster
yes patch cmpv2clusterissuers.cmpv2-issuer.dev cluster status
yes get leases.coordination.k8s.io cmpv2-issuer
yes create leases.coordination.k8s.io cmpv2-issuer
yes update leases.coordination.k8s.io cmpv2-issuer
no get leases.coordination.k8s.io e2e-scoped
no list secrets e2e-scoped
no get secrets kube-system
no get secrets e2e
no get configmaps kube-system
no list certificaterequests.cert-manager.io all
no list cmpv2issuers.cmpv2-issuer.dev all
no patch certificaterequests.cert-manager.io e2e status
no create events.events.k8s.io e2e
EOF
  echo "the API server grants the scoped release its namespace, Secrets/ConfigMaps (get) in the cluster resource namespace and CMPv2ClusterIssuers, nothing else asked"

  local token; token=$(k -n cmpv2-issuer create token "$sa" --duration 1h)
  kubeconfig "$WORK/scoped.kubeconfig" "    token: $token"
  stop issuer
  # Whatever happens here, the main issuer runs again for the scenarios after this one.
  trap 'stop issuer-scoped; start_issuer issuer "$ISSUER_PORT"' EXIT
  local port; port=$(free_port)
  # With leader election as the chart runs it: its Lease, under its own name.
  local lease; lease=$(grep -o -- '--lease-name=[^ ]*' "$WORK/chart-scoped.yaml" | cut -d= -f2)
  [ "$lease" = scoped-cmpv2-issuer-leader ] || fail "the chart names the Lease '$lease'"
  start_issuer issuer-scoped "$port" "$WORK/scoped.kubeconfig" --namespace e2e-scoped \
    --leader-elect --lease-namespace cmpv2-issuer --lease-name "$lease"
  local holder; holder=$(k -n cmpv2-issuer get lease "$lease" -o jsonpath='{.spec.holderIdentity}')
  [ -n "$holder" ] || fail "Lease $lease has no holder"
  echo "the scoped issuer holds Lease cmpv2-issuer/$lease as $holder"
  # A cluster issuer Ready under the scoped issuer alone: it read the Secret its cluster
  # issuer names in the cluster resource namespace (the -cluster-resources Role).
  k -n cmpv2-issuer create secret generic cmp-shared-secret --from-literal=secret="$SECRET" >/dev/null
  k apply -f - <<EOF
apiVersion: cmpv2-issuer.dev/v1alpha1
kind: CMPv2ClusterIssuer
metadata: {name: scoped-cluster-ca}
spec:
  url: $CA_URL
  protection:
    sharedSecret:
      secretRef: {name: cmp-shared-secret, key: secret}
      reference: e2e
  limits: {healthCheckIntervalSeconds: 0}
EOF
  k wait --for condition=Ready=True --timeout 60s cmpv2clusterissuer/scoped-cluster-ca >/dev/null ||
    fail "cluster issuer not Ready under the scoped RBAC: $(k get cmpv2clusterissuer/scoped-cluster-ca -o jsonpath='{.status.conditions}')"
  k -n e2e-scoped create secret generic cmp-shared-secret --from-literal=secret="$SECRET" >/dev/null
  mac_issuer scoped-ca "$CA_URL" | k apply -f -
  wait_ready cmpv2issuer/scoped-ca 60
  bare_request s9 scoped-ca scoped.e2e.test
  # cert-manager does not watch this namespace; approve as its approver would.
  decide s9 Approved >/dev/null
  k wait -n e2e-scoped --for condition=Ready=True --timeout 60s certificaterequest/s9 >/dev/null ||
    fail "s9 not Ready: $(k get -n e2e-scoped certificaterequest/s9 -o jsonpath='{.status.conditions}') $(grep -i "forbidden\|error" "$WORK/logs/issuer-scoped.log" | tail -n 3)"
  k get -n e2e-scoped certificaterequest/s9 -o jsonpath='{.status.certificate}' | base64 -d >"$WORK/s9.crt"
  same_key "$WORK/s9.crt" "$WORK/s9.key" || fail "the certificate is for another key"
  ! grep -qi "forbidden" "$WORK/logs/issuer-scoped.log" || fail "the scoped issuer was refused: $(grep -i forbidden "$WORK/logs/issuer-scoped.log" | head -n 2)"
  echo "signed with the scoped RBAC: $(openssl x509 -in "$WORK/s9.crt" -noout -subject)"
}

# 7. The issuer SIGKILLed while the CA answers "waiting": the restarted issuer resumes the
#    same transaction: that CA saw exactly one enrollment (requests.log) and issued one
#    certificate.
scenario_7() {
  local port; port=$(free_port)
  start_ca ca7 "$port" "$WORK/ca7" --poll 4 --check-after 3
  ca_root "$WORK/ca7" "$WORK/ca7-root.pem"
  k -n e2e create configmap poll-ca-root --from-file=ca.pem="$WORK/ca7-root.pem"
  mac_issuer poll-ca "http://127.0.0.1:$port/" "  trustAnchors: {configMapRef: {name: poll-ca-root, key: ca.pem}}" | k apply -f -
  wait_ready cmpv2issuer/poll-ca 60
  certificate s7 s7-tls CMPv2Issuer poll-ca 24h | k apply -f -
  local cr deadline
  cr=$(first_request s7 60)
  deadline=$((SECONDS + 60))
  # Killed once the CA has answered "waiting" (the request's message says so).
  until [ -n "$(k get -n e2e certificaterequest/"$cr" -o jsonpath='{.metadata.annotations.cmpv2-issuer\.dev/in-flight}')" ] &&
        grep -q 'answered "waiting"' <<<"$(cond "certificaterequest/$cr" Ready message)"; do
    [ $SECONDS -lt $deadline ] || fail "$cr never waiting: $(cond "certificaterequest/$cr" Ready message)"
    sleep 0.2
  done
  stop issuer KILL
  # Whatever happens here, the issuer runs again for the scenarios after this one.
  trap '[ -n "$(pid_of issuer)" ] || start_issuer issuer "$ISSUER_PORT"' EXIT
  local tx; tx=$(in_flight_tx "$cr")
  [ -n "$tx" ] || fail "no transactionID in the in-flight checkpoint"
  echo "killed the issuer (SIGKILL) while $cr was in flight, transactionID $tx"
  [ "$(issued_count "$WORK/ca7")" = 0 ] || fail "the CA issued before the kill (poll count too low)"
  start_issuer issuer "$ISSUER_PORT"
  # Until the request is done, any checkpoint on it must name the same transaction.
  local seen=0 now
  deadline=$((SECONDS + 120))
  until [ "$(cond certificate/s7 Ready status)" = True ]; do
    now=$(in_flight_tx "$cr")
    if [ -n "$now" ]; then
      [ "$now" = "$tx" ] || fail "the restarted issuer started transaction $now"
      seen=$((seen + 1))
    fi
    [ $SECONDS -lt $deadline ] || fail "s7 not Ready 120 s after the restart"
    sleep 0.3
  done
  echo "the same transactionID seen $seen times after the restart"
  [ "$seen" -gt 0 ] || fail "no checkpoint seen after the restart: nothing shows it resumed"
  local n; n=$(issued_count "$WORK/ca7")
  [ "$n" = 1 ] || fail "the CA issued $n certificates, want exactly 1"
  # One enrollment transaction at the CA, the one the killed issuer started.
  [ "$(requests_count "$WORK/ca7")" = 1 ] || fail "the CA saw $(requests_count "$WORK/ca7") enrollments: $(cat "$WORK/ca7/requests.log")"
  local logged; logged=$(awk '{print toupper($3)}' "$WORK/ca7/requests.log")
  [ "$logged" = "$(tr a-f A-F <<<"$tx")" ] || fail "the CA's enrollment is transaction $logged, the checkpoint's $tx"
  check_secret s7-tls "$WORK/s7" s7.e2e.test,alt-s7.e2e.test 192.0.2.10 24 "$WORK/ca7-root.pem"
  echo "one enrollment, resumed after the restart"
}

# The transactionID in a request's in-flight checkpoint: the checkpoint is DER and its
# first 16-byte OCTET STRING is the transactionID.
in_flight_tx() { # certificaterequest
  k get -n e2e certificaterequest/"$1" -o jsonpath='{.metadata.annotations.cmpv2-issuer\.dev/in-flight}' |
    base64 -d 2>/dev/null | openssl asn1parse -inform DER 2>/dev/null |
    awk '/l= *16 prim: OCTET STRING/ { sub(/.*HEX DUMP\]:/, ""); print; exit }' || true
}

# 8. N Certificates at once: all Ready; the time and the issuer's peak memory.
scenario_8() {
  k get cmpv2issuer/test-ca -n e2e >/dev/null 2>&1 || { mac_issuer test-ca "$CA_URL" | k apply -f -; wait_ready cmpv2issuer/test-ca 60; }
  local pid; pid=$(pid_of issuer)
  local idle; idle=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  for i in $(seq "$N_CERTS"); do
    certificate "load-$i" "load-$i-tls" CMPv2Issuer test-ca 24h
    echo ---
  done >"$WORK/load.yaml"
  local t=$SECONDS start_ns; start_ns=$(date +%s%N)
  k apply -f "$WORK/load.yaml" >/dev/null
  local ready=0 deadline=$((SECONDS + 600))
  while :; do
    ready=$(k get certificates -n e2e -o jsonpath='{range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | awk '$1 ~ /^load-/ && $2 == "True"' | wc -l)
    [ "$ready" -lt "$N_CERTS" ] || break
    [ $SECONDS -lt $deadline ] || fail "$ready of $N_CERTS Ready after 600 s"
    sleep 1
  done
  local ms=$((($(date +%s%N) - start_ns) / 1000000))
  local peak; peak=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  sleep 5
  local after; after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  echo "$N_CERTS Certificates Ready in $((ms / 1000)).$((ms % 1000 / 100)) s; issuer RSS idle $((idle / 1024)) MB before, peak $((peak / 1024)) MB, $((after / 1024)) MB after (targets: < 60 s, peak < 50 MB, idle < 30 MB)"
  # The issue's targets, for 200 Certificates on 2 cores.
  [ "$ms" -lt 60000 ] || fail "over 60 s"
  [ "$peak" -lt $((50 * 1024)) ] || fail "issuer peak RSS over 50 MB"
  [ "$idle" -lt $((30 * 1024)) ] || fail "issuer idle RSS over 30 MB"
}

# ---------------------------------------------------------------- EJBCA (../shared/ejbca)
# The issuer against a real EJBCA CE 8.2, the kit's aliases (e2e/ejbca.sh start runs it):
# what EJBCA accepts and answers, not what our test CA does. EJBCA takes the validity
# (2 years) and the usages from its ENDUSER profile, so these checks do not ask for the
# duration and usages the Certificates name.
EJBCA_CMP_URL=${EJBCA_CMP_URL:-http://127.0.0.1:8080/ejbca/publicweb/cmp}
EJBCA_KIT=${EJBCA_KIT:-$(cd "$REPO/.." && pwd)/shared/ejbca}
EJBCA_CA_DN="CN=ManagementCA,O=EJBCA Sample,C=SE"

ejbca_ready() { # once per run: EJBCA answers, and its credentials are in namespace e2e
  local health=${EJBCA_CMP_URL%/ejbca/publicweb/cmp}/ejbca/publicweb/healthcheck/ejbcahealth
  [ "$(curl -s --max-time 5 "$health")" = ALLOK ] ||
    fail "EJBCA does not answer $health: start it with e2e/ejbca.sh start"
  k -n e2e get configmap ejbca-ca >/dev/null 2>&1 && return 0
  k -n e2e create configmap ejbca-ca --from-file=ca.pem="$EJBCA_KIT/ManagementCA.pem" >/dev/null
  k -n e2e create secret generic ejbca-hmac --from-literal=secret=foo123 >/dev/null
  k -n e2e create secret tls ejbca-ra --cert "$EJBCA_KIT/ra.crt" --key "$EJBCA_KIT/ra.key" >/dev/null
}

ejbca_issuer() { # name alias protection-yaml [extra spec yaml]
  cat <<EOF
apiVersion: cmpv2-issuer.dev/v1alpha1
kind: CMPv2Issuer
metadata: {name: $1, namespace: e2e}
spec:
  url: $EJBCA_CMP_URL/$2
  recipient: "$EJBCA_CA_DN"
  protection:
    $3
  trustAnchors: {configMapRef: {name: ejbca-ca, key: ca.pem}}
  healthCheck: None
${4:-}
EOF
}
EJBCA_HMAC="sharedSecret: {secretRef: {name: ejbca-hmac, key: secret}, reference: cmpv2-e2e}"

# A Certificate of $1 through issuer $2, Ready, its Secret checked against ManagementCA.
ejbca_certificate() { # name issuer
  certificate "$1" "$1-tls" CMPv2Issuer "$2" 24h | k apply -f -
  wait_ready "certificate/$1" 90
  ejbca_check_secret "$1-tls" "$WORK/$1" "$1.e2e.test"
}

ejbca_check_secret() { # secret dir common-name
  local d=$2 f subject
  mkdir -p "$d"
  for f in tls.crt tls.key ca.crt; do
    secret_file "$1" "$f" "$d/$f"
    [ -s "$d/$f" ] || fail "$1 has no $f"
  done
  same_key "$d/tls.crt" "$d/tls.key" || fail "tls.key does not match tls.crt"
  openssl verify -CAfile "$EJBCA_KIT/ManagementCA.pem" "$d/tls.crt" >/dev/null ||
    fail "tls.crt does not verify against ManagementCA"
  subject=$(openssl x509 -in "$d/tls.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
  [ "$subject" = "CN=$3" ] || fail "subject is '$subject', want CN=$3"
  openssl x509 -in "$d/ca.crt" -noout -subject -nameopt RFC2253 | grep -q "CN=ManagementCA" ||
    fail "ca.crt does not hold ManagementCA"
  echo "$1: $(openssl x509 -in "$d/tls.crt" -noout -subject -issuer -serial -enddate | paste -sd' ')"
}

# e1. RA mode with HMAC, raVerified (the issuer never holds the workload's key): the
#     default request type (cr) on the alias that allows raVerified; answers signed by
#     the CA, so trustAnchors hold ManagementCA; healthCheck None (EJBCA 8.2 has no genm).
#     Then a renewal (the Issuing condition, as cmctl renew sets it): a new key, a new
#     certificate for the same end entity.
scenario_ejbca_raverify() {
  ejbca_ready
  ejbca_issuer ejbca-raverify cmpra-raverify "$EJBCA_HMAC" | k apply -f -
  wait_ready cmpv2issuer/ejbca-raverify 60
  ejbca_certificate e1 ejbca-raverify
  local serial0; serial0=$(openssl x509 -in "$WORK/e1/tls.crt" -noout -serial)
  k patch certificate/e1 -n e2e --subresource status --type json -p "[{\"op\":\"add\",\"path\":\"/status/conditions/-\",\"value\":{\"type\":\"Issuing\",\"status\":\"True\",\"reason\":\"ManuallyTriggered\",\"message\":\"e2e renewal\",\"lastTransitionTime\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}}]"
  revision_2() { [ "$(k get certificate/e1 -n e2e -o jsonpath='{.status.revision}')" = 2 ]; }
  wait_for 90 "revision 2 of e1" revision_2 || fail "e1 was not renewed"
  wait_ready certificate/e1 60
  ejbca_check_secret e1-tls "$WORK/e1-renewed" e1.e2e.test
  [ "$(openssl x509 -in "$WORK/e1-renewed/tls.crt" -noout -serial)" != "$serial0" ] ||
    fail "the same certificate after renewal"
  ! cmp -s "$WORK/e1/tls.key" "$WORK/e1-renewed/tls.key" || fail "the same key after renewal"
  echo "renewed: $serial0 → $(openssl x509 -in "$WORK/e1-renewed/tls.crt" -noout -serial)"
}

# e2. RA mode with HMAC and requestType P10cr: cert-manager's CSR goes to EJBCA as is,
#     and EJBCA answers with certReqId 0 (accepted by default; the compatibility switch
#     strictP10crCertReqId would refuse it).
scenario_ejbca_p10cr() {
  ejbca_ready
  ejbca_issuer ejbca-p10cr cmpra "$EJBCA_HMAC" "  requestType: p10cr" | k apply -f -
  wait_ready cmpv2issuer/ejbca-p10cr 60
  ejbca_certificate e2 ejbca-p10cr
}

# e3. RA mode authenticated by the RA's signing certificate (the kit's ra.crt, which
#     EJBCA issued and made an administrator): requests signed, raVerified POP.
scenario_ejbca_ra_signature() {
  ejbca_ready
  ejbca_issuer ejbca-sig cmpra-sig "signature: {secretName: ejbca-ra}" "  requestType: ir" | k apply -f -
  wait_ready cmpv2issuer/ejbca-sig 60
  ejbca_certificate e3 ejbca-sig
}

run_scenario() { # name function
  local out=$WORK/logs/scenario-$1.log rc
  set +e
  (set -e; "$2") >"$out" 2>&1
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    echo "PASS $1"; PASSED=$((PASSED + 1))
  else
    echo "FAIL $1"; FAILED=$((FAILED + 1))
  fi
  sed 's/^/    /' "$out" | tail -n 15
}

PASSED=0
run_scenario helm-lint scenario_helm_lint
run_scenario probes scenario_probes
for s in $SCENARIOS; do
  case $s in
    1) run_scenario 1-shared-secret scenario_1 ;;
    1b) run_scenario 1b-no-trust-anchors scenario_1b ;;
    1c) run_scenario 1c-issuer-after-request scenario_1c ;;
    2) run_scenario 2-cluster-issuer-signature-ir scenario_2 ;;
    3) run_scenario 3-renewal scenario_3 ;;
    4) run_scenario 4-ca-down-then-back scenario_4 ;;
    5) run_scenario 5-ca-rejects scenario_5 ;;
    6) run_scenario 6-denied scenario_6 ;;
    7) run_scenario 7-sigkill-resume scenario_7 ;;
    9) run_scenario 9-watch-namespace-rbac scenario_9 ;;
    8) run_scenario "8-load-$N_CERTS" scenario_8 ;;
    e1) run_scenario e1-ejbca-raverified-cr-and-renewal scenario_ejbca_raverify ;;
    e2) run_scenario e2-ejbca-p10cr scenario_ejbca_p10cr ;;
    e3) run_scenario e3-ejbca-ra-signature scenario_ejbca_ra_signature ;;
    *) die "unknown scenario $s" ;;
  esac
done
echo "$PASSED passed, $FAILED failed"
log "total $((SECONDS - T0)) s"
[ "$FAILED" -eq 0 ]
