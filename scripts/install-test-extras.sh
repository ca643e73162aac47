#!/usr/bin/env bash
# Installs what the test suite needs beyond the package's own dependencies.
set -euo pipefail
python=${1:-.venv/bin/python}

if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
      || echo "warning: could not install bubblewrap; code runs in the limited-subprocess sandbox"
  else
    echo "warning: bubblewrap (bwrap) is not installed; code runs in the limited-subprocess sandbox"
  fi
fi

# The llama.cpp engine, in process and as an OpenAI-compatible server on 127.0.0.1 for the openai backend's
# tests. It builds from source: about 4.5 minutes on 2 cores, once per virtual environment.
if ! "$python" -c "import llama_cpp, llama_cpp.server" >/dev/null 2>&1; then
  "$python" -m pip install --quiet 'llama-cpp-python[server]==0.3.36'
fi
