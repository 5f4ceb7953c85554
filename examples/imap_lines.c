/*
 * imap_lines.c — a function over the lines of a file of any size, streamed
 * through mpipool_imap(): each line goes to a worker, which upper-cases it
 * and puts its length in front; the master prints the results in input
 * order as they come back.
 *
 *     mpirun -n 4 ./build/examples/imap_lines notes.txt
 *     some_command | mpirun -n 4 ./build/examples/imap_lines
 *     ./build/examples/imap_lines notes.txt      # one rank: the master runs the tasks
 *
 * Output: one line "<length> <LINE IN UPPER CASE>" per input line (the length
 * in bytes, without the newline).  Lines are read one at a time with
 * getline(), and at most `window` results wait on the master for an older
 * line, so memory stays bounded whatever the size of the input.  Python
 * equivalent:
 *
 *     with Pool() as pool, open(path) as f:
 *         lines = (line.rstrip("\n") for line in f)
 *         for r in pool.imap(lambda s: f"{len(s)} {s.upper()}", lines, chunksize=64):
 *             print(r)
 */
#define _POSIX_C_SOURCE 200809L /* getline() */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpipool.h>

/* The task: one line in (no newline), "<len> <UPPER>\n" out.  Results of
 * any length are made with mpipool_task_output(). */
static int shout(mpipool_task *t) {
    const char *line = t->in;
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "%zu ", t->in_size);
    char *out = mpipool_task_output(t, (size_t)plen + t->in_size + 1);
    if (out == NULL) return mpipool_task_fail(t, "no room for a %zu-byte line", t->in_size);
    memcpy(out, prefix, (size_t)plen);
    for (size_t i = 0; i < t->in_size; i++) out[plen + i] = (char)toupper((unsigned char)line[i]);
    out[(size_t)plen + t->in_size] = '\n';
    return 0;
}
MPIPOOL_TASK(shout);

/* The source: the next line of the file.  getline() reuses one buffer; the
 * library copies each item before asking for the next, so that is fine. */
typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    int read_error;
} line_reader;

static int next_line(void *ctx, size_t index, mpipool_buf *item) {
    line_reader *r = ctx;
    (void)index;
    ssize_t len = getline(&r->line, &r->cap, r->f);
    if (len < 0) {
        if (ferror(r->f)) {
            r->read_error = 1;
            return -1; /* stop the map: mpipool_imap returns MPIPOOL_ECANCELED */
        }
        return 0; /* end of the file */
    }
    if (len > 0 && r->line[len - 1] == '\n') len--;
    item->data = r->line;
    item->size = (size_t)len;
    return 1;
}

/* The sink: results arrive in input order; write each one out. */
static int print_result(void *ctx, size_t index, const void *result, size_t size, int status,
                        const char *message) {
    (void)ctx;
    if (status != MPIPOOL_OK) {
        fprintf(stderr, "imap_lines: line %zu: %s\n", index + 1, message ? message : "failed");
        return 0; /* go on with the other lines */
    }
    return fwrite(result, 1, size, stdout) == size ? 0 : 1; /* stop if stdout fails */
}

int main(int argc, char **argv) {
    mpipool *pool;
    int rc = mpipool_open(&pool, &argc, &argv);
    if (rc != MPIPOOL_OK) {
        fprintf(stderr, "imap_lines: %s\n", mpipool_last_error(NULL));
        return 1;
    }
    if (!mpipool_is_master(pool)) return mpipool_serve(pool) == MPIPOOL_OK ? 0 : 1;

    if (argc > 2) {
        fprintf(stderr, "imap_lines: usage: imap_lines [FILE]  (standard input without FILE)\n");
        mpipool_close(pool); /* releases the workers, so nobody hangs */
        return 2;
    }
    line_reader reader = {stdin, NULL, 0, 0};
    if (argc == 2 && (reader.f = fopen(argv[1], "r")) == NULL) {
        perror(argv[1]);
        mpipool_close(pool);
        return 1;
    }

    mpipool_source source = {next_line, &reader};
    mpipool_sink sink = {print_result, NULL};
    mpipool_imap_options opts = MPIPOOL_IMAP_OPTIONS_INIT;
    opts.window = 4096;  /* at most 4096 lines between the oldest unprinted and the newest read */
    opts.chunk_size = 64; /* lines are cheap: send them 64 at a time */
    rc = mpipool_imap(pool, shout, &source, &sink, &opts);
    if (rc != MPIPOOL_OK) {
        if (reader.read_error) perror(argc == 2 ? argv[1] : "standard input");
        fprintf(stderr, "imap_lines: %s: %s\n", mpipool_err_name(rc), mpipool_last_error(pool));
    }

    free(reader.line);
    if (reader.f != stdin) fclose(reader.f);
    int out_ok = fflush(stdout) == 0;
    if (!out_ok) perror("imap_lines: standard output");
    int crc = mpipool_close(pool);
    return rc == MPIPOOL_OK && out_ok && crc == MPIPOOL_OK ? 0 : 1;
}
