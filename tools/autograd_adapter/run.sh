#!/bin/sh
# Run HIPS/autograd's tests against fungrad: tools/autograd_adapter/run.sh AUTOGRAD_CHECKOUT [pytest args]
# (from the fungrad repository root; AUTOGRAD_CHECKOUT is a clone of HIPS/autograd).
set -e
src="$1"; shift
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
PYTHONPATH="$here:$root:$src/tests" exec python -m pytest -p no:cacheprovider --rootdir "$src/tests" \
    -c /dev/null "$src/tests" -q -o python_files="test_*.py" --continue-on-collection-errors "$@"
