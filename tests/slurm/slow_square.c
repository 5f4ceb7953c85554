#define _POSIX_C_SOURCE 200809L /* nanosleep */
/*
 * slow_square.c — the square example, slowed down and counted, for the
 * Slurm time-limit tests: the squares of 0..N-1, each item taking MS
 * milliseconds (SLOW_MS in the environment, read on the worker), printed
 * "i^2 = v" in order once the map is done (so an interrupted run prints
 * nothing, and a resumed run prints everything).
 *
 *     SLOW_MS=50 srun build/tests/slurm/slow_square N
 *
 * With SLOW_LOG=FILE in the environment every execution of an item
 * appends "INDEX RUN" to FILE (one line, O_APPEND, from whichever host ran
 * it; RUN is Slurm's SLURM_RESTART_COUNT, 0 in the first run), so the test
 * can check that no journalled item ran again in a later run.
 * The journal and the signal behaviour come from the environment
 * (MPIPOOL_JOURNAL): the program itself knows nothing of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <mpipool.h>

static int slow_square(mpipool_task *t) {
    long long x = *(const long long *)t->in;
    const char *ms_env = getenv("SLOW_MS");
    long ms = ms_env ? atol(ms_env) : 0;
    if (ms > 0) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    const char *log = getenv("SLOW_LOG");
    if (log && *log) {
        const char *run = getenv("SLURM_RESTART_COUNT"); /* set by Slurm from the first requeue on */
        char line[64];
        int len = snprintf(line, sizeof line, "%zu %s\n", t->index, run && *run ? run : "0");
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || write(fd, line, (size_t)len) != len) {
            if (fd >= 0) close(fd);
            return mpipool_task_fail(t, "cannot append to %s", log);
        }
        close(fd);
    }
    *(long long *)t->out = x * x;
    return 0;
}
MPIPOOL_TASK(slow_square);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) {
        fprintf(stderr, "slow_square: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;
    long n = argc > 1 ? atol(argv[1]) : 100;
    if (n < 0) n = 0;
    long long *in = malloc(((size_t)n + 1) * sizeof *in);
    long long *out = malloc(((size_t)n + 1) * sizeof *out);
    for (long i = 0; in && i < n; i++) in[i] = i;
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1; /* every item journalled as soon as it is back */
    int rc = in && out ? mpipool_map(pool, slow_square, in, sizeof *in, out, sizeof *out, (size_t)n, &o)
                       : MPIPOOL_ENOMEM;
    /* Today a signal makes the library exit 75 from inside the map.  Once
     * the map returns MPIPOOL_EINTR instead, the program returns the
     * resumable status itself (then: `return mpipool_exit_status(rc);`);
     * matched by name, as that code does not exist yet. */
    int resumable = rc != MPIPOOL_OK && strcmp(mpipool_err_name(rc), "MPIPOOL_EINTR") == 0;
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "slow_square: %s\n", mpipool_last_error(pool));
    } else {
        for (long i = 0; i < n; i++) printf("%ld^2 = %lld\n", i, out[i]);
    }
    free(in);
    free(out);
    int crc = mpipool_close(pool);
    if (resumable) return MPIPOOL_EXIT_RESUMABLE;
    return rc == MPIPOOL_OK && crc == MPIPOOL_OK ? 0 : 1;
}
