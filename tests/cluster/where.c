#define _POSIX_C_SOURCE 200809L /* gethostname */
/*
 * where.c — which host ran each item: a map of N items whose task returns
 * its rank and host name; the master prints "item I rank R host H" lines
 * in order, then "master host H".  The cluster test checks that every host
 * ran items and that the results are the same as on one host.
 *
 *     mpirun ... build/tests/cluster/where [N [MS]]
 *
 * With MS, each item also takes MS milliseconds (the fault test needs a
 * map that is still running when a host goes away), and the master prints
 * "started" once the map is under way.  With WHERE_LOG=FILE in the
 * environment every execution of an item appends its index to FILE (one
 * line, O_APPEND, from whichever host ran it), so a test can count runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <mpipool.h>

typedef struct {
    int rank;
    char host[60];
} where_t;

static int where(mpipool_task *t) {
    where_t *w = t->out;
    int ms = *(const int *)t->in;
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    w->rank = t->rank;
    if (gethostname(w->host, sizeof w->host) != 0) return mpipool_task_fail(t, "gethostname failed");
    const char *log = getenv("WHERE_LOG");
    if (log && *log) {
        char line[32];
        int len = snprintf(line, sizeof line, "%zu\n", t->index);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || write(fd, line, (size_t)len) != len) {
            if (fd >= 0) close(fd);
            return mpipool_task_fail(t, "cannot append to %s", log);
        }
        close(fd);
    }
    w->host[sizeof w->host - 1] = '\0';
    return 0;
}
MPIPOOL_TASK(where);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "where: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 60;
    int ms = argc > 2 ? atoi(argv[2]) : 0;
    int *in = calloc(n + 1, sizeof *in);
    where_t *out = calloc(n + 1, sizeof *out);
    for (size_t i = 0; in && i < n; i++) in[i] = ms;
    if (ms > 0) {
        printf("started\n");
        fflush(stdout);
    }
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1; /* spread the items over every worker */
    int rc = in && out ? mpipool_map(pool, where, in, sizeof *in, out, sizeof *out, n, &o) : MPIPOOL_ENOMEM;
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "where: %s\n", mpipool_last_error(pool));
    } else {
        for (size_t i = 0; i < n; i++) printf("item %zu rank %d host %s\n", i, out[i].rank, out[i].host);
        char host[64] = "";
        gethostname(host, sizeof host - 1);
        printf("master host %s\n", host);
    }
    free(in);
    free(out);
    return mpipool_close(pool) == MPIPOOL_OK && rc == MPIPOOL_OK ? 0 : 1;
}
