/*
 * transport.h — wire rules shared by the master, the group leaders and the
 * workers (transport.c): receiving failure records and a variable-size
 * result in pieces.  Private.
 */
#ifndef MPIPOOL_TRANSPORT_H
#define MPIPOOL_TRANSPORT_H

#include "internal.h"

/* Receive the TAG_FAIL message from `src` (which follows its result):
 * *buf (malloc'd, or NULL with *len 0 when there was no memory: the
 * message is still taken off the wire).  Returns an MPI code. */
int mpipool__recv_fails(MPI_Comm comm, int src, char **buf, int *len);
/* The same for any tag whose message follows a result (TAG_OUTPUT). */
int mpipool__recv_blob(MPI_Comm comm, int src, int tag, char **buf, int *len);
/* Receive the VRESULT matched in *m (`len` bytes from `src`) and, when it
 * is a header alone, the pieces after it: *buf (malloc'd) holds *total
 * bytes.  Returns an MPI code; *oom set (and nothing kept) when memory ran
 * out — the header was still received. */
int mpipool__recv_vresult(MPI_Comm comm, size_t piece, mpipool__msg *m, int src, int len, char **buf,
                          size_t *total, int *oom);

#endif
