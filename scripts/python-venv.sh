#!/usr/bin/env bash
# Creates .cache/venv with the pinned Python tools of the test bed (moto, botocore, cfn-lint) and
# prints its bin directory. A second run with unchanged requirements takes well under a second.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.cache/venv"
req="$root/requirements-dev.txt"
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$venv/bin"
  exit 0
fi
command -v python3 >/dev/null || { echo "python-venv: ERROR: python3 is not installed" >&2; exit 1; }
python3 -m venv "$venv" >&2 || { echo "python-venv: ERROR: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2 \
  || { echo "python-venv: ERROR: pip could not install $req" >&2; exit 1; }
echo "$want" >"$stamp"
echo "$venv/bin"
