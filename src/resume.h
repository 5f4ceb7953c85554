/*
 * resume.h — the calls between the engine/map code and the journal
 * (resume.c): each is one line at its call site, and does nothing for a
 * job without a journal (j->resume == NULL).  Private.
 */
#ifndef MPIPOOL_RESUME_H
#define MPIPOOL_RESUME_H

#include <stddef.h>
#include <stdint.h>
#include "mpipool.h"

struct mpipool_job;
struct mpipool__resume;

/* map.c, last step before submit: pick the journal (`journal`, else
 * MPIPOOL_JOURNAL), check the job against it, replay what it holds into
 * `out`.  MPIPOOL_OK (j->resume set, or NULL: no journal), else the code
 * with the pool's error set; then nothing was sent and j->resume is NULL. */
int mpipool__resume_setup(struct mpipool_job *j, const char *journal);
/* engine_submit, after it initialised status/messages/out: mark the
 * replayed items done (status OK, variable results moved into out). */
void mpipool__resume_apply(struct mpipool_job *j);
/* job_clip (jobs.c) only: at j->next, *skip journalled items (their
 * results: replayed into `out` for a map; to read with resume_read for an
 * imap), then how many of the next `count` items can go in one chunk (0:
 * none now).  *killed = 1 (and 0 returned): the item after the skipped
 * ones must not be sent (resume_killed says how it fails); an item that
 * crashed a worker once in an earlier run goes alone (1 returned).  In a one-rank pool at most 16, so
 * signals are seen between small batches.  Writes nothing of the job. */
size_t mpipool__resume_clip(const struct mpipool_job *j, size_t count, size_t *skip, int *killed);
/* If the journal says `item` must not run again (it overran a task_timeout,
 * or was running at two workers' deaths, in earlier runs): the code it
 * fails with (MPIPOOL_ETIMEDOUT for a task_timeout, else MPIPOOL_ETASK),
 * the rank it last ran on, and the message ("in an earlier run, worker
 * died running item 17 (rank 3, SIGSEGV; rank 1, SIGSEGV); not run again
 * (journal 'j')").  0 if not. */
int mpipool__resume_killed(const struct mpipool_job *j, uint64_t item, int *rank, char *msg, size_t size);
/* send_chunk, for a chunk of the one item `item`: 1 if it crashed a worker
 * once in an earlier run (resume_clip sends it alone), with *why (malloc'd,
 * or NULL without memory) naming that death, "rank 3, SIGSEGV (an earlier
 * run)": the chunk starts with that death, so a second one fails it
 * (recover.c).  0 if not. */
int mpipool__resume_suspect(const struct mpipool_job *j, uint64_t item, char **why);
/* recover.c, before the master acks the worker's report: item `item` ended
 * its worker (MPIPOOL__JKILL_* kind, on `rank`, `text` says how); journal
 * it, synced.  Not for an imap (its items are not recorded). */
void mpipool__resume_record_kill(struct mpipool_job *j, uint64_t item, int kind, int rank, const char *text);
/* imap: the journalled results of items [first, first + count) (within the
 * run resume_clip gave): *buf owns them (sizes/data point into it). */
int mpipool__resume_read(const struct mpipool_job *j, uint64_t first, uint64_t count, char **buf,
                         const uint64_t **sizes, const char **data, char *err, size_t errsz);
/* note_failures: the failure records of the chunk about to be recorded. */
void mpipool__resume_note_failures(struct mpipool_job *j, uint64_t nfail, const char *recs, size_t len);
/* imap: the chunk's results (sizes/data as in a VRESULT), before they are
 * delivered (note_failures first). */
void mpipool__resume_record_stream(struct mpipool_job *j, uint64_t first, uint64_t count, const uint64_t *sizes,
                                   const char *data);
/* A chunk's results are in place (in out): journal them (not imap's). */
void mpipool__resume_record(struct mpipool_job *j, uint64_t first, uint64_t count);
/* job_finish, before `finished` is set: sync, settle rc, forget the job. */
void mpipool__resume_finish(struct mpipool_job *j);
/* Every progress pass: the timed sync. */
void mpipool__resume_poll(void);
/* What the journal holds of a job, for the MPIPOOL_EINTR message: "600 of
 * 1000 items done and saved in journal 'x', 400 not done". */
void mpipool__resume_describe(const struct mpipool_job *j, char *buf, size_t size);
/* Pool teardown: close the journals no job uses. */
void mpipool__resume_close_idle(void);

#endif
