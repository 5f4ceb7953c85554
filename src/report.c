/*
 * report.c — recording an error for mpipool_last_error(): on the pool, or
 * process-wide when there is no open pool to hold it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

int mpipool__error(mpipool *pool, int code, const char *fmt, ...) {
    char *buf = pool ? pool->err : mpipool__open_error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, MPIPOOL__ERR_MAX, fmt, ap);
    va_end(ap);
    return code;
}

int mpipool__mpi_error(mpipool *pool, int mpirc, const char *func, const char *call) {
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    if (MPI_Error_string(mpirc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", mpirc);
    /* Keep just the MPI function's name from the call text. */
    size_t nlen = strcspn(call, "(");
    return mpipool__error(pool, MPIPOOL_EMPI, "%s: %.*s failed at rank %d: %s", func,
                          (int)nlen, call, pool ? pool->rank : -1, text);
}
