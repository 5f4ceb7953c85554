/*
 * jobs.h — a job's bookkeeping (jobs.c), shared by the engine's files and
 * the one-rank path.  Private.
 */
#ifndef MPIPOOL_JOBS_H
#define MPIPOOL_JOBS_H

#include "engine.h"

/* No chunk message grows beyond this: big enough that per-message cost
 * vanishes, small enough that sending one chunk overlaps computing another. */
#define MPIPOOL__CHUNK_BYTES_CAP ((size_t)16 << 20)

void mpipool__job_error(mpipool_job *j, int code, const char *fmt, ...) MPIPOOL__PRINTF(3, 4);
/* A chunk's failures (nfail, the first index, the records from `rank`). */
void mpipool__job_note_failures(mpipool_job *j, uint64_t nfail, uint64_t first_fail, int rank, const char *recs,
                                size_t len);
/* Items [first, first + count) ran: status OK (failures are noted after). */
void mpipool__job_mark_ok(mpipool_job *j, uint64_t first, uint64_t count);
/* Take up to `count` items for a variable-size chunk starting at j->next
 * into *buf after `hdr` bytes (u64 sizes[count] then the items), from the
 * caller's mpipool_buf array or the imap source.  How many it took (fewer
 * when the source ends or fails), or -1 when out of memory. */
int64_t mpipool__job_take_items(mpipool_job *j, size_t count, char **buf, size_t *cap, size_t hdr, size_t *bytes);
/* Settle the verdict and mark the job finished (see jobs.c); `broken`:
 * the engine's failure (code `broken_code`, 0 = MPIPOOL_EMPI), or NULL. */
void mpipool__job_settle(mpipool_job *j, const char *broken, int broken_code);
/* 1 once mpipool__job_settle has run (acquire). */
int mpipool__job_finished(const mpipool_job *j);

#endif
