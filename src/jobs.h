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
/* With a journal: skip j->next past the items it holds (an imap's results
 * are delivered from it), fail at once (unsent) the items it records as
 * having ended a worker in an earlier run, and return how many of the next
 * `count` items can go in one chunk (0: none now).  The journal itself
 * writes nothing of j. */
size_t mpipool__job_clip(mpipool_job *j, size_t count);
/* Item `index` failed with `code` (MPIPOOL_ETASK, MPIPOOL_ETIMEDOUT) and
 * message `msg`, on `rank`, without a chunk around it (a worker died). */
void mpipool__job_fail_item(mpipool_job *j, uint64_t index, int rank, int code, const char *msg);

/* ordered.c (MPIPOOL_MAP_ORDERED_OUTPUT): items [first, first + count)
 * came back with the tasks' output in `buf` (records, see capture.h; may
 * be NULL); it is printed once every earlier item's is.  Takes `buf`. */
void mpipool__ordered_put(mpipool_job *j, uint64_t first, uint64_t count, char *buf, size_t len);
/* The job ends: print whatever still waits, in item order. */
void mpipool__ordered_flush(mpipool_job *j);

/* redo.c: items a dead worker had, sent again before any unsent item.
 * An entry that saw a death (why != NULL) goes out one item per chunk, so
 * that a second death pins the item that caused it. */
typedef struct mpipool__redo {
    uint64_t first, count;     /* items still to send                       */
    int deaths;                /* worker deaths these items were surely running at */
    char *why;                 /* "rank 3, SIGSEGV; rank 5, no report", or NULL */
    char *items;               /* imap: copies (u64 sizes[], then data), or NULL */
    size_t taken, data_off;    /* in `items`: entries and bytes already sent  */
    struct mpipool__redo *next;
} mpipool__redo;
/* Queue items [first, first + count) again.  `items`: an imap chunk's
 * sizes and data (u64 sizes[chunk_count] then data) for items from
 * chunk_first on, copied here; NULL when they can be read again from
 * the caller's arrays.  `why` is copied.  -1 if out of memory. */
int mpipool__redo_add(mpipool_job *j, uint64_t first, uint64_t count, int deaths, const char *why,
                      const char *items, uint64_t chunk_first, uint64_t chunk_count);
/* How many of the next `want` items to send from the oldest entry. */
size_t mpipool__redo_count(const mpipool_job *j, size_t want);
/* Copy the next `count` items of an imap entry into *buf after `hdr` bytes,
 * as job_take_items does; or from the caller's mpipool_buf array.  How
 * many, or -1 when out of memory. */
int64_t mpipool__redo_items(mpipool_job *j, size_t count, char **buf, size_t *cap, size_t hdr, size_t *bytes);
/* `count` items of the oldest entry went out. */
void mpipool__redo_sent(mpipool_job *j, size_t count);
/* Drop every entry (the job ends). */
void mpipool__redo_free(mpipool_job *j);
/* Settle the verdict and mark the job finished (see jobs.c); `broken`:
 * the engine's failure (code `broken_code`, 0 = MPIPOOL_EMPI), or NULL. */
void mpipool__job_settle(mpipool_job *j, const char *broken, int broken_code);
/* 1 once mpipool__job_settle has run (acquire). */
int mpipool__job_finished(const mpipool_job *j);

#endif
