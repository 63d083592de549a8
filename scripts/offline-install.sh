#!/usr/bin/env bash
# Proves that `npm ci` on a clean checkout needs nothing package-lock.json does not pin:
#   1. a fresh, empty npm cache is filled by `npm ci --ignore-scripts` alone, so it holds exactly the
#      tarballs the lockfile names for this platform (npm ci never resolves anything else);
#   2. a second clean copy is installed from that cache with `--offline`, install scripts as
#      package.json's allowScripts decides (strict: an unreviewed script fails the install); npm
#      passes the offline setting on to scripts, so one that ran `npm install` (as the old `node`
#      package's preinstall did) for anything outside the lockfile fails the run;
#   3. the Node.js that npm scripts put first on PATH is the toolchain's exact version.
# The static half of the rule (integrity everywhere, every install script reviewed) is
# scripts/lockfile-policy.ts, run by the unit tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

checkout() {
  mkdir -p "$1/toolchain"
  cp "$root/package.json" "$root/package-lock.json" "$1/"
  cp "$root/toolchain/package.json" "$1/toolchain/"
}
quiet=(--no-audit --no-fund --loglevel=error)

checkout "$work/prime"
(cd "$work/prime" && npm ci --ignore-scripts --cache "$work/cache" "${quiet[@]}")
echo "offline-install: a fresh cache filled by the lockfile alone: $(find "$work/cache/_cacache/content-v2" -type f | wc -l) entries"

checkout "$work/clean"
(cd "$work/clean" && npm ci --offline --strict-allow-scripts --cache "$work/cache" "${quiet[@]}")

want=v$(node -p "require('$root/toolchain/package.json').version")
got=$(cd "$work/clean" && npm exec --offline --cache "$work/cache" -- node --version)
if [[ "$got" != "$want" ]]; then
  echo "offline-install: npm scripts run Node $got, not the toolchain's $want" >&2
  exit 1
fi
echo "offline-install: npm ci --offline installed everything from the lockfile alone; npm scripts run Node $got"
