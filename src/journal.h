/*
 * journal.h — the journal file: finished chunks' results, appended with a
 * checksum, so a job that died can be run again and skip what is done.
 * Private; no MPI (src/journal*.c are part of mpipool_pure, unit-tested
 * and fuzzed on their own; journal_impl.h says which file does what).
 *
 * The file is a sequence of records, all integers little-endian:
 *
 *   u32 magic "MPJR" | u32 type | u64 body length | u64 header check
 *   body (length bytes)
 *   u64 checksum of the 16 header bytes and the body
 *
 * The header check (a hash of the first 16 bytes) tells a damaged length
 * field from a record cut short.  Types:
 *
 *   HEAD  (1) first record of every file: u32 version (3), u32 flags (0)
 *   MAP   (2) a map begins: u64 seq, u64 n, u64 in_size, u64 out_size,
 *             u64 input digest, u32 name length, u32 code length, the
 *             task's name, the code identity of the program that wrote it.
 *             in_size/out_size are UINT64_MAX for variable sizes.
 *   CHUNK (3) results of items [first, first+count) of map `seq`:
 *             u64 seq, u64 first, u64 count, u64 out_size, u64 nfailed,
 *             u64 failed[nfailed] (items without a result, to run again),
 *             then either count * out_size result bytes (fixed) or
 *             u64 sizes[count] and the results back to back (variable).
 *   KILL  (4) item `item` of map `seq` ended a worker process (issue 17):
 *             u64 seq, u64 item, u32 kind (MPIPOOL__JKILL_*), i32 rank it
 *             ran on, u32 text length, u32 flags (0), then the text
 *             (crash: "rank 3, SIGSEGV"; timeout: "its task ran 2.0 s on
 *             rank 1, longer than ..."; died: the deaths, "rank 3,
 *             SIGSEGV; rank 1, SIGSEGV"; at most 1024 bytes).  Written,
 *             and synced, before the master acks the worker's report, so a
 *             job the launcher then ends still has it.  What a resumed run
 *             makes of them is resume.c's business (a CHUNK record with
 *             the item's result wins over them).
 *
 * Reading (at open): every record is checked.  The file ending inside a
 * record, or a tail of zero bytes (what some filesystems leave after a
 * crash), is a torn last write: ignored and cut off before appending.  Any
 * other damage — a bad magic, header check or checksum, a record that does
 * not parse, a chunk for an unknown map — is MPIPOOL_EJOURNAL with the
 * offset, never applied and never a crash.
 *
 * Binding to the code (issue 21, item 5).  A map's results are reused only
 * if its MAP record has the same key (number, task name, n, sizes, input
 * digest) and the same code identity: by default the executable's GNU
 * build id, else the size and mtime of /proc/self/exe (progid.h).  A
 * mismatch is MPIPOOL_EJOURNAL:
 *
 *   journal 'J' was written by another build of the program (build id
 *   45d5...; this run: build id 9a1c...), whose results may not be this
 *   build's; delete it to start over, or, if the change cannot alter
 *   results, set MPIPOOL_JOURNAL_CODE='build-id:45d5...' to resume it
 *
 * The environment variable MPIPOOL_JOURNAL_CODE=<string>, when set and not
 * empty, replaces the default identity with the string itself: set it to
 * the journal's recorded identity (as the message says) to resume with a
 * rebuilt program deliberately, or to a version name of your own (e.g.
 * "mysim-2.3") for every run, so that copies of the program on other
 * machines, or rebuilds that do not change results, resume each other's
 * journals.  At most 1024 bytes.
 *
 * Format 2 files (before KILL records) are read as they are and appended
 * to (a KILL record may then follow in a format-2 file; an mpipool that
 * reads only format 2 refuses it as "a record of unknown type").  New files
 * are format 3, which such an mpipool refuses as "another format version".
 *
 * Version 1 files (before the code identity) are refused with a message
 * that says so ("written by an older mpipool (journal format 1 ...);
 * delete it to start over, or finish the job with the mpipool that wrote
 * it"): they cannot say which build wrote them, and reading them unchecked
 * would keep the very hole this closes; a format-1 file is also the
 * output of a different mpipool, whose own code then changed anyway.
 */
#ifndef MPIPOOL_JOURNAL_H
#define MPIPOOL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include "mpipool.h"

/* Sync policy (see the README "Journal and resume"): every record is
 * written with one write() when its chunk is collected, so a process that
 * dies loses nothing already collected; fdatasync — which only a node or
 * power failure needs — runs once the oldest unsynced record is this old,
 * or this many bytes are unsynced; when a map finishes, unless the last sync
 * is more recent than this (so a loop of small maps or applies syncs at
 * most ~5 times a second, not once per map); and always when the journal
 * closes or a signal asks the job to stop. */
#define MPIPOOL__JOURNAL_SYNC_SECONDS 0.2
#define MPIPOOL__JOURNAL_SYNC_BYTES ((uint64_t)16 << 20)

/* 64-bit hash, streaming (the result does not depend on how the bytes are
 * split between updates).  Not cryptographic: it finds accidents. */
typedef struct {
    uint64_t h, total;
    unsigned char buf[8];
    unsigned nbuf;
} mpipool__hasher;
void mpipool__hash_init(mpipool__hasher *s);
void mpipool__hash_update(mpipool__hasher *s, const void *p, size_t len);
uint64_t mpipool__hash_final(const mpipool__hasher *s);
uint64_t mpipool__hash(const void *p, size_t len);

/* What a map is, to tell its records from another job's. */
typedef struct {
    uint64_t seq;                /* the map's number in the program (0-based) */
    uint64_t n, in_size, out_size; /* sizes: UINT64_MAX = variable           */
    uint64_t digest;             /* of the inputs                             */
    const char *fn;              /* task name                                 */
    const char *code;            /* what identifies the program's code (see
                                    above); NULL: this program's, from
                                    mpipool__progid()                          */
} mpipool__jkey;

typedef struct mpipool__journal mpipool__journal;

/* Open (creating it if missing) and check the journal at `path`; lock it
 * against a second writer (flock, where the filesystem has it); cut off a
 * torn tail.  MPIPOOL_OK and *out, else MPIPOOL_EJOURNAL (or ENOMEM) with
 * the reason in err (which names the file). */
int mpipool__journal_open(const char *path, mpipool__journal **out, char *err, size_t errsz);
/* The same over `len` bytes in memory, read-only (tests, fuzzing): appends
 * fail.  The bytes must outlive the journal. */
int mpipool__journal_open_mem(const void *p, size_t len, mpipool__journal **out, char *err,
                              size_t errsz);
/* Sync and close; NULL is a no-op.  MPIPOOL_OK or EJOURNAL (sync failed). */
int mpipool__journal_close(mpipool__journal *j);
const char *mpipool__journal_path(const mpipool__journal *j);
/* Bytes of intact records (what a torn tail was cut back to). */
uint64_t mpipool__journal_size(const mpipool__journal *j);
/* 1 if open found (and cut off) a torn last record. */
int mpipool__journal_had_torn_tail(const mpipool__journal *j);
/* 1 if `path` still names the file the journal has open (not deleted or
 * replaced since). */
int mpipool__journal_same_file(const mpipool__journal *j, const char *path);
/* How many maps the journal knows. */
size_t mpipool__journal_nmaps(const mpipool__journal *j);

/* Find map key->seq.  1: the journal has it and it is the same job, by
 * the same code; 0: the journal does not have it (a MAP record is
 * appended, with the code identity, unless read-only); MPIPOOL_EJOURNAL:
 * the journal's map key->seq is another job, or was written by other code
 * (err says how it differs); or an append error. */
int mpipool__journal_begin(mpipool__journal *j, const mpipool__jkey *key, char *err, size_t errsz);

/* Called for each item of map `seq` whose result is in the journal, in
 * record order.  `data` is its result (valid during the call), or NULL when
 * replay wrote fixed-size results straight into `fixed_out`.  Return 0 to go
 * on, non-zero to stop (replay returns that value). */
typedef int (*mpipool__jitem_fn)(void *ctx, uint64_t index, const void *data, size_t size);
/* Replay the results of map `seq`.  With fixed_out != NULL (fixed-size
 * results only) each chunk's bytes are read straight into
 * fixed_out + first * out_size (failed items' slots too: they are run
 * again and overwritten).  MPIPOOL_OK, MPIPOOL_EJOURNAL (a record that does
 * not parse), MPIPOOL_ENOMEM, or the callback's value. */
int mpipool__journal_replay(mpipool__journal *j, uint64_t seq, void *fixed_out,
                            mpipool__jitem_fn cb, void *ctx, char *err, size_t errsz);

/* Append the results of items [first, first+count) of map `seq`.  Fixed
 * results: out_size bytes each at `results`; variable (out_size ==
 * UINT64_MAX): `vres` holds count buffers.  failed[nfailed] (absolute
 * indices in the range) have no result.  One write() per record.
 * MPIPOOL_OK or MPIPOOL_EJOURNAL/ENOMEM with err. */
int mpipool__journal_append_chunk(mpipool__journal *j, uint64_t seq, uint64_t first, uint64_t count,
                                  uint64_t out_size, const void *results, const mpipool_buf *vres,
                                  const uint64_t *failed, uint64_t nfailed, char *err, size_t errsz);

/* KILL records: how the item ended its worker. */
enum {
    MPIPOOL__JKILL_CRASH = 1,   /* its task crashed the process (a signal)      */
    MPIPOOL__JKILL_TIMEOUT = 2, /* it overran the map's task_timeout            */
    MPIPOOL__JKILL_DIED = 3     /* it was running at two workers' deaths (poison) */
};
/* Append that item `item` of map `seq` ended a worker (`kind`, on `rank`,
 * `text` saying how; cut at 1024 bytes), and sync it.  MPIPOOL_OK or
 * MPIPOOL_EJOURNAL with err. */
int mpipool__journal_append_kill(mpipool__journal *j, uint64_t seq, uint64_t item, int kind, int rank, const char *text,
                                 char *err, size_t errsz);
/* Called for each KILL record of map `seq`, in file order (an item may
 * have several); `text` is valid during the call.  Return 0 to go on. */
typedef int (*mpipool__jkill_fn)(void *ctx, uint64_t item, int kind, int rank, const char *text);
/* MPIPOOL_OK, MPIPOOL_EJOURNAL, MPIPOOL_ENOMEM, or the callback's value. */
int mpipool__journal_kills(mpipool__journal *j, uint64_t seq, mpipool__jkill_fn cb, void *ctx, char *err,
                           size_t errsz);

/* Streams (mpipool_imap): the key's n, in_size and out_size are all
 * MPIPOOL__JSTREAM (no map has that many items), digest 0.  Their results
 * are never loaded whole: pieces() lists, for each chunk of map `seq` in
 * record order, the runs of its items that have a result (failed items cut
 * a chunk into runs), as (first, count, chunk number); read_var() reads
 * items [first, first+count) of one chunk (variable-size results) into one
 * malloc'd *buf (the caller frees it), *sizes (host order) and *data
 * pointing into it. */
#define MPIPOOL__JSTREAM UINT64_MAX
typedef int (*mpipool__jpiece_fn)(void *ctx, uint64_t first, uint64_t count, size_t chunk);
int mpipool__journal_pieces(mpipool__journal *j, uint64_t seq, mpipool__jpiece_fn cb, void *ctx, char *err,
                            size_t errsz);
int mpipool__journal_read_var(mpipool__journal *j, uint64_t seq, size_t chunk, uint64_t first, uint64_t count,
                              char **buf, const uint64_t **sizes, const char **data, char *err, size_t errsz);

/* fdatasync now if anything is unsynced. */
int mpipool__journal_sync(mpipool__journal *j, char *err, size_t errsz);
/* fdatasync if the policy above says it is time.  1 if it synced. */
int mpipool__journal_maybe_sync(mpipool__journal *j, char *err, size_t errsz);
/* The same at the end of a map: sync unless the last sync was less than
 * MPIPOOL__JOURNAL_SYNC_SECONDS ago (then as maybe_sync).  1 if it synced. */
int mpipool__journal_sync_finish(mpipool__journal *j, char *err, size_t errsz);

/* Fuzzing and tests: check `len` bytes as a journal and replay every map
 * they hold.  MPIPOOL_OK or the error open/replay gives. */
int mpipool__journal_check_bytes(const void *p, size_t len, char *err, size_t errsz);

#endif
