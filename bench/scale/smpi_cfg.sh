# bench/scale/smpi_cfg.sh — sourced: smpi_cfg MSG_S [CROSSTRAFFIC] sets the
# array CFG to the SMPI settings of the scale benchmark (bench/README.md says
# why each one), with MSG_S seconds injected per message and SimGrid's
# cross-traffic model CROSSTRAFFIC (0 or 1; default $SCALE_CROSSTRAFFIC, else
# 0: off).  Shared by run.sh and linkcap.sh.
# shellcheck shell=bash
smpi_cfg() {
  local ct=${2:-${SCALE_CROSSTRAFFIC:-0}}
  case $ct in 0|1) ;; *) echo "smpi_cfg: crosstraffic must be 0 or 1, not '$ct'" >&2; return 2 ;; esac
  CFG=(--cfg=smpi/host-speed:1Gf --cfg=smpi/simulate-computation:no
       --cfg=smpi/test:1e-7 --cfg=smpi/iprobe:1e-7 --cfg=smpi/grow-injected-times:no
       --cfg=smpi/lat-factor:0:1 --cfg=smpi/bw-factor:0:1
       --cfg=smpi/async-small-thresh:1073741824 --cfg=smpi/send-is-detached-thresh:1073741824
       --cfg=smpi/os:0:"$1" --cfg=smpi/ois:0:"$1" --cfg=smpi/or:0:"$1"
       --cfg=network/crosstraffic:"$ct" --cfg=contexts/factory:raw --log=root.thres:warning)
}
