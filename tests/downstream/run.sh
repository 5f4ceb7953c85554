#!/bin/sh
# Install an mpipool build tree into a temporary prefix and build and run a
# consumer against it, the two ways users do: CMake's find_package and
# pkg-config with mpicc.
#
#   run.sh <build-dir> <mpicc> <mpiexec> [<extra mpiexec flags>]
set -eu

if [ $# -lt 3 ]; then
    echo "usage: $0 <build-dir> <mpicc> <mpiexec> [<extra mpiexec flags>]" >&2
    exit 2
fi
builddir=$1
mpicc=$2
mpiexec=$3
extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

# Open MPI refuses root and more ranks than cores without these.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpipool-downstream.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
prefix=$tmp/prefix

step() { echo "downstream: $*"; }

step "installing $builddir into $prefix"
cmake --install "$builddir" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    exit 1
}

run() {
    # shellcheck disable=SC2086 # $extra is a list of flags
    timeout 60 "$mpiexec" -n 2 $extra "$@"
}

step "find_package(mpipool) consumer"
cmake -S "$here" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$prefix" \
    -DMPI_C_COMPILER="$mpicc" >"$tmp/configure.log" 2>&1 || {
    cat "$tmp/configure.log" >&2
    exit 1
}
cmake --build "$tmp/build" >"$tmp/build.log" 2>&1 || {
    cat "$tmp/build.log" >&2
    exit 1
}
run "$tmp/build/downstream"

step "pkg-config consumer"
pcfile=$(find "$prefix" -name mpipool.pc | head -n 1)
if [ -z "$pcfile" ]; then
    echo "downstream: no mpipool.pc installed under $prefix" >&2
    exit 1
fi
pcdir=$(dirname "$pcfile")
libdir=$(dirname "$pcdir")
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs mpipool)
step "pkg-config says: $flags"
# shellcheck disable=SC2086 # $flags is a list of flags
"$mpicc" "$here/main.c" $flags -Wl,-rpath,"$libdir" -o "$tmp/downstream-pc"
run "$tmp/downstream-pc"
step "ok"
