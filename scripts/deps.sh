#!/usr/bin/env bash
# Install the Debian packages mpipool needs, only those missing.
# Usage: scripts/deps.sh [openmpi|mpich|fuzz|all]   (default: all)
# openmpi = what the demo needs (compiler, CMake, Open MPI); all = both MPIs
# and everything the tests use (listed below).
# As root it calls apt-get directly; otherwise through sudo.
set -euo pipefail

want=${1:-all}
pkgs=(build-essential cmake pkg-config)
# What the tests need besides the MPIs: cmocka; python3 and gnuplot-nox (the
# observation tests, scripts/trace2png.sh); util-linux (script(1) for the
# pseudo-terminal test, unshare for the cluster test) and iproute2 (its
# network namespaces); GNU parallel (the mpipool-run tests compare against
# it); valgrind; clang and its sanitizer/libFuzzer runtime (tests/fuzz);
# SimGrid (libsimgrid-dev) and bc for the simulated scale benchmark's smoke run;
# groff-base (groff, tbl) for the man pages' rendering test (man/);
# Slurm (slurmctld, slurmd, slurm-client) and munge for tests/slurm (its
# daemons run only inside the test's namespaces, with their own config; on
# a machine with systemd the packages also enable their services) and Lmod
# for tests/modulefile.
test_pkgs=(libcmocka-dev python3 gnuplot-nox util-linux iproute2 parallel valgrind clang libclang-rt-14-dev
           libsimgrid-dev bc groff-base slurmctld slurmd slurm-client munge lmod)
case "$want" in
  openmpi) pkgs+=(libopenmpi-dev openmpi-bin) ;;
  mpich)   pkgs+=(libmpich-dev mpich) ;;
  fuzz)    pkgs+=(libopenmpi-dev libcmocka-dev clang libclang-rt-14-dev) ;;
  all)     pkgs+=(libopenmpi-dev openmpi-bin libmpich-dev mpich "${test_pkgs[@]}") ;;
  *) echo "deps.sh: unknown set '$want' (openmpi, mpich, fuzz or all)" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
echo "deps.sh: installing ${missing[*]}"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
