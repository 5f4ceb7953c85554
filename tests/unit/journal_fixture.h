/*
 * journal_fixture.h — what the journal's unit tests (test_journal.c,
 * test_journal_kill.c) share: a scratch journal file per process, removed
 * before and after each test, and opening it.
 */
#ifndef MPIPOOL_JOURNAL_FIXTURE_H
#define MPIPOOL_JOURNAL_FIXTURE_H

#include <stdio.h>
#include <unistd.h>
#include "journal.h"

static char path[256];
static char err[1024];

static int setup(void **state) {
    (void)state;
    snprintf(path, sizeof path, "/tmp/mpipool_test_journal_%ld.jnl", (long)getpid());
    unlink(path);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return 0;
}

static mpipool__journal *open_ok(void) {
    mpipool__journal *j = NULL;
    int rc = mpipool__journal_open(path, &j, err, sizeof err);
    if (rc != MPIPOOL_OK) fail_msg("open: %s", err);
    return j;
}

#endif
