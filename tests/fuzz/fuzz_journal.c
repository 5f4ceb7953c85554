/*
 * fuzz_journal.c — libFuzzer target for the journal reader (src/journal*.c):
 * any bytes are checked as a journal file and every map they hold is
 * replayed, both item by item and straight into an output array, and its
 * KILL records (items that ended a worker) read back with their text.  It must
 * return MPIPOOL_OK or MPIPOOL_EJOURNAL (or ENOMEM), never crash, hang,
 * leak or read out of bounds.  Seeds: tests/fuzz/corpus/fuzz_journal/ (an empty
 * journal, fixed and variable chunks with failed items, several maps with
 * code identities of each kind and an imap, a torn tail, a journal written
 * by journal_prog; all format 2; kills, format 3 with KILL records of each
 * kind; and v1-fixed, a format-1 file, refused).
 *
 * Build with -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (libFuzzer's
 * convention; journal_scan.c then ignores checksums) or almost every mutation
 * stops at the checksum.  By hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *     -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -Isrc -Iinclude $(mpicc --showme:compile) \
 *     tests/fuzz/fuzz_journal.c src/journal*.c src/error.c -o fuzz_journal
 *   ./fuzz_journal -max_total_time=60 tests/fuzz/corpus/fuzz_journal
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[1024];
    int rc = mpipool__journal_check_bytes(data, size, err, sizeof err);
    if (rc != MPIPOOL_OK && rc != MPIPOOL_EJOURNAL && rc != MPIPOOL_ENOMEM) abort();
    return 0;
}
