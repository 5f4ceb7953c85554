/*
 * work_log.c — watch dynamic scheduling hand out uneven work.
 *
 *     mpirun -n 3 ./build/examples/work_log      # 1 master + 2 workers
 *
 * Four tasks take 0.5, 0.2, 0.1 and 0.3 seconds.  With chunk_size 1 each
 * worker asks for the next task as soon as it finishes one, so with two
 * workers the log looks like this (times vary a little):
 *
 *     t=0.00s rank 1 starts task 0 (0.5 s)
 *     t=0.00s rank 2 starts task 1 (0.2 s)
 *     t=0.20s rank 2 finishes task 1
 *     t=0.20s rank 2 starts task 2 (0.1 s)
 *     t=0.30s rank 2 finishes task 2
 *     t=0.30s rank 2 starts task 3 (0.3 s)
 *     t=0.50s rank 1 finishes task 0
 *     t=0.60s rank 2 finishes task 3
 *
 * Rank 2 runs three short tasks while rank 1 runs the long one.  Any rank
 * count works: with one rank, rank 0 runs all four in turn.
 *
 * Times come from each rank's CLOCK_REALTIME, relative to the moment the
 * master started the map; across several hosts they are only as good as the
 * hosts' clock synchronisation.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <mpipool.h>

/* What each task reports back. */
typedef struct {
    int rank;     /* the rank that ran it */
    double start; /* CLOCK_REALTIME, seconds */
    double end;
} task_log;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The workload: sleep for the item's number of seconds. */
static int work(mpipool_task *t) {
    double seconds = *(const double *)t->in;
    task_log *log = t->out;
    log->rank = t->rank;
    log->start = now();
    struct timespec req = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&req, &req) != 0 && errno == EINTR) {
    }
    log->end = now();
    return 0;
}
MPIPOOL_TASK_TYPED(work, double, task_log);

/* One line of the log. */
typedef struct {
    double t;
    int rank;
    int task;
    int starts; /* 1 = starts, 0 = finishes */
} event;

static int by_time(const void *a, const void *b) {
    const event *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    if (x->starts != y->starts) return x->starts - y->starts; /* finishes first */
    return x->task - y->task;
}

int main(int argc, char **argv) {
    mpipool *pool;
    /* Workers never return from mpipool_start: they run tasks until the
     * master closes the pool, then exit.  What follows runs on the master. */
    int rc = mpipool_start(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "work_log: %s\n", mpipool_last_error(NULL));
        return 1;
    }

    enum { NTASKS = 4 };
    double seconds[NTASKS] = {0.5, 0.2, 0.1, 0.3};
    task_log logs[NTASKS];

    /* One task per chunk: a worker gets its next task only when it asks. */
    mpipool_map_options opts;
    mpipool_map_options_init(&opts);
    opts.schedule = MPIPOOL_SCHEDULE_DYNAMIC; /* the default, spelt out */
    opts.chunk_size = 1;

    printf("%d worker%s\n", mpipool_size(pool), mpipool_size(pool) == 1 ? "" : "s");
    double t0 = now();
    rc = MPIPOOL_MAP(pool, work, seconds, logs, NTASKS, &opts);
    double t1 = now();
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "work_log: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
    } else {
        event ev[2 * NTASKS];
        double total = 0;
        for (int i = 0; i < NTASKS; i++) {
            ev[2 * i] = (event){logs[i].start - t0, logs[i].rank, i, 1};
            ev[2 * i + 1] = (event){logs[i].end - t0, logs[i].rank, i, 0};
            total += seconds[i];
        }
        qsort(ev, 2 * NTASKS, sizeof ev[0], by_time);
        for (int i = 0; i < 2 * NTASKS; i++) {
            if (ev[i].starts)
                printf("t=%.2fs rank %d starts task %d (%.1f s)\n", ev[i].t, ev[i].rank,
                       ev[i].task, seconds[ev[i].task]);
            else
                printf("t=%.2fs rank %d finishes task %d\n", ev[i].t, ev[i].rank, ev[i].task);
        }
        printf("map took %.2f s for %.1f s of tasks\n", t1 - t0, total);
    }

    int crc = mpipool_close(pool);
    if (crc != MPIPOOL_OK)
        fprintf(stderr, "work_log: mpipool_close: %s\n", mpipool_strerror(crc));
    return mpipool_exit_status(rc != MPIPOOL_OK ? rc : crc);
}
