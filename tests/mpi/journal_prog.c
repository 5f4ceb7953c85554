/*
 * journal_prog.c — the program journal_kill.sh kills and resumes.  Two maps
 * with one journal: map #0, N fixed-size items (16-byte results); map #1,
 * N/2 items with variable-size results.  It writes both maps' results to
 * --out, each rank's PID to DIR/pid.<rank> (so the driver kills only what it
 * started) and, from every task, "map index" to DIR/exec.<rank> with
 * O_APPEND (so the driver can tell which items ran in which run).
 *
 *   journal_prog --n N --dir DIR --out FILE [--journal PATH] [--chunk C]
 *                [--delay-us U] [--abort-at K] [--static] [--fsize-limit B]
 *   journal_prog --dump JOURNAL      print "map index" for each journalled
 *                                    item (no MPI; reads a copy of the file)
 *
 * Without --journal the journal is whatever MPIPOOL_JOURNAL says.
 * --fsize-limit B: the master sets RLIMIT_FSIZE to B bytes once the pool
 * is open (MPI's own files are made by then: a limit around mpiexec breaks
 * the launcher first), as `ulimit -f` would (journal_fsize.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mpi.h>
#include <mpipool.h>
#include "journal.h"

static const char *dir;
static long delay_us, abort_at = -1;
static int exec_fd = -1;

static void log_exec(int map, size_t index) {
    char line[64];
    int len = snprintf(line, sizeof line, "%d %zu\n", map, index);
    if (exec_fd >= 0 && write(exec_fd, line, (size_t)len) != len) abort();
}

static void work(void) {
    if (delay_us > 0) usleep((useconds_t)delay_us);
}

static int fixed_task(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    log_exec(0, t->index);
    if ((long)t->index == abort_at) abort(); /* the job dies here on the first run */
    work();
    uint64_t r[2] = {x * x, x * 2654435761u};
    memcpy(t->out, r, sizeof r);
    return 0;
}
MPIPOOL_TASK(fixed_task);

static int var_task(mpipool_task *t) {
    uint64_t x = *(const uint64_t *)t->in;
    log_exec(1, t->index);
    if ((long)t->index + 100000 == abort_at) abort();
    work();
    char buf[64];
    int len = snprintf(buf, sizeof buf, "item %llu", (unsigned long long)x);
    size_t size = (size_t)len * (x % 4); /* 0 to 3 copies: sizes vary, some are empty */
    char *o = mpipool_task_output(t, size);
    if (o == NULL) return mpipool_task_fail(t, "no memory");
    for (size_t i = 0; i < size; i++) o[i] = buf[i % (size_t)len];
    return 0;
}
MPIPOOL_TASK(var_task);

static int item_line(void *ctx, uint64_t index, const void *data, size_t size) {
    (void)data;
    (void)size;
    printf("%llu %llu\n", (unsigned long long)*(uint64_t *)ctx, (unsigned long long)index);
    return 0;
}

/* Read a copy of the file (it may be being written) and list its items. */
static int dump(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return 0; /* no journal yet: nothing journalled */
    size_t cap = 1 << 16, len = 0;
    char *p = malloc(cap);
    for (size_t r; p && (r = fread(p + len, 1, cap - len, f)) > 0;) {
        len += r;
        if (len == cap) p = realloc(p, cap *= 2);
    }
    fclose(f);
    if (p == NULL) return 2;
    mpipool__journal *j;
    char err[1024];
    if (mpipool__journal_open_mem(p, len, &j, err, sizeof err) != MPIPOOL_OK) {
        fprintf(stderr, "journal_prog: %s\n", err);
        return 2;
    }
    for (uint64_t seq = 0; seq < mpipool__journal_nmaps(j); seq++)
        if (mpipool__journal_replay(j, seq, NULL, item_line, &seq, err, sizeof err) != MPIPOOL_OK) {
            fprintf(stderr, "journal_prog: %s\n", err);
            return 2;
        }
    mpipool__journal_close(j);
    free(p);
    return 0;
}

int main(int argc, char **argv) {
    size_t n = 1000, chunk = 0;
    long fsize_limit = -1;
    const char *out_path = NULL, *journal = NULL;
    int is_static = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--dump") == 0 && v) return dump(v);
        if (strcmp(a, "--static") == 0) {
            is_static = 1;
            continue;
        }
        if (v == NULL) {
            fprintf(stderr, "journal_prog: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--n") == 0) n = strtoul(v, NULL, 10);
        else if (strcmp(a, "--dir") == 0) dir = v;
        else if (strcmp(a, "--out") == 0) out_path = v;
        else if (strcmp(a, "--journal") == 0) journal = v;
        else if (strcmp(a, "--chunk") == 0) chunk = strtoul(v, NULL, 10);
        else if (strcmp(a, "--delay-us") == 0) delay_us = strtol(v, NULL, 10);
        else if (strcmp(a, "--abort-at") == 0) abort_at = strtol(v, NULL, 10);
        else if (strcmp(a, "--fsize-limit") == 0) fsize_limit = strtol(v, NULL, 10);
        else {
            fprintf(stderr, "journal_prog: unknown option %s\n", a);
            return 2;
        }
    }
    if (dir == NULL || out_path == NULL) {
        fprintf(stderr, "journal_prog: --dir and --out are required\n");
        return 2;
    }
    mpipool *pool;
    /* SIGTERM/SIGINT end the maps with MPIPOOL_EINTR (journal durable); the
     * program then exits with mpipool_exit_status(), 75 for "resume me". */
    mpipool_catch_signals(0);
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "journal_prog: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    char path[4096];
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/exec.%d", dir, mpipool_rank(pool));
    exec_fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    snprintf(path, sizeof path, "%s/pid.%d", dir, mpipool_rank(pool));
    FILE *pf = fopen(path, "w");
    if (pf) {
        fprintf(pf, "%ld\n", (long)getpid());
        fclose(pf);
    }
    if (!mpipool_is_master(pool)) return mpipool_exit_status(mpipool_serve(pool));
    if (fsize_limit >= 0) {
        struct rlimit rl = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) perror("journal_prog: setrlimit");
    }

    int rc = 1, mrc = MPIPOOL_OK;
    uint64_t *in = malloc(n * sizeof *in), (*res)[2] = calloc(n, sizeof *res);
    mpipool_buf *vres = calloc(n / 2 + 1, sizeof *vres);
    for (size_t i = 0; in && i < n; i++) in[i] = i * 7 + 3;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.journal = journal;
    o.chunk_size = chunk;
    o.schedule = is_static ? MPIPOOL_SCHEDULE_STATIC : MPIPOOL_SCHEDULE_DYNAMIC;
    if (!in || !res || !vres) goto done;
    if ((mrc = mpipool_map(pool, fixed_task, in, sizeof *in, res, sizeof *res, n, &o)) != MPIPOOL_OK) {
        fprintf(stderr, "journal_prog: map #0: %s\n", mpipool_last_error(pool));
        goto done;
    }
    o.schedule = MPIPOOL_SCHEDULE_DYNAMIC;
    if ((mrc = mpipool_map(pool, var_task, in, sizeof *in, vres, MPIPOOL_VARIABLE, n / 2, &o)) != MPIPOOL_OK) {
        fprintf(stderr, "journal_prog: map #1: %s\n", mpipool_last_error(pool));
        goto done;
    }
    FILE *f = fopen(out_path, "wb");
    if (f == NULL) goto done;
    fwrite(res, sizeof *res, n, f);
    for (size_t i = 0; i < n / 2; i++) {
        uint64_t sz = vres[i].size;
        fwrite(&sz, 8, 1, f);
        if (sz) fwrite(vres[i].data, 1, vres[i].size, f);
    }
    rc = fclose(f) == 0 ? 0 : 1;
done:
    for (size_t i = 0; vres && i < n / 2; i++) free(vres[i].data);
    free(vres);
    free(in);
    free(res);
    mpipool_close(pool);
    return mrc == MPIPOOL_EINTR ? mpipool_exit_status(mrc) : rc;
}
