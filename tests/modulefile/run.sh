#!/usr/bin/env bash
# run.sh — the Lmod modulefile that `cmake --install` writes
# (cmake/MpipoolModulefile.cmake), used as a cluster user would: install
# the build into a temporary prefix, `module use` + `module load mpipool`
# with Debian's Lmod, then build the downstream consumer (tests/downstream)
# with plain pkg-config and no rpath, and with CMake given no path, and run
# both.  Also writes the file alone into a site's module tree
# (MPIPOOL_MODULEFILE_DIR, install component "modulefile").
#
#   run.sh <build-dir> <mpicc> <mpiexec> [<extra mpiexec flags>]
#
# Exit 0 = passed, 1 = failed, 77 = no Lmod here (scripts/deps.sh installs
# the Debian package lmod).
set -uo pipefail

if [ $# -lt 3 ]; then
  echo "usage: $0 <build-dir> <mpicc> <mpiexec> [<extra mpiexec flags>]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
mpicc=$2
mpiexec=$3
extra=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
downstream=$root/tests/downstream
# shellcheck source=../../scripts/env.sh
. "$root/scripts/env.sh" # Open MPI as root, oversubscribed (for hand runs too)

lmod_init=${LMOD_INIT:-/usr/share/lmod/lmod/init/bash}
if [ ! -r "$lmod_init" ]; then
  echo "modulefile: SKIPPED: no Lmod ($lmod_init; scripts/deps.sh installs the package lmod)"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpipool-modulefile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
prefix=$tmp/prefix
fails=0
pass() { echo "modulefile: ok: $*"; }
fail() { echo "modulefile: FAILED: $*"; fails=$((fails + 1)); }
# run PROGRAM: on 2 ranks, bounded.
run() {
  # shellcheck disable=SC2086 # $extra is a list of flags
  timeout 60 "$mpiexec" -n 2 $extra "$@"
}

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
  cat "$tmp/install.log"
  exit 1
}
version=$(sed -n 's/^Version: //p' "$(find "$prefix" -name mpipool.pc | head -n 1)")
modfile=$prefix/share/modulefiles/mpipool/$version.lua
[ -f "$modfile" ] && pass "installed $modfile" || fail "no modulefile at $modfile"

# A clean module environment: Debian's Lmod, no other module trees, none
# of the paths the module sets (so that what works below is its doing).
unset MODULEPATH LOADEDMODULES _LMFILES_ PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_LIBRARY_PATH MANPATH MPIPOOL_PREFIX
# A system manual page, to check that the module does not hide them.
syspage=
for p in mpicc cmake pkg-config sacct; do man -w "$p" >/dev/null 2>&1 && { syspage=$p; break; }; done
export MODULEPATH=
# shellcheck disable=SC1090
. "$lmod_init"
module use "$prefix/share/modulefiles"
if module load mpipool 2>"$tmp/load.log" && module -t list 2>&1 | grep -qx "mpipool/$version"; then
  pass "module use + module load mpipool: mpipool/$version loaded"
else
  fail "module load mpipool:"; cat "$tmp/load.log"; module -t list
fi

# What it set.
libdir=$(dirname "$(dirname "$(find "$prefix" -name mpipool.pc | head -n 1)")")
[ "$(command -v mpipool-run)" = "$prefix/bin/mpipool-run" ] && pass "PATH: mpipool-run is $prefix/bin/mpipool-run" ||
  fail "PATH: mpipool-run is '$(command -v mpipool-run)'"
page=$(man -w mpipool-run 2>/dev/null)
case $page in "$prefix"/*) pass "MANPATH: man mpipool-run reads $page" ;; *) fail "MANPATH: man -w mpipool-run gives '$page'" ;; esac
if [ -n "$syspage" ]; then
  man -w "$syspage" >/dev/null 2>&1 && pass "MANPATH: the system's pages are still found (man $syspage)" ||
    fail "MANPATH '$MANPATH' hides the system's pages (man $syspage)"
fi
[ "$(pkg-config --modversion mpipool 2>/dev/null)" = "$version" ] && pass "PKG_CONFIG_PATH: pkg-config finds mpipool $version" ||
  fail "PKG_CONFIG_PATH: pkg-config --modversion mpipool: '$(pkg-config --modversion mpipool 2>&1)'"
case ":$CMAKE_PREFIX_PATH:" in *":$prefix:"*) pass "CMAKE_PREFIX_PATH has $prefix" ;; *) fail "CMAKE_PREFIX_PATH is '$CMAKE_PREFIX_PATH'" ;; esac
case ":$LD_LIBRARY_PATH:" in *":$libdir:"*) pass "LD_LIBRARY_PATH has $libdir" ;; *) fail "LD_LIBRARY_PATH is '$LD_LIBRARY_PATH'" ;; esac

# pkg-config, plain: no -L or rpath of our own; the module's library path
# is what lets it run (checked: without the module it cannot find the
# library).
# shellcheck disable=SC2046 # pkg-config's flags, split on purpose
if "$mpicc" "$downstream/main.c" $(pkg-config --cflags --libs mpipool) -o "$tmp/downstream-pc" 2>"$tmp/cc.log" &&
   run "$tmp/downstream-pc" >"$tmp/pc.out" 2>&1 && grep -q "squared 10 ints with mpipool $version" "$tmp/pc.out"; then
  pass "mpicc \$(pkg-config --cflags --libs mpipool), no rpath: $(cat "$tmp/pc.out")"
else
  fail "pkg-config consumer:"; cat "$tmp/cc.log" "$tmp/pc.out" 2>/dev/null | tail -5
fi
if readelf -d "$tmp/downstream-pc" 2>/dev/null | grep -qE 'RPATH|RUNPATH'; then fail "the pkg-config consumer has an rpath"; fi
module unload mpipool
if ldd "$tmp/downstream-pc" | grep -q 'libmpipool.*not found'; then
  pass "module unload mpipool: the consumer no longer finds libmpipool (the module supplied it)"
else
  fail "without the module the consumer still finds libmpipool: $(ldd "$tmp/downstream-pc" | grep mpipool)"
fi
module load mpipool

# CMake, given no path: find_package(mpipool) through CMAKE_PREFIX_PATH.
if cmake -S "$downstream" -B "$tmp/cmake" -DMPI_C_COMPILER="$mpicc" >"$tmp/configure.log" 2>&1 &&
   cmake --build "$tmp/cmake" >"$tmp/build.log" 2>&1 && run "$tmp/cmake/downstream" >"$tmp/cmake.out" 2>&1 &&
   grep -q "squared 10 ints" "$tmp/cmake.out"; then
  pass "CMake find_package(mpipool) with no -D path: $(grep -m1 'mpipool_DIR' "$tmp/cmake/CMakeCache.txt")"
else
  fail "CMake consumer:"; tail -5 "$tmp/configure.log" "$tmp/build.log" "$tmp/cmake.out" 2>/dev/null
fi

# A site's module tree: MPIPOOL_MODULEFILE_DIR=<absolute>, the file alone.
site=$tmp/site
if cmake -S "$root" -B "$tmp/site-build" -DMPI_C_COMPILER="$mpicc" -DMPIPOOL_BUILD_TESTS=OFF \
     -DMPIPOOL_BUILD_EXAMPLES=OFF -DMPIPOOL_MODULEFILE_DIR="$site" >"$tmp/site-configure.log" 2>&1 &&
   cmake --install "$tmp/site-build" --prefix "$prefix" --component modulefile >"$tmp/site-install.log" 2>&1 &&
   [ -f "$site/mpipool/$version.lua" ] && grep -q "local prefix = \"$prefix\"" "$site/mpipool/$version.lua"; then
  pass "MPIPOOL_MODULEFILE_DIR=$site: $site/mpipool/$version.lua, for prefix $prefix"
else
  fail "site module tree:"; tail -5 "$tmp/site-configure.log" "$tmp/site-install.log"
fi

if [ $fails -eq 0 ]; then echo "modulefile: all checks passed"; exit 0; fi
echo "modulefile: $fails check(s) failed"
exit 1
