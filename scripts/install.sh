#!/usr/bin/env bash
# Install rlcert (editable) into a virtual environment: scripts/install.sh [EXTRAS]
#   EXTRAS       comma-separated extras, e.g. "dev" or "dev,train" (default: none)
#   RLCERT_VENV  where the environment lives (default: .venv)
#   PYTHON       interpreter that creates it (default: python3)
#   RLCERT_TORCH a pip requirement or wheel for torch, to override the choice below
#
# torch is installed first, on purpose: a plain "torch" requirement resolved by pip pulls a CUDA build
# of several GB. Where pip's find-links hold a CPU wheel of torch (as on our build machines), that
# wheel is used; otherwise the newest torch pip finds, unless RLCERT_TORCH says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${RLCERT_VENV:-.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check)

if ! "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
  spec="${RLCERT_TORCH:-}"
  if [ -z "$spec" ]; then
    links="${PIP_FIND_LINKS:-} $("${pip[@]}" config list 2>/dev/null | sed -n "s/^.*find-links='\(.*\)'$/\1/p")"
    for dir in $links; do
      wheel=$(ls "$dir"/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -n 1 || true)
      if [ -n "$wheel" ]; then spec="$wheel"; break; fi
    done
  fi
  echo "rlcert install: torch from ${spec:-the package index}"
  "${pip[@]}" install -q "${spec:-torch}"
fi

target="."
[ -n "$extras" ] && target=".[${extras}]"
"${pip[@]}" install -q -e "$target"
echo "rlcert install: done ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
