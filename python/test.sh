#!/usr/bin/env bash
# The Python package's tests on the CPU (CI: .ci/run). numpy comes from Debian's python3-numpy,
# installed here when missing (run as root or with sudo); torch is optional (tests that need it
# are skipped without it; test_cuda.py needs a CUDA GPU). Publishes the interop first (build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if ! "$python" -c "import numpy" 2>/dev/null; then
  if ! /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-numpy >/dev/null
  fi
  python=/usr/bin/python3
fi
[ "${L3_SKIP_BUILD:-0}" = 1 ] || python/build.sh
echo "python: $("$python" --version), numpy $("$python" -c 'import numpy; print(numpy.__version__)')"
PYTHONPATH=python "$python" -m unittest discover -s python/tests -t python "$@"
