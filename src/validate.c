/*
 * validate.c — argument checks for the map calls, done before anything is
 * sent so that a refused call leaves every rank where it was.  No MPI.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include "pure.h"

int mpipool__check_map_args(const void *in, size_t in_size, const void *out,
                            size_t out_size, size_t n,
                            const mpipool_map_options *opts, char *msg,
                            size_t msgsz) {
    if (opts != NULL) {
        if (opts->schedule != MPIPOOL_SCHEDULE_DYNAMIC &&
            opts->schedule != MPIPOOL_SCHEDULE_STATIC) {
            snprintf(msg, msgsz, "options->schedule is %d, not a mpipool_schedule value",
                     (int)opts->schedule);
            return MPIPOOL_EINVAL;
        }
        if (opts->on_error != MPIPOOL_ON_ERROR_CONTINUE && opts->on_error != MPIPOOL_ON_ERROR_STOP) {
            snprintf(msg, msgsz, "options->on_error is %d, not a mpipool_on_error value",
                     (int)opts->on_error);
            return MPIPOOL_EINVAL;
        }
        if (opts->flags & ~(MPIPOOL_MAP_PROGRESS | MPIPOOL_MAP_HIERARCHY | MPIPOOL_MAP_FLAT |
                            MPIPOOL_MAP_ORDERED_OUTPUT)) {
            snprintf(msg, msgsz, "options->flags is 0x%x; only MPIPOOL_MAP_PROGRESS, MPIPOOL_MAP_HIERARCHY, "
                     "MPIPOOL_MAP_FLAT and MPIPOOL_MAP_ORDERED_OUTPUT are defined", opts->flags);
            return MPIPOOL_EINVAL;
        }
        if ((opts->flags & MPIPOOL_MAP_HIERARCHY) && (opts->flags & MPIPOOL_MAP_FLAT)) {
            snprintf(msg, msgsz, "options->flags has both MPIPOOL_MAP_HIERARCHY and MPIPOOL_MAP_FLAT");
            return MPIPOOL_EINVAL;
        }
        if (opts->journal != NULL && strlen(opts->journal) >= 4096) {
            snprintf(msg, msgsz, "options->journal is a path of %zu bytes; at most 4095",
                     strlen(opts->journal));
            return MPIPOOL_EINVAL;
        }
        if (!(opts->task_timeout >= 0 && opts->task_timeout <= 1e9)) {
            snprintf(msg, msgsz, "options->task_timeout is %g; it must be a number of seconds, 0 for no limit",
                     opts->task_timeout);
            return MPIPOOL_EINVAL;
        }
        for (size_t i = 0; i < sizeof opts->reserved / sizeof opts->reserved[0]; i++) {
            if (opts->reserved[i] != NULL) {
                snprintf(msg, msgsz, "options->reserved[%zu] is not NULL "
                         "(initialise options with mpipool_map_options_init)", i);
                return MPIPOOL_EINVAL;
            }
        }
    }
    if (in_size == MPIPOOL_VARIABLE) in_size = sizeof(mpipool_buf);
    if (out_size == MPIPOOL_VARIABLE) out_size = sizeof(mpipool_buf);
    if (n == 0) return MPIPOOL_OK;
    if ((in_size && n > SIZE_MAX / in_size) || (out_size && n > SIZE_MAX / out_size)) {
        snprintf(msg, msgsz, "n = %zu items of %zu/%zu bytes overflows the address space",
                 n, in_size, out_size);
        return MPIPOOL_EOVERFLOW;
    }
    /* Items or results of size 0 need no memory: NULL is fine then. */
    if (in == NULL && in_size > 0) {
        snprintf(msg, msgsz, "in is NULL with n = %zu", n);
        return MPIPOOL_EINVAL;
    }
    if (out == NULL && out_size > 0) {
        snprintf(msg, msgsz, "out is NULL with n = %zu", n);
        return MPIPOOL_EINVAL;
    }
    /* As integers: comparing pointers into different objects is undefined. */
    uintptr_t i0 = (uintptr_t)in, o0 = (uintptr_t)out;
    if (in_size && out_size && i0 < o0 + n * out_size && o0 < i0 + n * in_size) {
        snprintf(msg, msgsz, "in and out overlap; results would overwrite items not yet sent");
        return MPIPOOL_EINVAL;
    }
    return MPIPOOL_OK;
}
