/*
 * usercall.h — calling an imap's source and sink (usercall.c).  Private.
 */
#ifndef MPIPOOL_USERCALL_H
#define MPIPOOL_USERCALL_H

#include "engine.h"

/* j->source->next / j->sink->put, called with the engine's lock released
 * when this thread holds it for a pass (engine.c), and retaken before they
 * return; the thread is marked meanwhile (mpipool__in_stream_cb). */
int mpipool__user_next(mpipool_job *j, size_t index, mpipool_buf *item);
int mpipool__user_put(mpipool_job *j, size_t index, const void *result, size_t size, int status,
                      const char *message);
/* 1 on a thread that is inside an imap's source or sink. */
int mpipool__in_stream_cb(void);

#endif
