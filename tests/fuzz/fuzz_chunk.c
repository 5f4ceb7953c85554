/*
 * fuzz_chunk.c — the worker's check of a received chunk,
 * mpipool__chunk_layout (src/parse.c): a work header (wire.h) followed by
 * u64 sizes (variable items) and the items.  The input is the whole
 * message, copied into a malloc'd buffer of exactly its size (8-byte
 * aligned, as the worker's receive buffer is).  When the check accepts,
 * the target walks the items exactly as mpipool__run_batch does and reads
 * every byte, so AddressSanitizer reports any item outside the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "pure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mpipool__work_hdr h;
    if (size < sizeof h) {
        /* Too short for a header: the check must refuse any header it is given. */
        memset(&h, 0, sizeof h);
        const uint64_t *sizes;
        const char *items;
        char one = 0;
        if (mpipool__chunk_layout(&h, &one, size, &sizes, &items) == 0) abort();
        return 0;
    }
    char *msg = malloc(size);
    if (msg == NULL) return 0;
    memcpy(msg, data, size);
    memcpy(&h, msg, sizeof h);
    const uint64_t *sizes;
    const char *items;
    volatile unsigned sum = 0;
    if (mpipool__chunk_layout(&h, msg, size, &sizes, &items) == 0) {
        if (items < msg + sizeof h || items > msg + size) abort();
        const char *in = items;
        /* Items of size 0 (allowed): nothing to read, however many. */
        uint64_t walk = sizes == NULL && h.in_size == 0 ? 0 : h.count;
        for (uint64_t i = 0; i < walk; i++) {
            size_t isz = sizes ? (size_t)sizes[i] : (size_t)h.in_size;
            for (size_t b = 0; b < isz; b++) sum += (unsigned char)in[b];
            in += isz;
        }
        if (walk > 0 && in != msg + size) abort(); /* the items fill the message exactly */
        if (walk == 0 && h.count > 0 && sizes == NULL && items != msg + size) abort(); /* 0-size: no payload */
    }
    (void)sum;
    free(msg);
    return 0;
}
