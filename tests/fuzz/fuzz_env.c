/*
 * fuzz_env.c — the parsing of environment variables (src/parse.c, src/plan.c):
 * MPIPOOL_PIECE_BYTES as mpipool_open reads it (mpipool__piece_parse).  The
 * input is the variable's value.  Checked: every accepted value lies in
 * [MIN_PIECE, DEFAULT_PIECE]; a value made only of digits is accepted;
 * anything else is refused with MPIPOOL_EINVAL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* getenv gives a NUL-terminated string: cut at the first NUL. */
    char *value = malloc(size + 1);
    if (value == NULL) return 0;
    memcpy(value, data, size);
    value[size] = '\0';
    size_t piece = 0;
    int rc = mpipool__piece_parse(value, &piece);
    int digits = 1;
    for (const char *p = value; *p; p++) digits &= *p >= '0' && *p <= '9';
    if (rc == MPIPOOL_OK) {
        if (!digits) abort();
        if (*value && (piece < MPIPOOL__MIN_PIECE || piece > MPIPOOL__DEFAULT_PIECE)) abort();
        if (!*value && piece != MPIPOOL__DEFAULT_PIECE) abort();
    } else if (rc != MPIPOOL_EINVAL || digits || piece != MPIPOOL__DEFAULT_PIECE) {
        abort();
    }
    free(value);
    return 0;
}
