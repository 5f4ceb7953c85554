/*
 * hung_task.c — mpipool_terminate with a task that never returns (issue 21,
 * item 9).  At 2 ranks: item 0 goes to rank 1 and blocks for ever in
 * pause(); mpipool_wait times out; mpipool_terminate must come back within
 * its grace (10 s) with MPIPOOL_ETIMEDOUT and a message naming the task,
 * the item and the rank, and mpipool_job_free must not block.  The master
 * prints one line "terminate: CODE after S s: MESSAGE" and returns 0; the
 * job then ends when the master's process does (hung_task.sh checks it).
 * At 1 rank the task would block the master itself: the program refuses.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>
#include <mpipool.h>

static int hang(mpipool_task *t) {
    (void)t;
    for (;;) pause();
    return 0;
}
MPIPOOL_TASK(hang);

int main(int argc, char **argv) {
    mpipool *pool;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) return 2;
    if (!mpipool_is_master(pool)) return mpipool_exit_status(mpipool_serve(pool));
    int world = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (world < 2) {
        fprintf(stderr, "hung_task: needs at least 2 ranks\n");
        mpipool_close(pool);
        return 2;
    }
    int in = 7, out = 0;
    mpipool_job *job = NULL;
    if (mpipool_apply_async(pool, hang, &in, sizeof in, &out, sizeof out, &job) != MPIPOOL_OK) return 3;
    int rc = mpipool_wait(job, 0.5);
    if (rc != MPIPOOL_ETIMEDOUT) {
        printf("wait: %s, expected MPIPOOL_ETIMEDOUT\n", mpipool_err_name(rc));
        return 4;
    }
    double t0 = MPI_Wtime();
    rc = mpipool_terminate(pool);
    double took = MPI_Wtime() - t0;
    printf("terminate: %s after %.1f s: %s\n", mpipool_err_name(rc), took, mpipool_last_error(NULL));
    rc = mpipool_wait(job, 0);
    printf("job: %s\n", mpipool_err_name(rc));
    mpipool_job_free(job);
    printf("job freed\n");
    fflush(stdout);
    return 0;
}
