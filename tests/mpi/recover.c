/*
 * recover.c — a map during which workers die (recover.sh drives it).
 *
 *   recover MODE N DIR
 *
 * Maps `work` over items 0..N-1 (about 2 ms each).  Every run of an item is
 * appended to DIR/runs ("item rank", one line).  Deaths, chosen by the
 * environment:
 *   kill     the worker that first runs item RECOVER_ITEM SIGKILLs itself
 *   killrank rank RECOVER_RANK SIGKILLs itself at the first item it runs
 *            from RECOVER_ITEM on (a chosen host: the cluster test)
 *   segv     ... segfaults instead
 *   two      items RECOVER_ITEM and RECOVER_ITEM2 each kill their worker once
 *   poison   item RECOVER_ITEM segfaults every time it runs
 *   timeout  item RECOVER_ITEM never returns (the map's task_timeout is 1 s)
 *   clean    nobody dies
 * RECOVER_STATIC set: the map is static (MPIPOOL_SCHEDULE_STATIC).
 * "Once" is a marker file made with O_EXCL, so the item's second run, on
 * another worker, succeeds.  The master writes every item's verdict to
 * DIR/out ("index value", or "index failed STATUS message") and the map's
 * return code and message to stderr; the exit status is 0 if the map
 * returned MPIPOOL_OK, 3 if it returned MPIPOOL_ETASK, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "mpipool.h"

static const char *mode, *dir;
static long item1 = -1, item2 = -1, krank = -1;

static void note_run(size_t index, int rank) {
    char path[4096], line[64];
    snprintf(path, sizeof path, "%s/runs", dir);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    int len = snprintf(line, sizeof line, "%zu %d\n", index, rank);
    if (fd >= 0) {
        if (write(fd, line, (size_t)len) != len) perror("recover: write");
        close(fd);
    }
}

/* 1 the first time any rank asks for `index` (a marker file). */
static int first_time(size_t index) {
    char path[4096];
    snprintf(path, sizeof path, "%s/once.%zu", dir, index);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

static void maybe_die(size_t index, int rank) {
    if (strcmp(mode, "killrank") == 0) {
        if (rank == krank && (long)index >= item1 && first_time((size_t)-1)) raise(SIGKILL);
        return;
    }
    int hit = (long)index == item1 || (strcmp(mode, "two") == 0 && (long)index == item2);
    if (!hit) return;
    if (strcmp(mode, "poison") == 0) raise(SIGSEGV);
    if (strcmp(mode, "timeout") == 0)
        for (;;) pause(); /* never returns: the watchdog ends this process */
    if (!first_time(index)) return;
    if (strcmp(mode, "segv") == 0) raise(SIGSEGV);
    if (strcmp(mode, "kill") == 0 || strcmp(mode, "two") == 0) raise(SIGKILL);
}

static long long value(size_t i) { return (long long)i * (long long)i + 7; }

static int work(mpipool_task *t) {
    note_run(t->index, t->rank);
    maybe_die(t->index, t->rank);
    struct timespec ts = {0, 2000000L}; /* the work itself: 2 ms */
    nanosleep(&ts, NULL);
    *(long long *)t->out = value(*(const size_t *)t->in);
    return 0;
}
MPIPOOL_TASK_TYPED(work, size_t, long long);

static int report(size_t n, const long long *out, const int *status, char **messages) {
    char path[4096];
    snprintf(path, sizeof path, "%s/out", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) return -1;
    for (size_t i = 0; i < n; i++) {
        if (status[i] == MPIPOOL_OK)
            fprintf(f, "%zu %lld\n", i, out[i]);
        else
            fprintf(f, "%zu failed %s %s\n", i, mpipool_err_name(status[i]), messages[i] ? messages[i] : "");
        free(messages[i]);
    }
    return fclose(f);
}

int main(int argc, char **argv) {
    mpipool *pool;
    /* Read before mpipool_start: the workers never come back from it. */
    if (argc != 4) {
        fprintf(stderr, "usage: recover MODE N DIR\n");
        return 1;
    }
    mode = argv[1];
    dir = argv[3];
    size_t n = (size_t)strtoul(argv[2], NULL, 10);
    const char *e1 = getenv("RECOVER_ITEM"), *e2 = getenv("RECOVER_ITEM2");
    if (e1) item1 = atol(e1);
    if (e2) item2 = atol(e2);
    if (getenv("RECOVER_RANK")) krank = atol(getenv("RECOVER_RANK"));
    if (mpipool_start(&pool, &argc, &argv) != MPIPOOL_OK) return 1;
    size_t *in = malloc(n * sizeof *in);
    long long *out = malloc(n * sizeof *out);
    int *status = malloc(n * sizeof *status);
    char **messages = malloc(n * sizeof *messages);
    if (!in || !out || !status || !messages) return 1;
    for (size_t i = 0; i < n; i++) in[i] = i;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.status = status;
    o.messages = messages;
    if (strcmp(mode, "timeout") == 0) o.task_timeout = 1.0;
    if (getenv("RECOVER_STATIC")) o.schedule = MPIPOOL_SCHEDULE_STATIC; /* recover_journal.sh */
    int rc = MPIPOOL_MAP(pool, work, in, out, n, &o);
    fprintf(stderr, "recover: map returned %s: %s\n", mpipool_err_name(rc), rc ? mpipool_last_error(pool) : "");
    int bad = report(n, out, status, messages) != 0;
    for (size_t i = 0; i < n; i++)
        if (status[i] == MPIPOOL_OK && out[i] != value(i)) {
            fprintf(stderr, "recover: item %zu holds %lld, expected %lld\n", i, out[i], value(i));
            bad = 1;
        }
    int rc2 = mpipool_close(pool);
    if (rc2 != MPIPOOL_OK) fprintf(stderr, "recover: close returned %s\n", mpipool_err_name(rc2));
    free(in);
    free(out);
    free(status);
    free(messages);
    if (bad || rc2 != MPIPOOL_OK) return 1;
    return rc == MPIPOOL_OK ? 0 : rc == MPIPOOL_ETASK ? 3 : 1;
}
