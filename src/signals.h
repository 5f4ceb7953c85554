/*
 * signals.h — SIGTERM/SIGINT as a flag (signals.c).  Private.
 */
#ifndef MPIPOOL_SIGNALS_H
#define MPIPOOL_SIGNALS_H

#include "mpipool.h"

/* A pool opens / closes on this rank: install our handlers (if the program
 * called mpipool_catch_signals) / restore them with the last pool. */
void mpipool__signals_open(void);
void mpipool__signals_close(void);
/* The signal caught (SIGTERM or SIGINT), or 0. */
int mpipool__signal_pending(void);
const char *mpipool__signal_name(int sig);

#endif
