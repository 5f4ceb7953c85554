/*
 * farm.h — what travels between mpipool-run's master and its workers.
 *
 * An item is an item_hdr followed by the command's bytes (no NUL); a result
 * is a res_hdr followed by the task's stdout then its stderr.  Both are
 * copied in and out with memcpy (the library's buffers carry no alignment
 * promise).  All ranks run the same binary, so the layout is the same
 * everywhere; like the library, we assume one byte order across the job.
 */
#ifndef MPIPOOL_RUN_FARM_H
#define MPIPOOL_RUN_FARM_H

#include <stdint.h>

#define MR_ITEM_FILLER 1u /* no command: only takes a place in a retry round */

typedef struct item_hdr {
    uint64_t seq;       /* the job's number: its input line, 1-based             */
    double timeout;     /* seconds; 0: none                                      */
    int32_t avoid_rank; /* a retry: do not run it on this rank (-1: anywhere)     */
    uint32_t flags;     /* MR_ITEM_*                                             */
} item_hdr;

#define MR_RES_TIMEDOUT 1u    /* killed by --timeout                               */
#define MR_RES_INTERRUPTED 2u /* stopped (or never started) by a shutdown or halt */
#define MR_RES_BOUNCED 4u     /* not run: this rank is the one to avoid             */
#define MR_RES_FILLER 8u      /* a filler item's result                             */
#define MR_RES_SPAWN 16u      /* could not be started (pipe/fork failed)           */
#define MR_RES_LOST 32u       /* part of the output could not be captured           */
#define MR_RES_TERM 64u       /* the worker itself got SIGTERM/SIGINT: stop the farm */

typedef struct res_hdr {
    uint64_t seq;
    int32_t rank;
    int32_t exitval;
    int32_t signal;
    uint32_t flags; /* MR_RES_* */
    double start, runtime;
    uint64_t out_len, err_len;
    char host[64];  /* the worker's host name, one word, NUL-terminated */
} res_hdr;

/* Tags of the tool's own control messages, on its own duplicate of
 * MPI_COMM_WORLD (never the pool's communicator). */
enum { MR_CTL_STOP = 1, MR_CTL_DONE = 2 };

#endif
