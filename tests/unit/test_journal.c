/*
 * test_journal.c — the journal file (src/journal*.c), no MPI: write/read
 * round trips (fixed and variable results, failed items), a torn last
 * record ignored and cut off, a corrupted record refused, a foreign job
 * refused, several maps in one journal, a second writer locked out, a
 * file-size limit reported as a journal error (not SIGXFSZ), a journal of
 * another build of the program refused (and MPIPOOL_JOURNAL_CODE), the build
 * id read from ELF notes, format-1 journals refused, and the hash's
 * independence from how the bytes are split.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "journal.h"
#include "progid.h"

static const char *self_path; /* argv[0] */
#include "journal_fixture.h"

static off_t file_size(void) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* What replay delivered: results by index, and how many. */
typedef struct {
    uint64_t got[64];
    int seen[64];
    size_t count;
    char var[64][32];
    size_t var_size[64];
} sink;

static int collect(void *ctx, uint64_t index, const void *data, size_t size) {
    sink *s = ctx;
    assert_true(index < 64);
    s->seen[index]++;
    s->count++;
    if (data && size == 8) memcpy(&s->got[index], data, 8);
    if (data && size <= 32) {
        memcpy(s->var[index], data, size);
        s->var_size[index] = size;
    }
    return 0;
}

static int count_only(void *ctx, uint64_t index, const void *data, size_t size) {
    (void)index, (void)data, (void)size;
    ((sink *)ctx)->count++;
    return 0;
}

static mpipool__jkey key(uint64_t seq, const char *fn, uint64_t n, uint64_t digest) {
    mpipool__jkey k = {seq, n, 8, 8, digest, fn, NULL};
    return k;
}

static void test_round_trip(void **state) {
    (void)state;
    uint64_t res[20];
    for (int i = 0; i < 20; i++) res[i] = (uint64_t)i * i + 1;
    mpipool__journal *j = open_ok();
    mpipool__jkey k = key(0, "square", 20, 42);
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 0); /* new */
    uint64_t failed[] = {12};
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 0, 10, 8, res, NULL, NULL, 0, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 10, 5, 8, res + 10, NULL, failed, 1, err, sizeof err),
                     MPIPOOL_OK);
    assert_int_equal(mpipool__journal_close(j), MPIPOOL_OK);

    j = open_ok();
    assert_false(mpipool__journal_had_torn_tail(j));
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 1); /* found, same job */
    sink s = {0};
    assert_int_equal(mpipool__journal_replay(j, 0, NULL, collect, &s, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(s.count, 14); /* 15 items, one failed */
    for (int i = 0; i < 20; i++) {
        int want = i < 15 && i != 12;
        assert_int_equal(s.seen[i], want);
        if (want) assert_int_equal(s.got[i], res[i]);
    }
    /* Straight into place. */
    uint64_t out[20] = {0};
    sink t = {0};
    assert_int_equal(mpipool__journal_replay(j, 0, out, collect, &t, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(t.count, 14);
    for (int i = 0; i < 15; i++)
        if (i != 12) assert_int_equal(out[i], res[i]);
    assert_int_equal(out[15], 0);
    mpipool__journal_close(j);
}

static void test_variable(void **state) {
    (void)state;
    mpipool_buf v[4] = {{"ab", 2}, {NULL, 0}, {"hello", 5}, {"x", 1}};
    mpipool__journal *j = open_ok();
    mpipool__jkey k = {0, 4, UINT64_MAX, UINT64_MAX, 7, "words", NULL};
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 0);
    uint64_t failed[] = {3};
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 0, 4, UINT64_MAX, NULL, v, failed, 1, err, sizeof err),
                     MPIPOOL_OK);
    mpipool__journal_close(j);
    j = open_ok();
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 1);
    sink s = {0};
    assert_int_equal(mpipool__journal_replay(j, 0, NULL, collect, &s, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.var_size[0], 2);
    assert_memory_equal(s.var[0], "ab", 2);
    assert_int_equal(s.seen[1], 1);
    assert_int_equal(s.var_size[1], 0);
    assert_memory_equal(s.var[2], "hello", 5);
    assert_int_equal(s.seen[3], 0);
    mpipool__journal_close(j);
}

/* Write a journal with one map and two chunks; return the file size after
 * the first chunk. */
static off_t write_two_chunks(void) {
    uint64_t res[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    mpipool__journal *j = open_ok();
    mpipool__jkey k = key(0, "f", 8, 1);
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 0);
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 0, 4, 8, res, NULL, NULL, 0, err, sizeof err), MPIPOOL_OK);
    off_t mid = (off_t)mpipool__journal_size(j);
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 4, 4, 8, res + 4, NULL, NULL, 0, err, sizeof err),
                     MPIPOOL_OK);
    mpipool__journal_close(j);
    return mid;
}

static void test_torn_tail(void **state) {
    (void)state;
    off_t mid = write_two_chunks(), end = file_size();
    /* Every cut inside the last record is a torn write: ignored. */
    for (off_t cut = mid + 1; cut < end; cut += 7) {
        assert_int_equal(truncate(path, cut), 0);
        mpipool__journal *j = open_ok();
        assert_true(mpipool__journal_had_torn_tail(j));
        assert_int_equal((off_t)mpipool__journal_size(j), mid);
        mpipool__jkey k = key(0, "f", 8, 1);
        assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 1);
        sink s = {0};
        assert_int_equal(mpipool__journal_replay(j, 0, NULL, collect, &s, err, sizeof err), MPIPOOL_OK);
        assert_int_equal(s.count, 4);
        mpipool__journal_close(j);
        /* ... and cut off, so appends follow the last intact record. */
        assert_int_equal(file_size(), mid);
        unlink(path);
        write_two_chunks();
    }
    /* A zero-filled tail (what a crash can leave) is torn too. */
    int fd = open(path, O_WRONLY | O_APPEND);
    char zeros[100] = {0};
    assert_int_equal(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
    close(fd);
    mpipool__journal *j = open_ok();
    assert_true(mpipool__journal_had_torn_tail(j));
    assert_int_equal((off_t)mpipool__journal_size(j), end);
    mpipool__journal_close(j);
}

static void flip(off_t at) {
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static void test_corrupted(void **state) {
    (void)state;
    off_t mid = write_two_chunks(), end = file_size();
    /* A flipped byte anywhere in an intact record (header or body, first
     * chunk or last) is an error naming the file, never applied. */
    off_t spots[] = {mid - 20, mid - 1, mid + 2, mid + 12, mid + 30, end - 1, 3};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        unlink(path);
        write_two_chunks();
        flip(spots[i]);
        mpipool__journal *j = NULL;
        int rc = mpipool__journal_open(path, &j, err, sizeof err);
        if (rc != MPIPOOL_EJOURNAL) fail_msg("flip at %lld: %s", (long long)spots[i], mpipool_err_name(rc));
        assert_null(j);
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "offset"));
    }
    /* Garbage that is not a journal at all. */
    unlink(path);
    FILE *f = fopen(path, "w");
    fputs("this is not a journal, it is a text file with enough bytes in it", f);
    fclose(f);
    mpipool__journal *j = NULL;
    assert_int_equal(mpipool__journal_open(path, &j, err, sizeof err), MPIPOOL_EJOURNAL);
    assert_non_null(strstr(err, "not an mpipool journal"));
    /* Even a small one, shorter than a record header: refused, not cut. */
    f = fopen(path, "w");
    fputs("hello\n", f);
    fclose(f);
    assert_int_equal(mpipool__journal_open(path, &j, err, sizeof err), MPIPOOL_EJOURNAL);
    assert_int_equal(file_size(), 6);
    /* While the start of a first record cut short is a torn write. */
    f = fopen(path, "w");
    fputs("MPJ", f);
    fclose(f);
    j = open_ok();
    assert_true(mpipool__journal_had_torn_tail(j));
    mpipool__journal_close(j);
}

static void test_foreign_job(void **state) {
    (void)state;
    write_two_chunks(); /* map #0: 'f' over 8 items, digest 1 */
    mpipool__jkey other[] = {key(0, "g", 8, 1), key(0, "f", 9, 1), key(0, "f", 8, 2),
                             {0, 8, 4, 8, 1, "f", NULL}, {0, 8, 8, UINT64_MAX, 1, "f", NULL}};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        mpipool__journal *j = open_ok();
        assert_int_equal(mpipool__journal_begin(j, &other[i], err, sizeof err), MPIPOOL_EJOURNAL);
        assert_non_null(strstr(err, "belongs to another job"));
        assert_non_null(strstr(err, path));
        assert_non_null(strstr(err, "'f'"));
        mpipool__journal_close(j);
    }
    assert_int_equal(file_size() > 0, 1);
}

static void test_several_maps(void **state) {
    (void)state;
    uint64_t a[3] = {10, 11, 12}, b[2] = {20, 21};
    mpipool__journal *j = open_ok();
    mpipool__jkey ka = key(0, "f", 3, 5), kb = key(1, "g", 2, 6), kc = key(2, "f", 3, 5);
    assert_int_equal(mpipool__journal_begin(j, &ka, err, sizeof err), 0);
    assert_int_equal(mpipool__journal_begin(j, &kb, err, sizeof err), 0);
    /* Records of two maps interleave (map_async). */
    assert_int_equal(mpipool__journal_append_chunk(j, 1, 0, 1, 8, b, NULL, NULL, 0, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 0, 3, 8, a, NULL, NULL, 0, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(mpipool__journal_append_chunk(j, 1, 1, 1, 8, b + 1, NULL, NULL, 0, err, sizeof err),
                     MPIPOOL_OK);
    /* A chunk of a map never begun is refused by the reader, so the
     * writer's caller never does that; a second begin of a seq is "found". */
    assert_int_equal(mpipool__journal_begin(j, &ka, err, sizeof err), 1);
    mpipool__journal_close(j);

    j = open_ok();
    assert_int_equal(mpipool__journal_nmaps(j), 2);
    assert_int_equal(mpipool__journal_begin(j, &ka, err, sizeof err), 1);
    assert_int_equal(mpipool__journal_begin(j, &kb, err, sizeof err), 1);
    assert_int_equal(mpipool__journal_begin(j, &kc, err, sizeof err), 0); /* same job as #0, but map #2 */
    sink sa = {0}, sb = {0}, sc = {0};
    assert_int_equal(mpipool__journal_replay(j, 0, NULL, collect, &sa, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(mpipool__journal_replay(j, 1, NULL, collect, &sb, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(mpipool__journal_replay(j, 2, NULL, collect, &sc, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(sa.count, 3);
    assert_int_equal(sa.got[2], 12);
    assert_int_equal(sb.count, 2);
    assert_int_equal(sb.got[0], 20);
    assert_int_equal(sb.got[1], 21);
    assert_int_equal(sc.count, 0);
    mpipool__journal_close(j);
}

static void test_locked(void **state) {
    (void)state;
    mpipool__journal *j = open_ok(), *k = NULL;
    assert_int_equal(mpipool__journal_open(path, &k, err, sizeof err), MPIPOOL_EJOURNAL);
    assert_non_null(strstr(err, "in use"));
    mpipool__journal_close(j);
    k = open_ok();
    mpipool__journal_close(k);
}

static void test_check_bytes(void **state) {
    (void)state;
    write_two_chunks();
    off_t size = file_size();
    char *buf = malloc((size_t)size);
    FILE *f = fopen(path, "rb");
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    assert_int_equal(mpipool__journal_check_bytes(buf, (size_t)size, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(mpipool__journal_check_bytes(buf, (size_t)size - 3, err, sizeof err), MPIPOOL_OK); /* torn */
    assert_int_equal(mpipool__journal_check_bytes(buf, 0, err, sizeof err), MPIPOOL_OK);
    buf[30] ^= 1;
    assert_int_equal(mpipool__journal_check_bytes(buf, (size_t)size, err, sizeof err), MPIPOOL_EJOURNAL);
    free(buf);
}

/* The child of test_file_size_limit, under RLIMIT_FSIZE = `limit`: append
 * 64-byte chunks until one fails.  Exit status 0 if the failure is the
 * journal error the issue asks for (EJOURNAL, naming the file and "file too
 * large"), the chunks before it were kept, and this thread's signal mask and
 * pending set are what they were; else a number saying what was wrong.  (On
 * a library that lets SIGXFSZ through, the child dies of it.) */
static int fsize_child(rlim_t limit, uint64_t *appended) {
    struct rlimit rl = {limit, limit};
    sigset_t before, after, pending;
    uint64_t res[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) return 10;
    pthread_sigmask(SIG_BLOCK, NULL, &before);
    mpipool__journal *j = NULL;
    if (mpipool__journal_open(path, &j, err, sizeof err) != MPIPOOL_OK) return 11;
    mpipool__jkey k = key(0, "f", 1u << 20, 1);
    if (mpipool__journal_begin(j, &k, err, sizeof err) != 0) return 12;
    int rc = MPIPOOL_OK;
    for (*appended = 0; *appended < 1000; ++*appended) {
        rc = mpipool__journal_append_chunk(j, 0, 8 * *appended, 8, 8, res, NULL, NULL, 0, err, sizeof err);
        if (rc != MPIPOOL_OK) break;
    }
    if (rc != MPIPOOL_EJOURNAL) return 13;
    if (strstr(err, path) == NULL || strstr(err, "file too large") == NULL) return 14;
    if (mpipool__journal_size(j) > limit) return 15;
    /* The next append fails the same way, and nothing is left half written. */
    if (mpipool__journal_append_chunk(j, 0, 0, 8, 8, res, NULL, NULL, 0, err, sizeof err) != MPIPOOL_EJOURNAL)
        return 16;
    if (mpipool__journal_close(j) != MPIPOOL_OK) return 17;
    pthread_sigmask(SIG_BLOCK, NULL, &after);
    if (sigismember(&after, SIGXFSZ) != sigismember(&before, SIGXFSZ)) return 18;
    if (sigpending(&pending) != 0 || sigismember(&pending, SIGXFSZ)) return 19;
    return 0;
}

static void test_file_size_limit(void **state) {
    (void)state;
    /* Under valgrind (its preload library is in LD_PRELOAD) the forked
     * child inherits cmocka's allocations, and valgrind's "any leak fails"
     * makes it exit 1 whatever it checked: the plain and sanitizer runs
     * cover this test. */
    const char *pre = getenv("LD_PRELOAD");
    if (pre != NULL && strstr(pre, "vgpreload") != NULL) skip();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t appended = 0;
        close(fds[0]);
        int code = fsize_child(4096, &appended);
        if (write(fds[1], &appended, sizeof appended) != (ssize_t)sizeof appended) code = 20;
        if (code) fprintf(stderr, "fsize child: check %d failed; err: %s\n", code, err);
        _exit(code);
    }
    close(fds[1]);
    uint64_t appended = 0;
    ssize_t got = read(fds[0], &appended, sizeof appended);
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st)) fail_msg("the journal writer died of signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(got, (ssize_t)sizeof appended);
    assert_true(appended > 10 && appended < 1000); /* the limit was met, after some chunks */
    assert_true(file_size() <= 4096);
    /* Without the limit: every chunk appended before it is there, intact. */
    mpipool__journal *j = open_ok();
    assert_false(mpipool__journal_had_torn_tail(j));
    mpipool__jkey k = key(0, "f", 1u << 20, 1);
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 1);
    sink s = {0};
    assert_int_equal(mpipool__journal_replay(j, 0, NULL, count_only, &s, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(s.count, 8 * appended);
    mpipool__journal_close(j);
}

/* A journal of map #0 'f' written by code `code`. */
static void write_by(const char *code) {
    uint64_t res[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    mpipool__journal *j = open_ok();
    mpipool__jkey k = key(0, "f", 8, 1);
    k.code = code;
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), 0);
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 0, 8, 8, res, NULL, NULL, 0, err, sizeof err), MPIPOOL_OK);
    mpipool__journal_close(j);
}

/* begin with map #0 'f' as key(), by code `code`. */
static int begin_by(const char *code) {
    mpipool__journal *j = open_ok();
    mpipool__jkey k = key(0, "f", 8, 1);
    k.code = code;
    int rc = mpipool__journal_begin(j, &k, err, sizeof err);
    mpipool__journal_close(j);
    return rc;
}

static void test_other_build(void **state) {
    (void)state;
    unsetenv("MPIPOOL_JOURNAL_CODE");
    write_by("build-id:aaaa01");
    assert_int_equal(begin_by("build-id:aaaa01"), 1); /* the same build: resumes */
    assert_int_equal(begin_by("build-id:bbbb02"), MPIPOOL_EJOURNAL);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "was written by another build of the program (build id aaaa01; this run: build id "
                                "bbbb02)"));
    assert_non_null(strstr(err, "set MPIPOOL_JOURNAL_CODE='build-id:aaaa01' to resume it"));
    /* The default (NULL) is this test program's identity: not aaaa01 ... */
    assert_int_equal(begin_by(NULL), MPIPOOL_EJOURNAL);
    assert_non_null(strstr(err, "another build"));
    /* ... unless MPIPOOL_JOURNAL_CODE says it is, as the message advises. */
    setenv("MPIPOOL_JOURNAL_CODE", "build-id:aaaa01", 1);
    assert_int_equal(begin_by(NULL), 1);
    /* A name of the user's own, on both runs. */
    unlink(path);
    setenv("MPIPOOL_JOURNAL_CODE", "mysim-2.3", 1);
    write_by(NULL);
    assert_int_equal(begin_by(NULL), 1);
    setenv("MPIPOOL_JOURNAL_CODE", "mysim-2.4", 1);
    assert_int_equal(begin_by(NULL), MPIPOOL_EJOURNAL);
    assert_non_null(strstr(err, "(MPIPOOL_JOURNAL_CODE 'mysim-2.3'; this run: MPIPOOL_JOURNAL_CODE 'mysim-2.4')"));
    /* Empty is unset: the default again, which is not mysim-2.3. */
    setenv("MPIPOOL_JOURNAL_CODE", "", 1);
    assert_int_equal(begin_by(NULL), MPIPOOL_EJOURNAL);
    /* Too long for a MAP record: refused, naming the variable. */
    char big[2001];
    memset(big, 'x', 2000);
    big[2000] = '\0';
    setenv("MPIPOOL_JOURNAL_CODE", big, 1);
    assert_int_equal(begin_by(NULL), MPIPOOL_EJOURNAL);
    assert_non_null(strstr(err, "MPIPOOL_JOURNAL_CODE is 2000 bytes long (at most 1024)"));
    unsetenv("MPIPOOL_JOURNAL_CODE");
    /* Another job is still named as such, whatever the code. */
    assert_int_equal(begin_by("build-id:cccc"), MPIPOOL_EJOURNAL);
    assert_int_equal(begin_by("mysim-2.3"), 1);
    mpipool__journal *j = open_ok();
    mpipool__jkey k = key(0, "g", 8, 1);
    k.code = "mysim-2.3";
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), MPIPOOL_EJOURNAL);
    assert_non_null(strstr(err, "belongs to another job"));
    mpipool__journal_close(j);
}

static void test_progid(void **state) {
    (void)state;
    char id[MPIPOOL__PROGID_MAX], d[300];
    unsetenv("MPIPOOL_JOURNAL_CODE");
    size_t len = mpipool__progid(id, sizeof id);
    assert_int_equal(len, strlen(id));
    setenv("MPIPOOL_JOURNAL_CODE", "v1", 1);
    assert_int_equal(mpipool__progid(d, sizeof d), 2);
    assert_string_equal(d, "v1");
    unsetenv("MPIPOOL_JOURNAL_CODE");
    /* The default is the build id that readelf finds in this executable
     * (named by argv[0]: under valgrind, /proc/self/exe is valgrind). */
    char cmd[4200], line[256], want[200] = "";
    snprintf(cmd, sizeof cmd, "readelf -n '%s' 2>/dev/null", self_path);
    FILE *p = popen(cmd, "r");
    while (p && fgets(line, sizeof line, p)) {
        char *b = strstr(line, "Build ID: ");
        if (b) snprintf(want, sizeof want, "build-id:%.*s", (int)strcspn(b + 10, "\n"), b + 10);
    }
    int readelf_ok = p && pclose(p) == 0; /* binutils comes with build-essential (scripts/deps.sh) */
    if (want[0] != '\0')
        assert_string_equal(id, want);
    else if (readelf_ok)
        assert_memory_equal(id, "exe:", 4); /* linked without a build id: size+mtime */
    mpipool__progid_describe("build-id:45d5", d, sizeof d);
    assert_string_equal(d, "build id 45d5");
    mpipool__progid_describe("exe:123:1700000000.000000005", d, sizeof d);
    assert_string_equal(d, "the executable of 123 bytes modified 2023-11-14 22:13:20.000000005 UTC");
    mpipool__progid_describe("exe:unknown", d, sizeof d);
    assert_string_equal(d, "an executable that could not be identified");
    mpipool__progid_describe("mysim-2.3", d, sizeof d);
    assert_string_equal(d, "MPIPOOL_JOURNAL_CODE 'mysim-2.3'");
}

/* One ELF note (host byte order) at p, its descriptor and its end at
 * multiples of `align` from its start; its size, and in *desc_end where its
 * descriptor ends. */
static size_t note(unsigned char *p, uint32_t type, const char *name, const void *desc, uint32_t descsz,
                   size_t align, size_t *desc_end) {
    uint32_t namesz = (uint32_t)strlen(name) + 1, h[3] = {namesz, descsz, type};
    size_t d = (12 + namesz + align - 1) / align * align, end = (d + descsz + align - 1) / align * align;
    memset(p, 0, end);
    memcpy(p, h, 12);
    memcpy(p + 12, name, namesz);
    memcpy(p + d, desc, descsz);
    if (desc_end) *desc_end = d + descsz;
    return end;
}

static void test_build_id_note(void **state) {
    (void)state;
    unsigned char buf[256], id[20], prop[5] = {1, 2, 3, 4, 5};
    char hex[41];
    for (int i = 0; i < 20; i++) id[i] = (unsigned char)(0x10 * i + 1);
    for (size_t align = 4; align <= 8; align += 4) {
        size_t a = note(buf, 5, "GNU", prop, 5, align, NULL); /* a property note first */
        a += note(buf + a, 1, "XEN", prop, 4, align, NULL);   /* another owner, type 1 */
        size_t end, b = note(buf + a, 3, "GNU", id, 20, align, &end);
        assert_int_equal(mpipool__progid_build_id(buf, a + b, align, hex, sizeof hex), 1);
        assert_string_equal(hex, "01112131415161718191a1b1c1d1e1f101112131");
        /* Cut before the id's last byte: not found, and never read past
         * the cut (ASan and valgrind would say). */
        for (size_t cut = 0; cut < a + end; cut++) {
            unsigned char *c = malloc(cut ? cut : 1);
            memcpy(c, buf, cut);
            assert_int_equal(mpipool__progid_build_id(c, cut, align, hex, sizeof hex), 0);
            free(c);
        }
        /* No room for the hex. */
        assert_int_equal(mpipool__progid_build_id(buf, a + b, align, hex, 40), 0);
    }
    /* A huge name size: stops, no overflow. */
    uint32_t bad[3] = {0xfffffffdu, 4, 3};
    memcpy(buf, bad, 12);
    assert_int_equal(mpipool__progid_build_id(buf, 64, 4, hex, sizeof hex), 0);
}

/* A format-1 journal (before the code identity): refused with a message
 * saying what it is and what to do, and left as it was. */
static void test_version1(void **state) {
    (void)state;
    unsigned char rec[40] = {0};
    uint32_t w[4] = {0x524a504du, 1, 8, 0}; /* magic, HEAD, length 8 (little-endian host) */
    memcpy(rec, w, 12);
    uint64_t hc = mpipool__hash(rec, 16);
    memcpy(rec + 16, &hc, 8);
    rec[24] = 1; /* version 1, flags 0 */
    mpipool__hasher s;
    mpipool__hash_init(&s);
    mpipool__hash_update(&s, rec, 16);
    mpipool__hash_update(&s, rec + 24, 8);
    uint64_t sum = mpipool__hash_final(&s);
    memcpy(rec + 32, &sum, 8);
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(rec, 1, 40, f), 40);
    fclose(f);
    mpipool__journal *j = NULL;
    assert_int_equal(mpipool__journal_open(path, &j, err, sizeof err), MPIPOOL_EJOURNAL);
    assert_null(j);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "written by an older mpipool (journal format 1"));
    assert_non_null(strstr(err, "delete it to start over"));
    assert_int_equal(file_size(), 40);
    /* Version 4 (a newer mpipool): another format version. */
    rec[24] = 4;
    mpipool__hash_init(&s);
    mpipool__hash_update(&s, rec, 16);
    mpipool__hash_update(&s, rec + 24, 8);
    sum = mpipool__hash_final(&s);
    memcpy(rec + 32, &sum, 8);
    f = fopen(path, "wb");
    assert_int_equal(fwrite(rec, 1, 40, f), 40);
    fclose(f);
    assert_int_equal(mpipool__journal_open(path, &j, err, sizeof err), MPIPOOL_EJOURNAL);
    assert_non_null(strstr(err, "another format version"));
}

static void test_hash_split(void **state) {
    (void)state;
    unsigned char data[100];
    for (int i = 0; i < 100; i++) data[i] = (unsigned char)(i * 37 + 1);
    uint64_t whole = mpipool__hash(data, sizeof data);
    for (size_t a = 0; a <= 100; a += 3) {
        for (size_t b = a; b <= 100; b += 11) {
            mpipool__hasher s;
            mpipool__hash_init(&s);
            mpipool__hash_update(&s, data, a);
            mpipool__hash_update(&s, data + a, b - a);
            mpipool__hash_update(&s, data + b, 100 - b);
            assert_true(mpipool__hash_final(&s) == whole);
        }
    }
    assert_true(mpipool__hash(data, 99) != whole);
    assert_true(mpipool__hash("", 0) != mpipool__hash("\0", 1));
}

int main(int argc, char **argv) {
    (void)argc;
    self_path = argv[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_variable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_job, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_maps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_build, setup, teardown),
        cmocka_unit_test(test_progid),
        cmocka_unit_test(test_build_id_note),
        cmocka_unit_test_setup_teardown(test_version1, setup, teardown),
        cmocka_unit_test(test_hash_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
