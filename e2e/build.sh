#!/usr/bin/env bash
# Builds, or reuses, the Go binaries that e2e/run.sh needs, each from a small module of
# ours under e2e/ whose go.mod/go.sum pin the version:
#
#   etcd            go.etcd.io/etcd/server/v3              (e2e/etcd)
#   kube-apiserver  k8s.io/kubernetes/cmd/kube-apiserver   (e2e/kube-apiserver)
#   kubectl         k8s.io/kubernetes/cmd/kubectl          (e2e/kube-apiserver, same pins)
#   cert-manager    our launcher over cert-manager's pkg/controller (e2e/cert-manager)
#   helm            helm.sh/helm/v3/cmd/helm                (e2e/helm)
#
# Each binary lands in $E2E_CACHE/<name>-<version>-<hash>/<name>, where <version> is the
# pinned module's version and <hash> the first 12 hex digits of the SHA-256 of that
# module's go.mod, go.sum and *.go (so a change of replace lines or of our launcher also
# rebuilds). A binary that is already there is not built again.
#
# Usage: e2e/build.sh [name...]   (default: all five); prints "name path" lines.
# Sourced, it only defines e2e_binary NAME, which prints the binary's path.
#
# Environment: E2E_CACHE (default ~/.cache/cmpv2-rs/e2e); GOCACHE/GOMODCACHE as usual.
# Builds run under `nice -n 15` so that other work on the machine keeps priority.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_CACHE=${E2E_CACHE:-$HOME/.cache/cmpv2-rs/e2e}
# The machine's Go (1.26) is what the modules ask for: never fetch another toolchain.
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

# name → "module-dir|pinned module|package to build"
e2e__spec() {
  case $1 in
    etcd) echo "etcd|go.etcd.io/etcd/server/v3|go.etcd.io/etcd/server/v3" ;;
    kube-apiserver) echo "kube-apiserver|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kube-apiserver" ;;
    kubectl) echo "kube-apiserver|k8s.io/kubernetes|k8s.io/kubernetes/cmd/kubectl" ;;
    cert-manager) echo "cert-manager|github.com/cert-manager/cert-manager|." ;;
    helm) echo "helm|helm.sh/helm/v3|helm.sh/helm/v3/cmd/helm" ;;
    *) echo "e2e/build.sh: unknown binary $1" >&2; return 64 ;;
  esac
}

# The pinned version, read from go.mod without asking the network.
e2e__version() { # dir module
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1/go.mod"
}

e2e_binary() { # name → path of the built binary (builds it when missing)
  local spec dir module pkg version hash out ldflags=()
  spec=$(e2e__spec "$1") || return
  IFS='|' read -r dir module pkg <<<"$spec"
  dir=$E2E_DIR/$dir
  version=$(e2e__version "$dir" "$module")
  [ -n "$version" ] || { echo "e2e/build.sh: no version of $module in $dir/go.mod" >&2; return 1; }
  hash=$(cd "$dir" && cat go.mod go.sum $(ls ./*.go 2>/dev/null) | sha256sum | cut -c1-12)
  out=$E2E_CACHE/$1-$version-$hash/$1
  if [ ! -x "$out" ]; then
    case $1 in
      kube-apiserver|kubectl)
        # What `--version` and /version report; the build flags of a release.
        local minor=${version#v1.}; minor=${minor%%.*}
        ldflags=(-X "k8s.io/component-base/version.gitVersion=$version"
                 -X "k8s.io/component-base/version.gitMajor=1"
                 -X "k8s.io/component-base/version.gitMinor=$minor") ;;
    esac
    echo "e2e/build.sh: building $1 $version (cached afterwards in $(dirname "$out"))" >&2
    mkdir -p "$(dirname "$out")"
    local start=$SECONDS
    (cd "$dir" && nice -n 15 go build -buildvcs=false -trimpath -ldflags="-s -w ${ldflags[*]}" -o "$out.tmp" "$pkg") || return
    mv "$out.tmp" "$out"
    echo "e2e/build.sh: built $1 in $((SECONDS - start)) s" >&2
  fi
  echo "$out"
}

e2e__main() {
  set -euo pipefail
  local names=("$@") n p
  [ ${#names[@]} -gt 0 ] || names=(etcd kube-apiserver kubectl cert-manager helm)
  for n in "${names[@]}"; do
    p=$(e2e_binary "$n")
    echo "$n $p"
  done
}

# Run as a script (not sourced): on one line with exit, so that bash has read all of it
# before it runs, whatever happens to the file meanwhile.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then e2e__main "$@"; exit; fi
