/*
 * imap_pull.h — imap jobs (imap_pull.c): made for mpipool_imap (map.c) and
 * for the pull iterator, mpipool_imap_start / mpipool_imap_next.  Private.
 */
#ifndef MPIPOOL_IMAP_PULL_H
#define MPIPOOL_IMAP_PULL_H

#include "engine.h"

/* Check imap's arguments and make its job (not submitted).  MPIPOOL_OK, or
 * the refusal with the pool's error set (then *job is NULL). */
int mpipool__imap_job(const char *func, mpipool *pool, mpipool_fn fn, const mpipool_source *source,
                      const mpipool_sink *sink, const mpipool_imap_options *options, mpipool_job **job);
/* mpipool_job_free of a pull imap: cancel it if it runs, free its results. */
int mpipool__pull_free(mpipool_job *job);
/* Pool closing: end its one-rank pull imaps not read to their end. */
void mpipool__pull_close(mpipool *pool);

#endif
