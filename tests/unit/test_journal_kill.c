/*
 * test_journal_kill.c — the journal's KILL records (src/journal*.c, issue
 * 17), no MPI: items that ended a worker are read back after a reopen, in
 * file order, with kind, rank and text; a long text is cut; a record of a
 * map never begun, of an item beyond its map, or of an unknown kind is
 * refused (EJOURNAL with the offset); a format-2 journal (before KILL
 * records) is still read and appended to; check_bytes reads them.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "journal.h"

#include "journal_fixture.h"

/* A map of 10 items of 8 bytes, seq 0. */
static void begin(mpipool__journal *j, int want) {
    mpipool__jkey k = {0, 10, 8, 8, 1234, "work", "test-code"};
    assert_int_equal(mpipool__journal_begin(j, &k, err, sizeof err), want);
}

typedef struct {
    int n;
    uint64_t item[8];
    int kind[8], rank[8];
    char text[8][1100];
} seen_t;

static int see(void *ctx, uint64_t item, int kind, int rank, const char *text) {
    seen_t *s = ctx;
    if (s->n == 8) return -1;
    s->item[s->n] = item;
    s->kind[s->n] = kind;
    s->rank[s->n] = rank;
    snprintf(s->text[s->n], sizeof s->text[0], "%s", text);
    s->n++;
    return 0;
}

static void test_round_trip(void **state) {
    (void)state;
    mpipool__journal *j = open_ok();
    begin(j, 0);
    assert_int_equal(mpipool__journal_append_kill(j, 0, 7, MPIPOOL__JKILL_CRASH, 3, "SIGSEGV", err, sizeof err), 0);
    assert_int_equal(mpipool__journal_append_kill(j, 0, 2, MPIPOOL__JKILL_TIMEOUT, 1, "ran 2 s", err, sizeof err), 0);
    assert_int_equal(mpipool__journal_append_kill(j, 0, 7, MPIPOOL__JKILL_DIED, 2, "", err, sizeof err), 0);
    mpipool__journal_close(j);
    j = open_ok();
    begin(j, 1);
    seen_t s = {0};
    assert_int_equal(mpipool__journal_kills(j, 0, see, &s, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.item[0], 7);
    assert_int_equal(s.kind[0], MPIPOOL__JKILL_CRASH);
    assert_int_equal(s.rank[0], 3);
    assert_string_equal(s.text[0], "SIGSEGV");
    assert_int_equal(s.item[1], 2);
    assert_int_equal(s.kind[1], MPIPOOL__JKILL_TIMEOUT);
    assert_string_equal(s.text[1], "ran 2 s");
    assert_int_equal(s.kind[2], MPIPOOL__JKILL_DIED);
    assert_string_equal(s.text[2], "");
    /* Another map has none. */
    s.n = 0;
    assert_int_equal(mpipool__journal_kills(j, 5, see, &s, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(s.n, 0);
    mpipool__journal_close(j);
}

static void test_long_text(void **state) {
    (void)state;
    char text[3000];
    memset(text, 'x', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    mpipool__journal *j = open_ok();
    begin(j, 0);
    assert_int_equal(mpipool__journal_append_kill(j, 0, 1, MPIPOOL__JKILL_CRASH, 1, text, err, sizeof err), 0);
    mpipool__journal_close(j);
    j = open_ok();
    seen_t s = {0};
    assert_int_equal(mpipool__journal_kills(j, 0, see, &s, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(strlen(s.text[0]), 1024);
    mpipool__journal_close(j);
}

/* Refused on reopen, the reason and offset named, the file left as it was. */
static void refused(const char *why) {
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mpipool__journal *j = NULL;
    assert_int_equal(mpipool__journal_open(path, &j, err, sizeof err), MPIPOOL_EJOURNAL);
    assert_null(j);
    assert_non_null(strstr(err, why));
    assert_non_null(strstr(err, "at offset"));
    struct stat st2;
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st.st_size, st2.st_size);
}

static void test_bad_records(void **state) {
    (void)state;
    mpipool__journal *j = open_ok();
    assert_int_equal(mpipool__journal_append_kill(j, 0, 1, MPIPOOL__JKILL_CRASH, 1, "x", err, sizeof err), 0);
    mpipool__journal_close(j);
    refused("a kill record of a map the journal never began");
    unlink(path);
    j = open_ok();
    begin(j, 0);
    assert_int_equal(mpipool__journal_append_kill(j, 0, 10, MPIPOOL__JKILL_CRASH, 1, "x", err, sizeof err), 0);
    mpipool__journal_close(j);
    refused("a kill record of an item beyond its map's end");
    unlink(path);
    j = open_ok();
    begin(j, 0);
    assert_int_equal(mpipool__journal_append_kill(j, 0, 1, 9, 1, "x", err, sizeof err), 0);
    mpipool__journal_close(j);
    refused("a kill record of an unknown kind");
}

/* The HEAD record rewritten to format 2 (its checksum too). */
static void make_format2(void) {
    FILE *f = fopen(path, "r+b");
    unsigned char rec[40];
    assert_int_equal(fread(rec, 1, 40, f), 40);
    rec[24] = 2;
    mpipool__hasher s;
    mpipool__hash_init(&s);
    mpipool__hash_update(&s, rec, 16);
    mpipool__hash_update(&s, rec + 24, 8);
    uint64_t sum = mpipool__hash_final(&s);
    memcpy(rec + 32, &sum, 8); /* little-endian host */
    fseek(f, 0, SEEK_SET);
    assert_int_equal(fwrite(rec, 1, 40, f), 40);
    fclose(f);
}

static void test_format2(void **state) {
    (void)state;
    mpipool__journal *j = open_ok();
    begin(j, 0);
    uint64_t res[2] = {11, 12};
    assert_int_equal(mpipool__journal_append_chunk(j, 0, 0, 2, 8, res, NULL, NULL, 0, err, sizeof err), 0);
    mpipool__journal_close(j);
    make_format2();
    j = open_ok(); /* still read */
    begin(j, 1);
    assert_int_equal(mpipool__journal_append_kill(j, 0, 4, MPIPOOL__JKILL_CRASH, 2, "SIGBUS", err, sizeof err), 0);
    mpipool__journal_close(j);
    j = open_ok();
    seen_t s = {0};
    assert_int_equal(mpipool__journal_kills(j, 0, see, &s, err, sizeof err), MPIPOOL_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.item[0], 4);
    mpipool__journal_close(j);
}

static void test_check_bytes(void **state) {
    (void)state;
    mpipool__journal *j = open_ok();
    begin(j, 0);
    assert_int_equal(mpipool__journal_append_kill(j, 0, 3, MPIPOOL__JKILL_TIMEOUT, 1, "slow", err, sizeof err), 0);
    mpipool__journal_close(j);
    FILE *f = fopen(path, "rb");
    static unsigned char buf[4096];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_int_equal(mpipool__journal_check_bytes(buf, len, err, sizeof err), MPIPOOL_OK);
    /* A kill record whose text holds a NUL byte: refused when read. */
    char *t = memmem(buf, len, "slow", 4);
    assert_non_null(t);
    t[1] = '\0';
    mpipool__journal *m = NULL;
    int rc = mpipool__journal_open_mem(buf, len, &m, err, sizeof err);
    if (rc == MPIPOOL_OK) { /* checksums matter: the record is damaged */
        rc = mpipool__journal_kills(m, 0, see, &(seen_t){0}, err, sizeof err);
        mpipool__journal_close(m);
    }
    assert_int_equal(rc, MPIPOOL_EJOURNAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_bytes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
