/*
 * dead_rank.c — a pool one of whose ranks dies in the middle of a map, for
 * tests/mpi/dead_rank.sh.  Usage: dead_rank MODE DIR, MODE one of
 *   abort  the worker that runs item 1 calls abort()
 *   segv   it dereferences a NULL pointer
 *   kill   it waits, blocked in pause(), for the test to kill -9 it
 *   master the master calls abort() while the workers serve
 * Every rank first writes its PID to DIR/pid.<rank>.  The rank about to die
 * writes "<rank> <pid> <CLOCK_REALTIME ns>" to DIR/victim (via a rename, so
 * the file appears whole) just before it dies or starts waiting.  Nothing
 * here survives a dead rank: the MPI launcher must end the job.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mpipool.h"

static const char *mode, *dir;

static void write_file(const char *name, const char *text) {
    char tmp[4096], path[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) return;
    fputs(text, f);
    fclose(f);
    rename(tmp, path);
}

static void mark_victim(int rank) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char text[128];
    snprintf(text, sizeof text, "%d %ld %lld\n", rank, (long)getpid(),
             (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    write_file("victim", text);
}

static int die(mpipool_task *t) {
    *(int *)t->out = *(const int *)t->in;
    if (t->index != 1) return 0;
    mark_victim(t->rank);
    if (strcmp(mode, "abort") == 0) abort();
    if (strcmp(mode, "segv") == 0) {
        volatile int *volatile p = NULL;
        *p = 1;
    }
    if (strcmp(mode, "kill") == 0)
        for (;;) pause(); /* until the test's SIGKILL */
    return 0;
}
MPIPOOL_TASK(die);

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: dead_rank abort|segv|kill|master DIR\n");
        return 2;
    }
    mode = argv[1];
    dir = argv[2];
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "dead_rank: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    char name[32], pid[32];
    snprintf(name, sizeof name, "pid.%d", mpipool_rank(pool));
    snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    write_file(name, pid);
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    if (strcmp(mode, "master") == 0) {
        /* Give the workers time to be inside mpipool_serve. */
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
        mark_victim(0);
        abort();
    }
    enum { N = 8 };
    int in[N], out[N];
    for (int i = 0; i < N; i++) in[i] = i;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    int rc = mpipool_map(pool, die, in, sizeof *in, out, sizeof *out, N, &o);
    /* Reached only in a one-rank pool (where item 1 runs here) or if the
     * launcher failed to end the job. */
    fprintf(stderr, "dead_rank: the map returned %s\n", mpipool_err_name(rc));
    mpipool_close(pool);
    return 3;
}
