/*
 * pace.h — a worker's looks for a TAG_RECLAIM while it runs a chunk
 * (pace.c): between runs of about PACE_SECONDS of items, it takes the
 * requests of the master (or its group leader) for the items it has not
 * started, and stops the chunk there.  Used by worker.c only.
 */
#ifndef MPIPOOL_PACE_H
#define MPIPOOL_PACE_H

#include <stdint.h>
#include <mpi.h>

/* What the master (index 0) and our group leader (1) asked back. */
typedef struct {
    uint64_t upto[2];  /* they want back what we have not started of their chunks up to this one */
    uint64_t kept[2];  /* the request (its upto) we kept one more item for */
    uint64_t items;    /* items between two looks ... */
    uint64_t job;      /* ... measured in this job's chunks */
    int rc;            /* an MPI error while looking */
} mpipool__reclaims;

/* The pace of one chunk (exec.h's mpipool__pace, fn = mpipool__pace_next). */
typedef struct {
    mpipool__reclaims *r;
    MPI_Comm comm;
    int from;          /* who sent the chunk: the master (0) or our leader */
    uint64_t number;   /* the chunk's, among those it sent us */
    uint64_t count;    /* its items */
    double t;          /* when the last run started */
    uint64_t at;       /* ... after this many items */
    double looked;     /* seconds spent in mpipool__pace_next itself */
} mpipool__pacer;

/* A TAG_RECLAIM from `from` asks for what we have not started of its
 * chunks up to the upto-th. */
void mpipool__reclaims_note(mpipool__reclaims *r, int from, uint64_t upto);
/* Receive every TAG_RECLAIM already here from `from` (MPI_ANY_SOURCE: any).
 * An MPI code. */
int mpipool__reclaims_take(mpipool__reclaims *r, MPI_Comm comm, int from);
/* How many items to run next of a chunk whose first `done` have run
 * (arg: an mpipool__pacer); 0 to stop there. */
uint64_t mpipool__pace_next(void *arg, uint64_t done);

#endif
