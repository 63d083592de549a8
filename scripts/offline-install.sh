#!/usr/bin/env bash
# Proves, on copies of a clean checkout, that `npm ci` installs only what package-lock.json pins and
# runs no install script that package.json has not reviewed:
#   1. a fresh, empty npm cache is filled by `npm ci --ignore-scripts` alone, so it holds exactly the
#      tarballs the lockfile names for this platform (npm ci never resolves anything else);
#   2. the guards bind: npm ci refuses, before installing anything, a copy whose allowScripts leaves
#      out a package with an install script (.npmrc's strict-allow-scripts, no flag), and a copy
#      whose devEngines asks for another npm than the one running;
#   3. a clean copy installs from that cache with `--offline`, install scripts as allowScripts
#      decides; npm passes the offline setting on to scripts, so one that ran `npm install` (as the
#      old `node` package's preinstall did) for anything outside the lockfile fails the run;
#   4. that copy works without the scripts allowScripts denies (esbuild builds, @parcel/watcher
#      loads), and the Node.js that npm scripts put first on PATH is the toolchain's exact version.
# The static half of the rule (integrity everywhere, every install script reviewed, npm pinned) is
# scripts/lockfile-policy.ts, run by the unit tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "offline-install: $*" >&2; exit 1; }

# Run from `npm run`, this script inherits npm's settings as npm_config_* variables (the project's
# strict-allow-scripts among them); a clean checkout has only its own files, so drop them.
while read -r name; do unset "$name"; done < <(compgen -e | grep -i '^npm_config_' || true)

checkout() {
  mkdir -p "$1/toolchain"
  cp "$root/package.json" "$root/package-lock.json" "$root/.npmrc" "$1/"
  cp "$root/toolchain/package.json" "$1/toolchain/"
}
quiet=(--no-audit --no-fund --loglevel=error)

checkout "$work/prime"
(cd "$work/prime" && npm ci --ignore-scripts --cache "$work/cache" "${quiet[@]}")
echo "offline-install: a fresh cache filled by the lockfile alone: $(find "$work/cache/_cacache/content-v2" -type f | wc -l) entries"

# refuses ID WHAT CODE EDIT: a copy whose package.json (`p`) the JavaScript EDIT changed must fail
# `npm ci` with npm's error CODE, and leave no node_modules (so no install script ran).
refuses() {
  local dir="$work/$1" what=$2 code=$3 edit=$4
  checkout "$dir"
  (cd "$dir" && node -e "const fs = require('fs'); const p = JSON.parse(fs.readFileSync('package.json'));
    $edit; fs.writeFileSync('package.json', JSON.stringify(p, null, 2))")
  if (cd "$dir" && npm ci --offline --cache "$work/cache" "${quiet[@]}") >"$dir.log" 2>&1; then
    fail "npm ci installed $what; it must refuse it"
  fi
  grep -q "code $code" "$dir.log" || { cat "$dir.log" >&2; fail "npm ci failed on $what, but not with $code"; }
  [[ ! -e "$dir/node_modules" ]] || fail "npm ci refused $what only after installing some of it"
  echo "offline-install: npm ci refuses $what ($code), nothing installed"
}

# The refusal below comes from the copy's .npmrc: npm reads it there, and says whether anything
# else on this machine (user or global config) would make it strict as well.
inside=$(cd "$work/prime" && npm config get strict-allow-scripts)
outside=$(cd "$work" && npm config get strict-allow-scripts)
[[ "$inside" == true ]] || fail "npm does not read strict-allow-scripts=true from .npmrc (it says $inside)"
echo "offline-install: strict-allow-scripts is $inside in a copy, $outside outside it"
refuses unreviewed "a copy whose allowScripts omits esbuild" ESTRICTALLOWSCRIPTS \
  "delete p.allowScripts.esbuild; delete p['//allowScripts'].esbuild"
grep -q 'esbuild@' "$work/unreviewed.log" || fail "npm ci's refusal does not name esbuild"
refuses other-npm "a copy pinned to another npm" EBADDEVENGINES "p.devEngines.packageManager.version = '0.0.1'"

checkout "$work/clean"
(cd "$work/clean" && npm ci --offline --cache "$work/cache" "${quiet[@]}")

# esbuild finds its @esbuild/<platform> binary without its postinstall, and @parcel/watcher its
# prebuilt @parcel/watcher-<platform> without its install script (es5-ext's only prints a message).
(cd "$work/clean" && node_modules/.bin/node -e "
  const stdin = { contents: 'export const n: number = 1;', loader: 'ts' };
  const out = require('esbuild').buildSync({ stdin, write: false });
  if (!out.outputFiles[0].text.includes('n = 1')) throw new Error('esbuild built nothing');
  const watcher = require('@parcel/watcher');
  if (typeof watcher.subscribe !== 'function') throw new Error('@parcel/watcher did not load');
") || fail "the clean copy needs an install script that allowScripts denies"

want=v$(node -p "require('$root/toolchain/package.json').version")
got=$(cd "$work/clean" && npm exec --offline --cache "$work/cache" -- node --version)
[[ "$got" == "$want" ]] || fail "npm scripts run Node $got, not the toolchain's $want"
echo "offline-install: npm ci --offline installed everything from the lockfile alone, without the denied install scripts; npm scripts run Node $got"
