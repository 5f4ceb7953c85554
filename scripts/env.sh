# Sourced by the scripts: what Open MPI needs on the machines we run on.
# Root (containers, CI) must be allowed explicitly; more ranks than cores
# must be allowed explicitly; vader's single-copy (CMA) needs ptrace rights
# that sandboxes often lack, so use plain shared-memory copies.
export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
