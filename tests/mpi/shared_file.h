/*
 * shared_file.h — a block of memory every rank of a test maps, for
 * counters the ranks share (the tests' ranks run on one host).  Needs
 * _GNU_SOURCE (mkstemp, ftruncate), set by the test's CMake target.
 */
#ifndef MPIPOOL_TEST_SHARED_FILE_H
#define MPIPOOL_TEST_SHARED_FILE_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <mpi.h>

/* Collective on MPI_COMM_WORLD: rank 0 makes a zeroed file of `bytes`
 * under $TMPDIR (or /tmp) named after `tag`, its path goes to every rank
 * in path[cap] (path[0] == '\0' if it could not), and every rank maps it.
 * Returns the mapping, or NULL.  Rank 0 unlinks `path` when done. */
static inline void *shared_file(size_t bytes, const char *tag, char *path, size_t cap) {
    int fd = -1, rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, cap, "%s/mpipool-%s-XXXXXX", dir && *dir ? dir : "/tmp", tag);
        fd = mkstemp(path);
        if (fd < 0 || ftruncate(fd, (off_t)bytes) != 0) path[0] = '\0';
    }
    MPI_Bcast(path, (int)cap, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (path[0] == '\0') return NULL;
    if (fd < 0) fd = open(path, O_RDWR);
    if (fd < 0) return NULL;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

#endif
