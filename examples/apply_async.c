/*
 * apply_async.c — start one task per name in the background, then wait for
 * each: Python's Process(target=f, args=...).start() / join() on MPI ranks.
 *
 *     mpirun -n 4 ./build/examples/apply_async             # bob, alice, carol
 *     mpirun -n 3 ./build/examples/apply_async dave erin
 *     ./build/examples/apply_async                         # one rank: rank 0 runs them
 *
 * Prints one line per name, in the order given, whichever rank ran it:
 *
 *     hello bob from rank 1
 *     hello alice from rank 2
 *     hello carol from rank 3
 *
 * Python equivalent:
 *
 *     procs = [Process(target=greet, args=(name,)) for name in names]
 *     for p in procs: p.start()
 *     for p in procs: p.join()
 *
 * (or, closer still, pool.apply_async(greet, (name,)) and .get()).
 */
#include <stdio.h>
#include <string.h>
#include <mpipool.h>

#define NAME_SIZE 32     /* an item: a NUL-padded name  */
#define GREETING_SIZE 64 /* a result: a NUL-terminated line */
#define MAX_NAMES 16

/* The task: a name in, a greeting naming the rank that ran it out. */
static int greet(mpipool_task *t) {
    const char *name = t->in;
    const char *end = memchr(name, '\0', t->in_size); /* the name's NUL padding */
    size_t len = end ? (size_t)(end - name) : t->in_size;
    snprintf(t->out, t->out_size, "hello %.*s from rank %d", (int)len, name, t->rank);
    return 0;
}
MPIPOOL_TASK(greet);

int main(int argc, char **argv) {
    mpipool *pool;
    /* Workers never return from mpipool_start: they run tasks until the
     * master closes the pool, then exit.  What follows runs on the master. */
    int rc = mpipool_start(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "apply_async: %s\n", mpipool_last_error(NULL));
        return 1;
    }

    static const char *const default_names[] = {"bob", "alice", "carol"};
    const char *const *names = argc > 1 ? (const char *const *)argv + 1 : default_names;
    int n = argc > 1 ? argc - 1 : 3;
    if (n > MAX_NAMES) {
        fprintf(stderr, "apply_async: at most %d names\n", MAX_NAMES);
        mpipool_close(pool); /* releases the workers, so nobody hangs */
        return 2;
    }

    /* Items and results must stay put until their job is finished. */
    char in[MAX_NAMES][NAME_SIZE];
    char out[MAX_NAMES][GREETING_SIZE];
    for (int i = 0; i < n; i++) {
        if (strlen(names[i]) >= NAME_SIZE) {
            fprintf(stderr, "apply_async: name '%s' is longer than %d bytes\n", names[i],
                    NAME_SIZE - 1);
            mpipool_close(pool);
            return 2;
        }
        memset(in[i], 0, NAME_SIZE);
        memcpy(in[i], names[i], strlen(names[i]));
    }

    /* start(): each call returns at once with a job; the jobs run on the
     * workers (on the master itself, inside this call, with one rank). */
    mpipool_job *jobs[MAX_NAMES] = {NULL};
    for (int i = 0; i < n; i++) {
        rc = mpipool_apply_async(pool, greet, in[i], NAME_SIZE, out[i], GREETING_SIZE, &jobs[i]);
        if (rc != MPIPOOL_OK) {
            fprintf(stderr, "apply_async: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
            break;
        }
    }

    /* join(): wait for each job in turn (a timeout < 0 waits as long as it
     * takes), print its result, free it. */
    int failed = rc != MPIPOOL_OK;
    for (int i = 0; i < n && jobs[i] != NULL; i++) {
        int jrc = mpipool_wait(jobs[i], -1.0);
        if (jrc == MPIPOOL_OK) {
            printf("%s\n", out[i]);
        } else {
            fprintf(stderr, "apply_async: %s: %s\n", names[i], mpipool_last_error(pool));
            failed = 1;
        }
        mpipool_job_free(jobs[i]);
    }

    int crc = mpipool_close(pool);
    if (crc != MPIPOOL_OK) fprintf(stderr, "apply_async: mpipool_close: %s\n", mpipool_strerror(crc));
    return !failed && crc == MPIPOOL_OK ? 0 : 1;
}
