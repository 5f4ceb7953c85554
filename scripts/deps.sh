#!/usr/bin/env bash
# Install the Debian packages mpipool needs, only those missing.
# Usage: scripts/deps.sh [openmpi|mpich|fuzz|all]   (default: all)
# all = both MPIs, cmocka, valgrind, and clang with its sanitizer/libFuzzer
# runtime (libclang-rt-14-dev) for tests/fuzz.
# As root it calls apt-get directly; otherwise through sudo.
set -euo pipefail

want=${1:-all}
# python3 and gnuplot-nox: the observation tests and scripts/trace2png.sh;
# util-linux gives script(1) for the progress test under a pseudo-terminal.
pkgs=(build-essential cmake pkg-config libcmocka-dev python3 gnuplot-nox util-linux)
case "$want" in
  openmpi) pkgs+=(libopenmpi-dev openmpi-bin) ;;
  mpich)   pkgs+=(libmpich-dev mpich) ;;
  fuzz)    pkgs+=(libopenmpi-dev clang libclang-rt-14-dev) ;;
  all)     pkgs+=(libopenmpi-dev openmpi-bin libmpich-dev mpich valgrind clang libclang-rt-14-dev) ;;
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
