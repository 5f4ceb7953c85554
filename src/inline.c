/*
 * inline.c — a one-rank pool: the master runs a job's items itself, in
 * batches, with the same results, failures, journal and signals as a pool
 * with workers.  No MPI calls.
 *
 * Invariant: between two batches the journal's timer and the signal flag
 * are looked at, so a SIGTERM is answered after at most one batch (16 items
 * with a journal: mpipool__job_clip).
 */
#include <stdlib.h>
#include "jobs.h"
#include "observe.h"
#include "signals.h"

void mpipool__job_run_inline(mpipool_job *j) {
    mpipool__fails f = {0};
    mpipool__vout v = {0};
    char *buf = NULL;
    size_t cap = 0;
    int var = j->in_var || j->out_var || j->source;
    /* In pieces, so that on_error/max_failures can stop between them. */
    size_t step = j->on_error == MPIPOOL_ON_ERROR_STOP || j->max_failures ? 1 : (var ? 64 : 1024);
    /* A batch task's call is cheap per item: give it long runs. */
    if (step == 1024 && mpipool__registry_is_batch(j->fn_index)) step = 65536;
    if (j->user_chunk && j->user_chunk < step) step = j->user_chunk;
    if (j->source && j->window && j->window < step) step = j->window; /* the window bounds a stream here too */
    int paused = 0;
    while (j->next < j->n && !j->cancelled) {
        size_t count = j->n - j->next < step ? j->n - j->next : step;
        if (j->pull) {
            /* A pull imap whose reader has not released enough results stops
             * here unsettled; mpipool_imap_next calls again (imap_pull.c). */
            size_t held = j->next - j->emitted;
            if ((paused = held >= j->window) != 0) break;
            if (count > j->window - held) count = j->window - held;
        }
        mpipool__resume_poll();
        if ((j->intr = mpipool__signal_pending()) != 0) break;
        if (j->resume && (count = mpipool__job_clip(j, count)) == 0) break; /* the rest is in the journal */
        /* No arithmetic on a NULL in/out (items or results of size 0). */
        mpipool__batch b = {mpipool__registry_fn(j->fn_index), j->in ? j->in + j->next * j->in_size : NULL,
                            j->in_size, NULL, j->out ? j->out + j->next * j->out_size : NULL, j->out_size, NULL,
                            j->next, count, 0, j->pool, NULL};
        if (j->in_var || j->source) {
            size_t bytes;
            int64_t got = mpipool__job_take_items(j, count, &buf, &cap, 0, &bytes);
            if (got < 0) {
                mpipool__job_error(j, MPIPOOL_ENOMEM, "%s: out of memory", j->func);
                j->stream_rc = MPIPOOL_ENOMEM;
                break;
            }
            if (got == 0) break;
            count = (size_t)got;
            b.count = count;
            b.in_sizes = (const uint64_t *)(const void *)buf;
            b.in = buf + count * 8;
        }
        if (j->out_var || j->source) b.vout = &v;
        double obs_t0 = mpipool__obs_clock(j->pool);
        int64_t nfail = mpipool__run_batch(&b, &f);
        if (nfail < 0) {
            mpipool__job_error(j, MPIPOOL_ENOMEM, "%s: out of memory for results", j->func);
            j->stream_rc = MPIPOOL_ENOMEM;
            break;
        }
        mpipool__job_mark_ok(j, j->next, count);
        size_t first = j->next;
        j->next += count;
        j->done += count;
        mpipool__obs_ran(j->pool, j, first, count, obs_t0);
        mpipool__job_note_failures(j, (uint64_t)nfail, f.first_fail, 0, f.p, f.len);
        if (j->resume && j->source) mpipool__resume_record_stream(j, first, count, v.sizes, v.p);
        if (b.vout) mpipool__deliver_var(j, first, count, v.sizes, v.p, f.p, f.len, 0, NULL);
        if (j->resume) mpipool__resume_record(j, first, count);
    }
    free(buf);
    mpipool__vout_free(&v);
    mpipool__fails_free(&f);
    if (!paused) mpipool__job_settle(j, NULL, 0);
}

