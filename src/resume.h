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
 * none now).  In a one-rank pool at most 16, so signals are seen between
 * small batches.  Writes nothing of the job. */
size_t mpipool__resume_clip(const struct mpipool_job *j, size_t count, size_t *skip);
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
