/*
 * internal.h — the pool object and the helpers shared by the MPI parts of the
 * library (pool.c, master.c, worker.c, comm.c).  Never installed.
 *
 * Invariant: every MPI call on the pool's communicator goes through
 * MPIPOOL__MPI(), which turns a failure into MPIPOOL_EMPI with the
 * MPI_Error_string text in the pool's last error; the communicator has
 * MPI_ERRORS_RETURN so failures come back to us instead of aborting the job.
 */
#ifndef MPIPOOL_INTERNAL_H
#define MPIPOOL_INTERNAL_H

#include <stdint.h>
#include <mpi.h>
#include "mpipool.h"
#include "pure.h"

#define MPIPOOL__ERR_MAX 1024

struct mpipool {
    MPI_Comm comm;       /* our private duplicate, named "mpipool"      */
    int rank, size;      /* in comm                                      */
    int owns_mpi;        /* mpipool_open called MPI_Init: finalise at close */
    uint64_t next_job;   /* master: id of the next job                   */
    char err[MPIPOOL__ERR_MAX];
};

/* Record an error on the pool (or, for pool == NULL, as the process's
 * last-open error) and return `code`. */
int mpipool__error(mpipool *pool, int code, const char *fmt, ...) MPIPOOL__PRINTF(3, 4);
/* Record a failed MPI call made by `func` and return MPIPOOL_EMPI. */
int mpipool__mpi_error(mpipool *pool, int mpirc, const char *func, const char *call);
/* The buffer mpipool_last_error(NULL) returns. */
extern char mpipool__open_error[MPIPOOL__ERR_MAX];

/* Table of open pools, so a closed (freed) handle is recognised without
 * being dereferenced. */
int mpipool__live_add(mpipool *pool);
int mpipool__live_has(const mpipool *pool);
void mpipool__live_remove(mpipool *pool);

/* Wait politely: spin briefly (answers usually come within microseconds),
 * then sleep with exponential backoff up to a millisecond, so an idle master
 * or worker does not burn a core that an oversubscribed worker needs. */
typedef struct {
    double start;
    unsigned sleep_us;
} mpipool__backoff;
void mpipool__backoff_reset(mpipool__backoff *b);
void mpipool__backoff_wait(mpipool__backoff *b);

/* Close this rank's side: free the communicator, forget the pool, thaw the
 * registry, finalise MPI if we initialised it.  Frees `pool`. */
int mpipool__teardown(mpipool *pool);

/* Run items [first, first+count) of a fixed-size chunk with `fn`, writing
 * results into `out` (count * out_size bytes, zeroed here first).  Returns
 * the number of failed items; the first failure's index and message go to
 * *first_fail and msg. (worker.c) */
uint64_t mpipool__run_items(mpipool_fn fn, const char *in, size_t in_size,
                            char *out, size_t out_size, uint64_t first,
                            uint64_t count, int rank, uint64_t *first_fail,
                            char *msg, size_t msgsz);

/* Usage: int rc = MPIPOOL_OK; ... MPIPOOL__MPI(pool, MPI_Send(...)); ...
 * cleanup: ... return rc; */
#define MPIPOOL__MPI(pool, call)                                              \
    do {                                                                      \
        int mpipool__mpirc = (call);                                          \
        if (mpipool__mpirc != MPI_SUCCESS) {                                  \
            rc = mpipool__mpi_error((pool), mpipool__mpirc, __func__, #call); \
            goto cleanup;                                                     \
        }                                                                     \
    } while (0)

#endif
