#!/usr/bin/env bash
# Prints a directory whose `npm` is the version package.json pins, to put first on PATH.
#
# The pin is packageManager, "npm@<version>+sha512.<hex digest of the tarball>" (corepack reads it
# too), and devEngines.packageManager makes that npm refuse `npm ci` and `npm run` under any other
# version. Neither binds an npm older than devEngines and allowScripts: it would ignore both, and
# .npmrc's strict-allow-scripts, and run every install script. So CI does not trust the machine's
# npm: when it is another version, the pinned tarball is fetched, checked against the pinned digest
# before anything in it runs, and unpacked into .cache/npm-<version>/ (the machine's npm stays).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fail() { echo "pinned-npm: ERROR: $*" >&2; exit 1; }

spec=$(node -p "require('$root/package.json').packageManager ?? ''")
[[ $spec =~ ^npm@([0-9]+\.[0-9]+\.[0-9]+)\+sha512\.([0-9a-f]{128})$ ]] \
  || fail "package.json packageManager is '$spec', not npm@<version>+sha512.<hex>"
version=${BASH_REMATCH[1]}
digest=${BASH_REMATCH[2]}

if [[ "$(npm --version 2>/dev/null)" == "$version" ]]; then
  dirname "$(command -v npm)"
  exit 0
fi

dir="$root/.cache/npm-$version"
if [[ ! -x "$dir/bin/npm" ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # npm pack runs no script of the package it fetches; the digest is checked before tar reads it.
  (cd "$work" && npm pack "npm@$version" --silent >/dev/null) \
    || fail "could not fetch npm@$version from the registry"
  tarball="$work/npm-$version.tgz"
  got=$(sha512sum "$tarball" | cut -d' ' -f1)
  [[ "$got" == "$digest" ]] || fail "npm-$version.tgz has sha512 $got, package.json pins $digest"
  mkdir -p "$work/npm/lib/node_modules/npm" "$work/npm/bin"
  tar -xzf "$tarball" -C "$work/npm/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/npm/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/npm/bin/npx"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$work/npm" "$dir"
fi

# npm 11 does not run on every Node.js that an older npm ran on: say so rather than carry on.
got=$(PATH="$dir/bin:$PATH" npm --version) || true
[[ "$got" == "$version" ]] || fail "npm $version does not run on Node.js $(node --version) (it needs" \
  "$(node -p "require('$dir/lib/node_modules/npm/package.json').engines.node"))"
echo "$dir/bin"
