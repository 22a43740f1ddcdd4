#!/bin/sh
# Shrinks a virtual environment for an image: no tests, headers, Cython sources or optional Arrow services
# the platform never loads (Flight, S3 filesystem: object storage goes through boto3, which keeps only the
# S3 models), stripped libraries. The builds import the packages (and the worker's runs a reconciliation).
set -eu
venv=$1
site=$(echo "$venv"/lib/python3.*/site-packages)
find "$site" -depth -type d \( -name tests -o -name include \) \
    -path '*/site-packages/*/*' -prune -exec rm -rf {} + 2>/dev/null || true
find "$site" -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.h' -o -name '*.hpp' \
    -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.pyi' \) -delete
if [ -d "$site/pyarrow" ]; then
    rm -f "$site"/pyarrow/libarrow_flight.so* "$site"/pyarrow/_flight*.so "$site"/pyarrow/flight.py \
        "$site"/pyarrow/libarrow_s3.so* "$site"/pyarrow/_s3fs*.so
fi
# SciPy subpackages the engine never loads (it uses sparse, sparse.csgraph and optimize, which pull in
# linalg, special, spatial, fft, constants): about 50 MB. The worker build runs a reconciliation after this.
if [ -d "$site/scipy" ]; then
    for sub in stats signal io ndimage interpolate integrate cluster datasets differentiate fftpack misc odr; do
        rm -rf "${site:?}/scipy/$sub"
    done
    rm -f "$site/scipy/conftest.py"
fi
# boto3 talks to S3 only (credentials from the environment, STS or SSO): the other ~440 service models go.
if [ -d "$site/botocore/data" ]; then
    for dir in "$site"/botocore/data/*/; do
        case $(basename "$dir") in s3 | sts | sso | sso-oidc) ;; *) rm -rf "$dir" ;; esac
    done
fi
# Babel's locale data down to the number symbols and formats (CSV exports read a locale's decimal separator):
# 35 -> 0.3 MB; slim-babel.py verifies every locale's symbols and formatting are unchanged.
if [ -d "$site/babel/locale-data" ]; then
    "$venv/bin/python" "$(dirname "$0")/slim-babel.py" "$site"
fi
# Debug symbols out of the extension modules and libraries (pyarrow ships them), except those auditwheel
# bundled and patched into *.libs/: stripping breaks those.
find "$site" -type f -name '*.so*' -not -path '*.libs/*' -exec strip --strip-unneeded {} +
# Bytecode of what remains is compiled already (UV_COMPILE_BYTECODE); drop caches of deleted sources.
find "$site" -name '*.pyc' -path '*/__pycache__/*' | awk '{
    n = split($0, part, "/"); mod = part[n]; sub(/\..*$/, "", mod)
    dir = $0; sub(/\/__pycache__\/[^\/]*$/, "", dir)
    print $0 "\t" dir "/" mod ".py"
}' | while IFS="$(printf '\t')" read -r pyc src; do
    [ -e "$src" ] || rm -f "$pyc"
done
