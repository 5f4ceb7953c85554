# bench/scale/smpi_cfg.sh — sourced: smpi_cfg MSG_S sets the array CFG to the
# SMPI settings of the scale benchmark (bench/README.md says why each one),
# with MSG_S seconds injected per message.  Shared by run.sh and linkcap.sh.
# shellcheck shell=bash
smpi_cfg() {
  CFG=(--cfg=smpi/host-speed:1Gf --cfg=smpi/simulate-computation:no
       --cfg=smpi/test:1e-7 --cfg=smpi/iprobe:1e-7 --cfg=smpi/grow-injected-times:no
       --cfg=smpi/lat-factor:0:1 --cfg=smpi/bw-factor:0:1
       --cfg=smpi/async-small-thresh:1073741824 --cfg=smpi/send-is-detached-thresh:1073741824
       --cfg=smpi/os:0:"$1" --cfg=smpi/ois:0:"$1" --cfg=smpi/or:0:"$1"
       --cfg=contexts/factory:raw --log=root.thres:warning)
}
