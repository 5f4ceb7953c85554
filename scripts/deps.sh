#!/usr/bin/env bash
# Install the Debian packages mpipool needs, only those missing.
# Usage: scripts/deps.sh [openmpi|mpich|all]   (default: all)
# As root it calls apt-get directly; otherwise through sudo.
set -euo pipefail

want=${1:-all}
# parallel: GNU parallel, which the mpipool-run tests compare against.
pkgs=(build-essential cmake pkg-config libcmocka-dev parallel)
case "$want" in
  openmpi) pkgs+=(libopenmpi-dev openmpi-bin) ;;
  mpich)   pkgs+=(libmpich-dev mpich) ;;
  all)     pkgs+=(libopenmpi-dev openmpi-bin libmpich-dev mpich) ;;
  *) echo "deps.sh: unknown set '$want' (openmpi, mpich or all)" >&2; exit 2 ;;
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
