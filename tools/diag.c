/*
 * diag.c — every diagnostic of the task farm starts with the program's name
 * (and, from a worker, "[rank N]"), as hwloc's tools do.  A leaf: the
 * other files call it, it calls none of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include "farm.h"

int g_rank;            /* this rank in the pool (set by main)              */
char g_host[64];       /* this host's name, one word (set by main)         */

void mr_diag(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_rank == 0) fprintf(stderr, "mpipool-run: %s\n", msg);
    else fprintf(stderr, "mpipool-run: [rank %d] %s\n", g_rank, msg);
}

