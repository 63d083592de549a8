#!/usr/bin/env bash
# Prints the bin directory of a venv holding the Python tools of the test bed (moto, botocore,
# cfn-lint), creating it on first use. A second run with unchanged requirements takes well under a
# second.
#
# Every package comes from requirements-dev.txt, pinned with its hashes: pip runs with
# --require-hashes, so a dependency the file does not pin, or a download whose hash it does not
# list, fails the install; and with --only-binary, so no package's build code (setup.py) runs.
# pip keeps a package already installed at the pinned version without checking its hash, so a venv
# is never upgraded in place: each requirements-dev.txt gets its own, under .cache/python/<digest>/
# ($TEST_BED_VENVS/<digest>/ when set), left as it is once complete. Checkouts that share .cache
# (worktrees) with other requirements therefore never pull a venv from under each other's tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
req="$root/requirements-dev.txt"
digest=$(sha256sum "$req" | cut -d' ' -f1)
venv="${TEST_BED_VENVS:-$root/.cache/python}/${digest:0:16}"
stamp="$venv/.requirements.sha256"
complete() { [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$digest" ]]; }

# .cache/venv, where the demo looks for the bed's Python, points to the venv in use. An older
# checkout's .cache/venv (a directory its own script maintains) is left alone.
link_cache_venv() {
  local link="$root/.cache/venv"
  [[ -z "${TEST_BED_VENVS:-}" && (-L "$link" || ! -e "$link") ]] || return 0
  ln -sfn "python/${digest:0:16}" "$link"
}

if complete; then
  link_cache_venv
  echo "$venv/bin"
  exit 0
fi
command -v python3 >/dev/null || { echo "python-venv: ERROR: python3 is not installed" >&2; exit 1; }
mkdir -p "$(dirname "$venv")"
# One builder at a time (the unit and integration suites both ask); a waiting one then finds the
# venv complete. Where flock is missing (macOS), runs are not serialised.
if command -v flock >/dev/null; then
  exec 9>"$venv.lock"
  flock 9
fi
if ! complete; then
  # Left by an install cut short (the stamp is written last): nothing uses it yet.
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 \
    || { echo "python-venv: ERROR: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: -r "$req" >&2 \
    || { echo "python-venv: ERROR: pip could not install $req with its hashes" >&2; exit 1; }
  echo "$digest" >"$stamp"
fi
link_cache_venv
echo "$venv/bin"
