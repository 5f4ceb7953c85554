/*
 * finalize.c — MPI_Finalize seen through MPI's profiling interface, so that
 * a task calling it (which hangs both Open MPI and MPICH: the other ranks
 * never join) is refused instead: the call returns MPI_ERR_OTHER, one line
 * names the task's rank, and the item fails with a message saying why.
 * Outside a task, MPI_Finalize goes straight to PMPI_Finalize.
 */
#include <stdio.h>
#include <mpi.h>
#include "exec.h"

int MPI_Finalize(void) __attribute__((visibility("default")));

int MPI_Finalize(void) {
    if (mpipool__task_refuse("called MPI_Finalize")) {
        int rank = -1;
        PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
        fprintf(stderr, "mpipool [rank %d]: a task called MPI_Finalize; refused (the pool finalises MPI when it "
                "closes): the item fails\n", rank);
        return MPI_ERR_OTHER;
    }
    return PMPI_Finalize();
}
