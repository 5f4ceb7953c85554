/*
 * test_worker_fails.c — a worker that fails locally tells the master
 * (issue 15, defect 5): before the fix it tore down and left, and the
 * master waited for its chunk for ever.
 *
 * At 2 ranks the worker limits its address space to what it uses plus
 * 64 MiB, then serves; the master maps one variable-size item of 256 MiB,
 * which the worker cannot receive (no memory for the chunk).  The map
 * must fail within the test's timeout with a message naming rank 1 and
 * the reason; the worker's mpipool_serve returns MPIPOOL_ENOMEM.
 * Sanitizer builds skip it (their shadow memory needs the address space).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <mpipool.h>

static int echo(mpipool_task *t) {
    void *o = mpipool_task_output(t, 1);
    return o == NULL;
}
MPIPOOL_TASK(echo);

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
static long vm_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0;
    if (f == NULL) return -1;
    if (fscanf(f, "%ld", &pages) != 1) pages = -1;
    fclose(f);
    return pages < 0 ? -1 : pages * 4096;
}
#endif

int main(int argc, char **argv) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    (void)argc;
    (void)argv;
    return 77;
#else
    mpipool *pool;
    int world = 0;
    if (mpipool_open(&pool, &argc, &argv) != MPIPOOL_OK) return 2;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (world != 2) {
        mpipool_close(pool);
        return 77;
    }
    if (!mpipool_is_master(pool)) {
        long vm = vm_bytes();
        struct rlimit rl = {(rlim_t)(vm + (64L << 20)), (rlim_t)(vm + (64L << 20))};
        if (vm < 0 || setrlimit(RLIMIT_AS, &rl) != 0) perror("test_worker_fails: setrlimit");
        int rc = mpipool_serve(pool);
        printf("worker: serve returned %s\n", mpipool_err_name(rc));
        return rc == MPIPOOL_ENOMEM ? 0 : 1;
    }
    size_t big = (size_t)256 << 20;
    mpipool_buf item = {malloc(big), big}, res = {NULL, 0};
    if (item.data == NULL) return 3;
    memset(item.data, 1, big);
    int rc = mpipool_map(pool, echo, &item, MPIPOOL_VARIABLE, &res, MPIPOOL_VARIABLE, 1, NULL);
    const char *msg = mpipool_last_error(pool);
    printf("master: map returned %s: %s\n", mpipool_err_name(rc), msg);
    int ok = rc == MPIPOOL_ENOMEM && strstr(msg, "rank 1 left the pool") != NULL && strstr(msg, "no memory") != NULL;
    free(item.data);
    free(res.data);
    mpipool_close(pool);
    printf("verdict: %s\n", ok ? "PASS" : "FAIL");
    return ok ? 0 : 1;
#endif
}
