#!/usr/bin/env bash
# The Python package's tests on the CPU (CI: .ci/run). numpy and torch come from Debian
# (python3-numpy, python3-torch), installed here when missing (run as root or with sudo); tests
# that need torch are skipped without it, test_cuda.py needs a CUDA GPU. Publishes the interop
# first (build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
"$python" -c "import numpy" 2>/dev/null || python=/usr/bin/python3
# numpy, and torch for the tests of the torch paths on the CPU (Debian's python3-torch, CPU only;
# L3_PYTHON_TORCH=0 leaves it out and those tests are skipped)
sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
install() { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }
"$python" -c "import numpy" 2>/dev/null || install python3-numpy
if [ "${L3_PYTHON_TORCH:-1}" = 1 ] && ! "$python" -c "import torch" 2>/dev/null; then
  install python3-torch || echo "python3-torch could not be installed: the torch tests are skipped"
fi
[ "${L3_SKIP_BUILD:-0}" = 1 ] || python/build.sh
echo "python: $("$python" --version), numpy $("$python" -c 'import numpy; print(numpy.__version__)'), torch $("$python" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo none)"
PYTHONPATH=python "$python" -m unittest discover -s python/tests -t python "$@"
