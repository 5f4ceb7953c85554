/*
 * fuzz_fails.c — the failure-record walker mpipool__fails_next
 * (src/parse.c), which reads the TAG_FAIL payload and the tail of a
 * VRESULT sent by a worker: records of (u64 item index, u32 length, text).
 * The input is the payload, copied into a buffer of exactly its size so
 * AddressSanitizer sees any read past it.  Checked: every record's text lies
 * inside the buffer, the offset only grows, and the walk ends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *p = malloc(size ? size : 1);
    if (p == NULL) return 0;
    if (size) memcpy(p, data, size);
    size_t off = 0, records = 0;
    uint64_t index;
    const char *msg;
    uint32_t mlen;
    volatile unsigned sum = 0;
    for (;;) {
        size_t before = off;
        if (!mpipool__fails_next(p, size, &off, &index, &msg, &mlen)) break;
        if (off <= before || off > size) abort();
        if (msg < p + before + 12 || msg + mlen > p + size) abort();
        for (uint32_t i = 0; i < mlen; i++) sum += (unsigned char)msg[i]; /* ASan checks each byte */
        if (++records > size / 12) abort();
    }
    /* Starting past the end must not read anything. */
    off = size + 1;
    if (mpipool__fails_next(p, size, &off, &index, &msg, &mlen)) abort();
    (void)sum;
    free(p);
    return 0;
}
