#!/usr/bin/env bash
# Provides the upstream control-plane binaries the test bed, demo and benchmarks run on:
# kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok.
#
# If KUBEBUILDER_ASSETS is set (the envtest convention, e.g. `setup-envtest use -p path`), the
# binaries there are used as they are. Otherwise they are built from the Go module proxy at the
# pinned versions below and cached in .cache/control-plane/<versions>/, so a second run takes
# seconds. Prints the directory that holds the binaries on its last line of stdout.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.33.13}"
# etcd v3.5.21 is the server version Kubernetes v1.33 is released and tested with.
ETCD_VERSION="${ETCD_VERSION:-v3.5.21}"
# kwok v0.7.0 is the newest release that builds with Go 1.26 (v0.8.0 requires a newer Go).
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# kubectl is built too, at the same version, so benchmarks compare against a kubectl with no version skew.
needed=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

log() { printf 'control-plane: %s\n' "$*" >&2; }
die() { printf 'control-plane: ERROR: %s\n' "$*" >&2; exit 1; }

# A first build takes about 10 minutes on 2 cores and go prints nothing meanwhile: every step says
# what it builds, and a long one says every PROGRESS_SECONDS that it is still at it.
PROGRESS_SECONDS="${CONTROL_PLANE_PROGRESS_SECONDS:-30}"
duration() { local s="$1"; if ((s >= 60)); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi; }
since() { duration $(($(date +%s) - $1)); }
# with_progress "<what>" command...: runs the command, logging its start, its progress and its end.
with_progress() {
  local what="$1" began next pid status
  shift
  began=$(date +%s)
  next=$((began + PROGRESS_SECONDS))
  log "$what ..."
  "$@" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (($(date +%s) >= next)) && kill -0 "$pid" 2>/dev/null; then
      log "  ... still $what: $(since "$began") (build running for $(since "$start"))"
      next=$((next + PROGRESS_SECONDS))
    fi
  done
  wait "$pid" && status=0 || status=$?
  ((status == 0)) && log "  done: $what in $(since "$began")"
  return "$status"
}

has_all() {
  local dir="$1" b
  for b in "${needed[@]}"; do [[ -x "$dir/$b" ]] || return 1; done
}

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  [[ -d "$KUBEBUILDER_ASSETS" ]] || die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS is not a directory"
  for b in kube-apiserver etcd; do
    [[ -x "$KUBEBUILDER_ASSETS/$b" ]] || die "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable $b"
  done
  # envtest ships kube-apiserver, etcd and kubectl only: the rest (controller-manager, scheduler,
  # kwok) comes from our own build. A folder of links puts both behind one path.
  merged="$root/.cache/control-plane/envtest-$(printf '%s' "$KUBEBUILDER_ASSETS" | sha256sum | cut -c1-12)"
  mkdir -p "$merged"
  built=""
  for b in "${needed[@]}"; do
    if [[ -x "$KUBEBUILDER_ASSETS/$b" ]]; then
      ln -sfn "$KUBEBUILDER_ASSETS/$b" "$merged/$b"
    else
      [[ -n "$built" ]] || built=$(KUBEBUILDER_ASSETS= "$0" | tail -n 1)
      ln -sfn "$built/$b" "$merged/$b"
    fi
  done
  log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS (links in $merged)"
  echo "$merged"
  exit 0
fi

command -v go >/dev/null || die "Go is not installed; it is needed to build the control plane (or set KUBEBUILDER_ASSETS)"

cache="$root/.cache/control-plane/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
bin="$cache/bin"
if has_all "$bin"; then
  log "using cached binaries in $bin"
  echo "$bin"
  exit 0
fi

mkdir -p "$bin" "$cache/src"
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0
# Go 1.26 builds these releases; don't let the go command fetch another toolchain behind our back.
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}"
start=$(date +%s)
missing=()
for b in "${needed[@]}"; do [[ -x "$bin/$b" ]] || missing+=("$b"); done
if ((${#missing[@]} == ${#needed[@]})); then
  log "first run: building ${missing[*]} from the Go module proxy."
  log "This takes about 10 minutes on 2 cores, once; the binaries are then cached in $bin"
else
  log "building ${missing[*]} from the Go module proxy (cached in $bin)"
fi

build_kubernetes() {
  local dir="$cache/src/kubernetes" staging_version gomod
  staging_version="v0.${K8S_VERSION#v1.}"
  mkdir -p "$dir"
  log "downloading k8s.io/kubernetes@${K8S_VERSION} from the Go module proxy"
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  [[ -f "$gomod" ]] || die "could not download k8s.io/kubernetes@${K8S_VERSION} from the Go module proxy"
  {
    echo "module eks-spot-drainer/control-plane"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes ${K8S_VERSION}"
    echo
    # k8s.io/kubernetes points every staging module at ./staging; the published v0.X.Y tags
    # are the same code, so the wrapper points them there.
    grep -oE '^\s+k8s\.io/[a-z0-9-]+ => \./staging' "$gomod" | awk -v v="$staging_version" '{print "replace " $1 " => " $1 " " v}'
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  local ldflags="-s -w"
  local major="${K8S_VERSION#v}"; major="${major%%.*}"
  local minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=${K8S_VERSION} -X $pkg.gitMajor=${major} -X $pkg.gitMinor=${minor} -X $pkg.gitTreeState=clean"
  done
  tidy() { (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true); }
  with_progress "downloading the modules of Kubernetes ${K8S_VERSION}" tidy
  for cmd in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [[ -x "$bin/$cmd" ]] && continue
    build() { (cd "$dir" && go build -tags tools -trimpath -ldflags "$ldflags" -o "$bin/$cmd" "k8s.io/kubernetes/cmd/$cmd"); }
    with_progress "building $cmd ${K8S_VERSION}" build || die "building $cmd ${K8S_VERSION} failed"
  done
}

build_etcd() {
  local dir="$cache/src/etcd"
  mkdir -p "$dir"
  cat >"$dir/go.mod" <<GOMOD
module eks-spot-drainer/etcd

go 1.24.0

require go.etcd.io/etcd/server/v3 ${ETCD_VERSION}
GOMOD
  cat >"$dir/tools.go" <<'GO'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
GO
  build() {
    (cd "$dir" && go mod tidy -e >/dev/null 2>&1 || true)
    (cd "$dir" && go build -tags tools -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
  }
  with_progress "building etcd ${ETCD_VERSION}" build || die "building etcd ${ETCD_VERSION} failed"
}

build_kwok() {
  build() { GOBIN="$bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"; }
  with_progress "building kwok ${KWOK_VERSION}" build || die "building kwok ${KWOK_VERSION} failed"
}

[[ -x "$bin/kwok" ]] || build_kwok
[[ -x "$bin/etcd" ]] || build_etcd
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
  [[ -x "$bin/$b" ]] || { build_kubernetes; break; }
done

has_all "$bin" || die "the build finished but binaries are missing from $bin"

# kubectl supports one minor version of skew with the API server. Our own kubectl is built above;
# a different one on PATH is only worth a note, since the test bed and benchmarks use ours.
if command -v kubectl >/dev/null; then
  path_minor=$(kubectl version --client -o json 2>/dev/null | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n 1)
  want_minor="${K8S_VERSION#v*.}"; want_minor="${want_minor%%.*}"
  if [[ -n "$path_minor" ]] && (( path_minor < want_minor - 1 || path_minor > want_minor + 1 )); then
    log "note: kubectl on PATH is 1.$path_minor, outside the supported skew with ${K8S_VERSION}; use $bin/kubectl"
  fi
fi
log "built in $(since "$start") into $bin"
echo "$bin"
