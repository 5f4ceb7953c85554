/*
 * error.c — names and descriptions of the MPIPOOL_E... codes, generated from
 * the one list in mpipool.h (MPIPOOL_ERRNO_MAP), plus the version calls.
 * No MPI.
 */
#include "pure.h"

char mpipool__open_error[MPIPOOL__ERR_MAX];

const char *mpipool_strerror(int code) {
    switch (code) {
    case MPIPOOL_OK: return "success";
#define XX(name, value, text) case MPIPOOL_##name: return text;
        MPIPOOL_ERRNO_MAP(XX)
#undef XX
    default: return "unknown error";
    }
}

const char *mpipool_err_name(int code) {
    switch (code) {
    case MPIPOOL_OK: return "MPIPOOL_OK";
#define XX(name, value, text) case MPIPOOL_##name: return "MPIPOOL_" #name;
        MPIPOOL_ERRNO_MAP(XX)
#undef XX
    default: return "MPIPOOL_UNKNOWN";
    }
}

unsigned mpipool_version(void) { return MPIPOOL_VERSION_HEX; }

const char *mpipool_version_string(void) { return MPIPOOL_VERSION_STRING; }

void mpipool_map_options_init(mpipool_map_options *opts) {
    if (opts == NULL) return;
    mpipool_map_options d = MPIPOOL_MAP_OPTIONS_INIT;
    *opts = d;
}
