/*
 * capture.c — what tasks write to stdout and stderr, kept per item for the
 * map flag MPIPOOL_MAP_ORDERED_OUTPUT (the worker's side): while a task
 * runs, file descriptors 1 and 2 point at two anonymous files; after it,
 * what landed there becomes records (u64 item index, u32 length, then one
 * byte 1 or 2 for the stream and the bytes), which travel back with the
 * chunk's result so the master can print them in item order (ordered.c).
 * No MPI.
 *
 * Invariant: after mpipool__capture_end the process's fds 1 and 2 are the
 * ones it had before mpipool__capture_begin, whatever the task did to stdio.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "capture.h"

/* Output beyond this per chunk is cut, with a note: a chunk's records are
 * one message. */
#define CAPTURE_MAX ((size_t)64 << 20)

static int files[2] = {-1, -1}, saved[2] = {-1, -1};

static int anon_file(void) {
#ifdef MFD_CLOEXEC
    int fd = memfd_create("mpipool-task-output", MFD_CLOEXEC);
    if (fd >= 0) return fd;
#endif
    FILE *f = tmpfile();
    return f ? dup(fileno(f)) : -1; /* the FILE leaks: once per process */
}

int mpipool__capture_begin(void) {
    fflush(stdout);
    fflush(stderr);
    for (int k = 0; k < 2; k++) {
        if (files[k] < 0 && (files[k] = anon_file()) < 0) return -1;
        if (ftruncate(files[k], 0) != 0 || lseek(files[k], 0, SEEK_SET) != 0) return -1;
    }
    for (int k = 0; k < 2; k++) {
        saved[k] = dup(k + 1);
        if (saved[k] < 0 || dup2(files[k], k + 1) < 0) return -1;
    }
    return 0;
}

static void add(mpipool__fails *rec, uint64_t index, int stream, const char *p, size_t n) {
    if (rec->len + 13 + n > CAPTURE_MAX) {
        static const char cut[] = "[mpipool: output cut: over 64 MiB in one chunk]\n";
        p = cut;
        n = sizeof cut - 1;
        if (rec->len + 13 + n > CAPTURE_MAX + 4096) return;
    }
    if (mpipool__fails_reserve(rec, rec->len + 13 + n) != 0) return;
    uint32_t len = (uint32_t)n + 1;
    char s = (char)stream;
    memcpy(rec->p + rec->len, &index, 8);
    memcpy(rec->p + rec->len + 8, &len, 4);
    rec->p[rec->len + 12] = s;
    if (n) memcpy(rec->p + rec->len + 13, p, n);
    rec->len += 13 + n;
}

void mpipool__capture_end(mpipool__fails *rec, uint64_t index) {
    fflush(stdout);
    fflush(stderr);
    for (int k = 0; k < 2; k++) {
        if (saved[k] < 0) continue;
        dup2(saved[k], k + 1);
        close(saved[k]);
        saved[k] = -1;
        off_t size = lseek(files[k], 0, SEEK_END);
        if (size <= 0) continue;
        char *buf = malloc((size_t)size);
        if (buf && pread(files[k], buf, (size_t)size, 0) == size) add(rec, index, k + 1, buf, (size_t)size);
        free(buf);
    }
}
