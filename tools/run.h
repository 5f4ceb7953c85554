/*
 * run.h — rank 0's state for one mpipool-run, shared by master.c (the
 * imap rounds), output.c (settling a finished job: --results, joblog,
 * output, --halt) and resume.c (reading the joblog back).  Private to
 * tools/.
 */
#ifndef MPIPOOL_RUN_RUN_H
#define MPIPOOL_RUN_RUN_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "farm.h"
#include "input.h"
#include "progress.h"

/* A retry avoids the rank it failed on at most this many times (a bounce
 * costs one item's round trip; see plan_round in master.c). */
#define MAX_BOUNCES 16

enum { R_NEW, R_RUNNING, R_RETRY, R_SPOOLED, R_PRINTED, R_SKIPPED, R_NOTRUN };

/* One job.  cmd and args live until the job is final (needed for retries,
 * --tag, --results, the joblog); the spool fields locate output waiting
 * for -k.  args: nargs NUL-terminated strings one after the other. */
typedef struct rec {
    char *cmd, *args;
    char *logline; /* -k: its joblog line, written when it is printed (input order) */
    size_t args_len, logline_len;
    uint32_t nargs, tries;
    uint8_t state, bounces;
    int32_t last_rank;
    int64_t spool_off;
    uint64_t out_len, err_len; /* as spooled (tagged) */
} rec;

typedef struct retry {
    uint64_t seq;
    int32_t avoid;
} retry;

typedef struct known { /* what the joblog says about a job (--resume) */
    char *cmd;
    int present, ok;
} known;

typedef struct packed { /* one job's arguments, read ahead (--resume, --halt N%) */
    char *args;
    size_t len;
    uint32_t nargs;
} packed;

typedef struct run {
    options o;
    mr_input in;
    packed *pre;    /* the whole input, read first; NULL: read as we go */
    size_t npre, pre_next;
    char **unpacked;
    size_t unpacked_cap;
    int input_done;
    rec *recs;      /* recs[seq], seq from 1 */
    size_t nrecs, recs_cap;
    uint64_t *round_seq; /* this round: item index -> seq (0: filler) */
    size_t round_cap;
    retry *retries, *round_list;
    size_t nretries, retries_cap, round_n, round_next;
    known *log;
    size_t nlog;
    int joblog_fd, joblog_error, joblog_locked;
    unsigned long long unrecorded; /* jobs whose --results could not be written */
    FILE *spool;
    int64_t spool_end;
    uint64_t next_print;
    char *itembuf;
    size_t itembuf_cap;
    int workers;          /* ranks that run jobs (1 in a one-rank pool)          */
    int stopping, halted; /* no new jobs: SIGTERM or --halt                      */
    int stop_now;         /* --halt now fired in output.c: master.c stops the
                             running jobs (output.c never calls back into it) */
    int halt_status;      /* the exit status a halt decided                      */
    int term_seen;        /* a worker reported a SIGTERM                         */
    int fatal;
    int have_thread;
    pthread_mutex_t stop_lock;
    int stop_sent;
    mr_counts c;
    mr_progress prog;
} run;

/* master.c */
void mr_request_stop(run *R);
int mr_next_job(run *R, char ***args, size_t *nargs); /* 1, 0 at the end, -1 error */

/* output.c */
void mr_flush_ready(run *R);
void mr_finish_job(run *R, uint64_t seq, const res_hdr *h, const char *out, const char *err,
                   int failed);
int mr_open_joblog(run *R);
char *mr_pack_args(char *const *args, size_t nargs, size_t *len);

/* resume.c */
int mr_read_ahead(run *R);
int mr_load_joblog(run *R);

#endif
