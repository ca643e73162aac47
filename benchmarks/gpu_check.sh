#!/usr/bin/env bash
# The GPU check (benchmarks/README.md, "GPU check"): hf backend vs a plain transformers loop, bf16
# throughput by batch size, NVML energy of the run, and vllm vs raw vLLM where vLLM is installed.
#
#   bash benchmarks/gpu_check.sh --prepare [--wheels none|minimal|embedded]   # development machine
#   bash benchmarks/gpu_check.sh [gpu_check.py run options]                     # GPU machine, offline
#   bash benchmarks/gpu_check.sh --cpu [options]                                # dry run on a CPU machine
#
# It uses the Python it finds ($PYTHON, else python3; .venv/bin/python for --cpu and --prepare) with
# whatever that Python has installed (torch, transformers, nvidia-ml-py), installs the carried wheels
# and the harness with --no-deps into a throwaway virtualenv that sees those packages, and runs
# benchmarks/gpu_check.py under a 5-minute limit. Nothing is downloaded and nothing outside the
# temporary folder is written (the bundle only with --prepare).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bundle=${GPU_CHECK_BUNDLE:-$repo/benchmarks/gpu_bundle}
python=${PYTHON:-}
if [ -z "$python" ]; then
  python=python3
  case "${1:-}" in  # both run on a development machine, whose packages live in .venv
    --cpu | --prepare) if [ -x "$repo/.venv/bin/python" ]; then python=$repo/.venv/bin/python; fi ;;
  esac
fi

if [ "${1:-}" = "--prepare" ]; then
  shift
  exec "$python" "$repo/benchmarks/gpu_check.py" prepare --bundle "$bundle" "$@"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
started=$SECONDS

# A virtualenv of our own, which also sees every package of the Python it was made from (a .pth
# line per site-packages folder), so torch and friends are used as installed, never reinstalled.
# Without a pip of its own: an older ensurepip would also bring a setuptools that shadows the one
# installed; the base Python's pip is used through the .pth line, ensurepip only if it has none.
"$python" -m venv --without-pip "$work/venv"
venv_python=$work/venv/bin/python
site=$("$venv_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$python" - > "$site/base-python-packages.pth" <<'PY'
import site
folders = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
print("import site; " + "; ".join(f"site.addsitedir({folder!r})" for folder in folders))
PY

if ! "$venv_python" -m pip --version >/dev/null 2>&1; then "$venv_python" -m ensurepip --default-pip >/dev/null; fi
pip=("$venv_python" -m pip install --quiet --no-deps --no-index --disable-pip-version-check)
if [ -d "$bundle/wheels" ]; then
  shopt -s nullglob
  carried=("$bundle"/wheels/*.whl)
  shopt -u nullglob
  runtime=()
  for wheel in "${carried[@]}"; do
    case $(basename "$wheel") in setuptools-*) ;; *) runtime+=("$wheel") ;; esac
  done
  if [ ${#runtime[@]} -gt 0 ]; then "${pip[@]}" "${runtime[@]}"; fi
fi

# The package sources only, so the build writes nothing into the checkout.
mkdir "$work/src"
cp -r "$repo/harness" "$repo/tasks" "$repo/pyproject.toml" "$repo/README.md" "$work/src/"
if "$venv_python" -c 'import setuptools, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 68)' \
  2>/dev/null; then
  "${pip[@]}" --no-build-isolation "$work/src"
elif [ -d "$bundle/wheels" ]; then
  "${pip[@]}" --find-links "$bundle/wheels" "$work/src"  # builds with the carried setuptools wheel
else
  echo "gpu_check: no setuptools >= 68 here and no carried wheels in $bundle/wheels;" \
    "run 'bash benchmarks/gpu_check.sh --prepare' on a machine with network first" >&2
  exit 2
fi
echo "setup: virtualenv and harness installed in $((SECONDS - started)) s"

cd "$work"  # the installed harness is imported, not the checkout's
budget=$((250 - (SECONDS - started)))  # phases start only inside this; timeout is the hard stop
timeout --signal=INT $((295 - (SECONDS - started))) "$venv_python" -u "$repo/benchmarks/gpu_check.py" run --bundle "$bundle" \
  --budget-s "$budget" "$@"
echo "gpu check done in $((SECONDS - started)) s"
