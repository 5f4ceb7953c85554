/*
 * transport.c — receiving what a worker sends back that is not a plain
 * pre-posted result: failure records (TAG_FAIL) and variable-size results
 * (TAG_VRESULT, maybe followed by TAG_VPIECE pieces).  Used by the master's
 * engine and by group leaders.
 *
 * Invariant: a message once matched is always received, even when there is
 * no memory for it, so nothing is left on the wire to be mistaken for the
 * next message.
 */
#include <stdlib.h>
#include <string.h>
#include "transport.h"
#include "wire.h"

int mpipool__recv_fails(MPI_Comm comm, int src, char **buf, int *len) {
    return mpipool__recv_blob(comm, src, MPIPOOL__TAG_FAIL, buf, len);
}

int mpipool__recv_blob(MPI_Comm comm, int src, int tag, char **buf, int *len) {
    MPI_Status st;
    mpipool__msg m;
    *buf = NULL;
    *len = 0;
    int rc = mpipool__mprobe(src, tag, comm, &m, &st);
    if (rc == MPI_SUCCESS) rc = MPI_Get_count(&st, MPI_BYTE, len);
    if (rc != MPI_SUCCESS) return rc;
    *buf = malloc((size_t)*len + 1);
    if (*buf == NULL) {
        char dummy;
        *len = 0;
        return mpipool__mrecv(&dummy, 0, MPI_BYTE, &m, MPI_STATUS_IGNORE);
    }
    rc = mpipool__mrecv(*buf, *len, MPI_BYTE, &m, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) {
        free(*buf);
        *buf = NULL;
        *len = 0;
    }
    return rc;
}

int mpipool__recv_vresult(MPI_Comm comm, size_t piece, mpipool__msg *m, int src, int len, char **buf,
                          size_t *total, int *oom) {
    mpipool__result_hdr ph;
    *total = (size_t)len;
    *oom = 0;
    *buf = malloc((size_t)len + 1);
    if (*buf == NULL) {
        char dummy;
        *oom = 1;
        return mpipool__mrecv(&dummy, 0, MPI_BYTE, m, MPI_STATUS_IGNORE);
    }
    int rc = mpipool__mrecv(*buf, len, MPI_BYTE, m, MPI_STATUS_IGNORE);
    if (rc == MPI_SUCCESS && (size_t)len == sizeof ph && (memcpy(&ph, *buf, sizeof ph), ph.pieces > 0)) {
        /* A header alone: the rest follows in pieces, being sent now. */
        *total = sizeof ph + (size_t)ph.pieces;
        char *big = realloc(*buf, *total);
        if (big == NULL) {
            *oom = 1;
            rc = MPI_SUCCESS; /* the pieces stay unreceived: the engine breaks */
        } else {
            *buf = big;
            for (size_t off = sizeof ph; rc == MPI_SUCCESS && off < *total; off += piece) {
                size_t plen = *total - off < piece ? *total - off : piece;
                rc = MPI_Recv(*buf + off, (int)plen, MPI_BYTE, src, MPIPOOL__TAG_VPIECE, comm, MPI_STATUS_IGNORE);
            }
        }
    }
    if (rc != MPI_SUCCESS || *oom) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}
