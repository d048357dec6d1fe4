#!/usr/bin/env bash
# Builds the Python package into a virtual environment and runs its checks:
# mypy.stubtest (the .pyi stubs match the extension), mypy --strict over the tests and
# examples (the stubs are usable), and pytest (filterwarnings = error).
#
#   scripts/python-test.sh               # dev-profile build (shares target/debug with cargo test)
#   VALLUM_PY_PROFILE=release scripts/python-test.sh
#   scripts/python-test.sh -k asyncio    # extra arguments go to pytest
#
# The venv lives in .venv/ (gitignored; VALLUM_VENV overrides). Exits non-zero on any failure.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${VALLUM_VENV:-$root/.venv}"
profile="${VALLUM_PY_PROFILE:-dev}"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "python-test: creating $venv"
    "$python" -m venv "$venv"
fi
export PATH="$venv/bin:$PATH"
export PIP_DISABLE_PIP_VERSION_CHECK=1
pip install --quiet -r python/requirements-test.txt
# Arrow and Spark for the scan_arrow and vallum.spark tests (~350 MB from PyPI; the Spark
# test itself skips when Java is missing).
pip install --quiet -r python/requirements-spark.txt

echo "python-test: building the extension (cargo profile: $profile)"
start=$SECONDS
# The build backend is maturin from the venv (no isolated build env to download); the
# profile goes to `cargo build` through maturin's PEP 517 arguments.
MATURIN_PEP517_ARGS="--profile $profile" \
    pip install --quiet --no-build-isolation --no-deps --force-reinstall ./python
echo "python-test: built and installed in $((SECONDS - start)) s"

# Run from the repository root: python/vallum (sources without the compiled module) must
# not shadow the installed package.
echo "python-test: stubtest"
python -m mypy.stubtest vallum
echo "python-test: mypy --strict (tests, examples, benchmark)"
python -m mypy --config-file python/pyproject.toml python/tests python/examples benches/python
echo "python-test: pytest"
python -m pytest python/tests "$@"
