/*
 * input.h — mpipool-run's input sources, as GNU parallel combines them:
 * standard input, -a FILE (repeatable), ::: ARGS, :::: FILES, and the
 * linked forms :::+ and ::::+.  Several sources give every combination
 * (the last source varies fastest); a linked source advances with the one
 * before it, and a linked group is as long as its shortest member.  With
 * a single source the input is read as the jobs are handed out (a huge
 * standard input is never held in memory); with several, every source is
 * read first.  No MPI here.
 */
#ifndef MPIPOOL_RUN_INPUT_H
#define MPIPOOL_RUN_INPUT_H

#include <stddef.h>
#include <stdio.h>

typedef struct mr_source {
    const char *path;     /* a file (- : standard input), or NULL for ::: values */
    FILE *f;              /* open while it is read                               */
    char **vals;          /* read (or given) values                              */
    size_t n, cap;
    int linked;           /* :::+ / ::::+ : moves with the source before it      */
} mr_source;

typedef struct mr_input {
    mr_source *src;
    size_t nsrc;
    int delim;            /* what ends an item: '\n', '\0' (-0) or -d's byte     */
    const char *colsep;   /* --colsep: split each item on this literal string    */
    int stream;           /* one source, read as we go                           */
    int nul_warned;
    size_t *pos;          /* several sources: the position in each linked group  */
    size_t ngroups;
    int started, ended;
    char *line;
    size_t line_cap;
    char **args;          /* the current job's arguments (owned here)            */
    size_t nargs, args_cap;
    unsigned long long items; /* items read from the streamed source            */
} mr_input;

/* Add a source: `n` literal values (:::, each split at the delimiter as
 * parallel does: set in->delim first), or a file (::::, -a; "-" is
 * standard input).  `linked`: :::+ / ::::+.  0, or -1 out of memory. */
int mr_input_add_values(mr_input *in, char *const *vals, size_t n, int linked);
int mr_input_add_file(mr_input *in, const char *path, int linked);

/* Open the sources (standard input when none was added).  0, or -1 with
 * a message already printed (a file that cannot be read). */
int mr_input_open(mr_input *in);

/* The next job's arguments, valid until the next call: 1, 0 at the end,
 * -1 on a read error or out of memory (reported). */
int mr_input_next(mr_input *in, char ***args, size_t *nargs);

/* The number of jobs if it is known without reading the input (several
 * sources, or one regular file, counted and rewound); 0 if not. */
unsigned long long mr_input_total(mr_input *in);

/* The number of arguments each job has, when known before reading (the
 * number of sources, without --colsep); 0 if not. */
size_t mr_input_arity(const mr_input *in);

void mr_input_free(mr_input *in);

#endif
