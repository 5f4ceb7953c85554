/*
 * master.c — rank 0 of mpipool-run: reads the input, hands out the jobs
 * through mpipool_imap(), and settles each result: joblog, --results,
 * output (in order with -k), retries, --halt, the summary.
 *
 * Invariants:
 *  - a job is written to the joblog once, when its final try ends; a job
 *    stopped by a halt or a SIGTERM is never written, so --resume runs it;
 *  - with -k, job N's output is printed only after every earlier job's; a
 *    result that must wait is appended to a spool file, not kept in memory;
 *  - the imap callbacks (source, sink) run one at a time, and the main
 *    thread does not touch `run` while an imap is going; the stop thread
 *    only reads the stop flags and sends MR_CTL_STOP.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <mpi.h>
#include <mpipool.h>

#include "farm.h"
#include "joblog.h"
#include "progress.h"
#include "template.h"

/* A retry avoids the rank it failed on at most this many times. */
#define MAX_BOUNCES 3

enum { R_NEW, R_RUNNING, R_RETRY, R_SPOOLED, R_PRINTED, R_SKIPPED, R_NOTRUN };

/* One job.  cmd and arg live until the job is final (needed for retries,
 * --tag, the joblog); the spool fields locate output waiting for -k. */
typedef struct rec {
    char *cmd, *arg;
    size_t arg_len;
    uint8_t state, tries, bounces;
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

typedef struct run {
    options o;
    FILE *in;
    char *line;
    size_t line_cap;
    char **pre; /* --resume: the whole input, read first */
    size_t npre, pre_next;
    int input_done;
    rec *recs; /* recs[seq], seq from 1 */
    size_t nrecs, recs_cap;
    uint64_t *round_seq; /* this round: item index -> seq (0: filler) */
    size_t round_cap;
    retry *retries, *round_list;
    size_t nretries, retries_cap, round_n, round_next;
    known *log;
    size_t nlog;
    int joblog_fd;
    int joblog_error;
    FILE *spool;
    int64_t spool_end;
    uint64_t next_print;
    char *itembuf;
    size_t itembuf_cap;
    int workers;          /* ranks that run jobs (1 in a one-rank pool)          */
    int stopping, halted; /* no new jobs: SIGTERM or --halt                      */
    int term_seen;        /* a worker reported a SIGTERM                         */
    int fatal;
    int have_thread;
    pthread_mutex_t stop_lock;
    int stop_sent;
    mr_counts c;
    mr_progress prog;
} run;

/* Tell every worker to stop its running job (once).  Safe from any thread
 * when the stop thread exists (MPI_THREAD_MULTIPLE); otherwise called only
 * from the imap callbacks, which then run on the main thread. */
static void send_stop_all(run *R) {
    pthread_mutex_lock(&R->stop_lock);
    if (!R->stop_sent) {
        R->stop_sent = 1;
        for (int r = 1; r < g_nranks; r++) MPI_Send(NULL, 0, MPI_BYTE, r, MR_CTL_STOP, g_ctl);
    }
    pthread_mutex_unlock(&R->stop_lock);
}

static void request_stop(run *R) {
    g_halt = 1; /* a one-rank pool: the master's own running job stops */
    if (g_nranks == 1) return;
    if (R->have_thread) {
        ssize_t w = write(g_wake[1], "H", 1);
        (void)w;
    } else {
        send_stop_all(R);
    }
}

static void *stop_thread(void *arg) {
    run *R = arg;
    char ch;
    for (;;) {
        ssize_t n = read(g_wake[0], &ch, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || ch == 'Q') return NULL;
        send_stop_all(R);
    }
}

/* Called from the callbacks: has a signal arrived since we last looked? */
static void check_term(run *R) {
    if (g_term && !R->stopping) {
        R->stopping = 1;
        if (!R->have_thread) request_stop(R);
    }
}

static int rec_ensure(run *R, uint64_t seq) {
    if (seq < R->recs_cap) return 0;
    size_t cap = R->recs_cap ? R->recs_cap : 1024;
    while (cap <= seq) cap *= 2;
    rec *p = realloc(R->recs, cap * sizeof *p);
    if (p == NULL) return -1;
    memset(p + R->recs_cap, 0, (cap - R->recs_cap) * sizeof *p);
    R->recs = p;
    R->recs_cap = cap;
    return 0;
}

/* The next input line (without its newline) as [*p, *p + *n); 0 at the end. */
static int next_line(run *R, const char **p, size_t *n) {
    if (R->pre) {
        if (R->pre_next >= R->npre) return 0;
        *p = R->pre[R->pre_next];
        *n = strlen(*p);
        R->pre_next++;
        return 1;
    }
    ssize_t len = getline(&R->line, &R->line_cap, R->in);
    if (len < 0) return 0;
    if (len > 0 && R->line[len - 1] == '\n') len--;
    *p = R->line;
    *n = (size_t)len;
    return 1;
}

static int fill_item(run *R, size_t index, uint64_t seq, int32_t avoid, mpipool_buf *item) {
    const char *cmd = seq ? R->recs[seq].cmd : "";
    size_t clen = strlen(cmd), need = sizeof(item_hdr) + clen;
    if (index >= R->round_cap) {
        size_t cap = R->round_cap ? R->round_cap * 2 : 1024;
        while (cap <= index) cap *= 2;
        uint64_t *p = realloc(R->round_seq, cap * sizeof *p);
        if (p == NULL) return -1;
        R->round_seq = p;
        R->round_cap = cap;
    }
    if (need > R->itembuf_cap) {
        char *p = realloc(R->itembuf, need);
        if (p == NULL) return -1;
        R->itembuf = p;
        R->itembuf_cap = need;
    }
    item_hdr h = {seq, R->o.timeout, avoid, seq ? 0u : MR_ITEM_FILLER};
    memcpy(R->itembuf, &h, sizeof h);
    memcpy(R->itembuf + sizeof h, cmd, clen);
    R->round_seq[index] = seq;
    item->data = R->itembuf;
    item->size = need;
    if (seq) {
        R->recs[seq].state = R_RUNNING;
        R->recs[seq].tries++;
        R->c.running++;
    }
    return 1;
}

static void flush_ready(run *R);

/* Round 1: the input lines. */
static int source_input(void *ctx, size_t index, mpipool_buf *item) {
    run *R = ctx;
    const char *p;
    size_t n;
    check_term(R);
    if (R->stopping || R->fatal) return 0;
    for (;;) {
        if (!next_line(R, &p, &n)) {
            R->input_done = 1;
            R->c.total = R->nrecs;
            return 0;
        }
        uint64_t seq = ++R->nrecs;
        if (rec_ensure(R, seq) != 0) goto oom;
        rec *r = &R->recs[seq];
        if (seq < R->nlog && R->log[seq].present && (R->o.resume || R->log[seq].ok)) {
            r->state = R_SKIPPED;
            R->c.skipped++;
            flush_ready(R);
            continue;
        }
        r->cmd = mr_template_expand(R->o.tmpl, p, n, seq);
        r->arg = malloc(n + 1);
        if (r->cmd == NULL || r->arg == NULL) goto oom;
        memcpy(r->arg, p, n);
        r->arg[n] = '\0';
        r->arg_len = n;
        r->last_rank = -1;
        return fill_item(R, index, seq, -1, item) < 0 ? -1 : 1;
    }
oom:
    mr_diag("out of memory reading the input");
    R->fatal = 1;
    return -1;
}

/* Later rounds: the retries, laid out by plan_round(). */
static int source_retries(void *ctx, size_t index, mpipool_buf *item) {
    run *R = ctx;
    check_term(R);
    if (R->stopping || R->fatal || R->round_next >= R->round_n) return 0;
    retry *t = &R->round_list[R->round_next++];
    if (fill_item(R, index, t->seq, t->avoid, item) < 0) {
        R->fatal = 1;
        return -1;
    }
    return 1;
}

/* Write `n` bytes to f, each line prefixed with the tag when tag != NULL.
 * Returns the number of bytes written (with the tags). */
static uint64_t emit(FILE *f, const char *tag, size_t tag_len, const char *p, uint64_t n) {
    if (tag == NULL) return fwrite(p, 1, (size_t)n, f);
    uint64_t w = 0;
    while (n > 0) {
        const char *nl = memchr(p, '\n', (size_t)n);
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)n;
        w += fwrite(tag, 1, tag_len, f) + fwrite("\t", 1, 1, f) + fwrite(p, 1, len, f);
        p += len;
        n -= len;
    }
    return w;
}

static void copy_spool(run *R, int64_t off, uint64_t n, FILE *to) {
    char buf[65536];
    if (n == 0) return;
    if (fseeko(R->spool, off, SEEK_SET) != 0) return;
    while (n > 0) {
        size_t want = n > sizeof buf ? sizeof buf : (size_t)n;
        size_t got = fread(buf, 1, want, R->spool);
        if (got == 0) break;
        fwrite(buf, 1, got, to);
        n -= got;
    }
}

/* Print, in order, every job from next_print on whose fate is settled. */
static void flush_ready(run *R) {
    if (!R->o.keep_order) return;
    while (R->next_print <= R->nrecs) {
        rec *r = &R->recs[R->next_print];
        if (r->state == R_SPOOLED) {
            copy_spool(R, r->spool_off, r->out_len, stdout);
            copy_spool(R, r->spool_off + (int64_t)r->out_len, r->err_len, stderr);
            r->state = R_PRINTED;
        } else if (r->state != R_PRINTED && r->state != R_SKIPPED && r->state != R_NOTRUN) {
            break;
        }
        R->next_print++;
    }
}

static void write_file(const char *dir, const char *name, const char *p, size_t n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, n, f) != n) mr_diag("cannot write %s: %s", path, strerror(errno));
    if (f && fclose(f) != 0) mr_diag("cannot write %s: %s", path, strerror(errno));
}

static void write_results(run *R, uint64_t seq, const res_hdr *h, const char *out, const char *err) {
    char dir[4096], num[64];
    snprintf(dir, sizeof dir, "%s/%llu", R->o.results, (unsigned long long)seq);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        mr_diag("cannot create %s: %s", dir, strerror(errno));
        return;
    }
    write_file(dir, "stdout", out, (size_t)h->out_len);
    write_file(dir, "stderr", err, (size_t)h->err_len);
    int n = snprintf(num, sizeof num, "%d\n", h->exitval);
    write_file(dir, "exitval", num, (size_t)n);
    n = snprintf(num, sizeof num, "%d\n", h->signal);
    write_file(dir, "signal", num, (size_t)n);
    write_file(dir, "cmd", R->recs[seq].cmd, strlen(R->recs[seq].cmd));
}

static void write_joblog(run *R, uint64_t seq, const res_hdr *h) {
    if (R->joblog_fd < 0) return;
    mr_joblog_entry e;
    memset(&e, 0, sizeof e);
    e.seq = seq;
    e.host = h->host;
    e.start = h->start;
    e.runtime = h->runtime;
    e.receive = h->out_len; /* parallel: the bytes of stdout */
    e.exitval = h->exitval;
    e.signal = h->signal;
    e.command = R->recs[seq].cmd;
    e.command_len = strlen(e.command);
    size_t len;
    char *line = mr_joblog_format(&e, &len);
    /* One write(2) per line, O_APPEND: a run killed at any moment leaves
     * whole lines, at worst a torn last one, which --resume drops. */
    if (line == NULL || write(R->joblog_fd, line, len) != (ssize_t)len) {
        if (!R->joblog_error) mr_diag("cannot write the joblog %s: %s", R->o.joblog, strerror(errno));
        R->joblog_error = 1;
    }
    free(line);
}

/* A job's final result: --results, joblog, output, counts — in that
 * order, so that a run killed at any point (even the launcher itself,
 * which loses what it was still forwarding of our stdout) never leaves a
 * job in the joblog, and so skipped by --resume, without its --results
 * files, and never prints a job that --resume will run again. */
static void finish_job(run *R, uint64_t seq, const res_hdr *h, const char *out, const char *err,
                       int failed) {
    rec *r = &R->recs[seq];
    if (R->o.results) write_results(R, seq, h, out, err);
    write_joblog(R, seq, h);
    const char *tag = R->o.tag ? r->arg : NULL;
    if (!R->o.keep_order || seq == R->next_print) {
        emit(stdout, tag, r->arg_len, out, h->out_len);
        fflush(stdout);
        emit(stderr, tag, r->arg_len, err, h->err_len);
        r->state = R_PRINTED;
    } else {
        if (fseeko(R->spool, R->spool_end, SEEK_SET) != 0) R->fatal = 1;
        r->spool_off = R->spool_end;
        r->out_len = emit(R->spool, tag, r->arg_len, out, h->out_len);
        r->err_len = emit(R->spool, tag, r->arg_len, err, h->err_len);
        R->spool_end += (int64_t)(r->out_len + r->err_len);
        r->state = R_SPOOLED;
    }
    free(r->cmd);
    free(r->arg);
    r->cmd = r->arg = NULL;
    if (failed) R->c.failed++;
    else R->c.done++;
    flush_ready(R);
    fflush(stdout);
    if (failed && R->o.halt_now && R->c.failed >= R->o.halt_fail && !R->halted) {
        R->halted = 1;
        R->stopping = 1;
        mr_diag("halting after %llu failed job(s) (--halt %s)", R->c.failed,
             R->o.halt_now == 2 ? "now" : "soon");
        if (R->o.halt_now == 2) request_stop(R);
    }
}

static int push_retry(run *R, uint64_t seq, int32_t avoid) {
    if (R->nretries == R->retries_cap) {
        size_t cap = R->retries_cap ? R->retries_cap * 2 : 64;
        retry *p = realloc(R->retries, cap * sizeof *p);
        if (p == NULL) return -1;
        R->retries = p;
        R->retries_cap = cap;
    }
    R->retries[R->nretries].seq = seq;
    R->retries[R->nretries].avoid = avoid;
    R->nretries++;
    R->recs[seq].state = R_RETRY;
    return 0;
}

static int sink(void *ctx, size_t index, const void *result, size_t size, int status,
                const char *message) {
    run *R = ctx;
    check_term(R);
    uint64_t seq = index < R->round_cap ? R->round_seq[index] : 0;
    if (seq == 0) return 0; /* a filler */
    rec *r = &R->recs[seq];
    R->c.running--;
    res_hdr h;
    if (status != MPIPOOL_OK || size < sizeof h) {
        /* The worker could not send the job's result (out of memory). */
        mr_diag("job %llu: %s", (unsigned long long)seq, message ? message : "no result");
        memset(&h, 0, sizeof h);
        h.seq = seq;
        h.exitval = -1;
        snprintf(h.host, sizeof h.host, ":");
        finish_job(R, seq, &h, "", "", 1);
        mr_progress_update(&R->prog, &R->c, 0);
        return 0;
    }
    memcpy(&h, result, sizeof h);
    if ((h.flags & MR_RES_TERM) && !R->term_seen) {
        /* A worker was signalled but maybe not rank 0: stop everything,
         * exactly as if the signal had reached us. */
        R->term_seen = 1;
        R->stopping = 1;
        request_stop(R);
    }
    const char *out = (const char *)result + sizeof h, *err = out + h.out_len;
    if (h.flags & MR_RES_BOUNCED) {
        r->tries--; /* it did not run */
        r->bounces++;
        if (push_retry(R, seq, r->bounces >= MAX_BOUNCES ? -1 : r->last_rank) != 0) R->fatal = 1;
        return 0;
    }
    if (h.flags & MR_RES_INTERRUPTED) {
        r->state = R_NOTRUN;
        flush_ready(R);
        return 0;
    }
    int failed = h.exitval != 0 || h.signal != 0 || (h.flags & (MR_RES_SPAWN | MR_RES_LOST));
    if (failed && h.exitval == 0 && h.signal == 0) h.exitval = -1; /* say so in the joblog */
    if (failed && r->tries < R->o.retries && !R->stopping) {
        r->last_rank = h.rank;
        r->bounces = 0;
        if (push_retry(R, seq, R->workers > 1 ? h.rank : -1) != 0) R->fatal = 1;
        return 0;
    }
    finish_job(R, seq, &h, out, err, failed);
    mr_progress_update(&R->prog, &R->c, 0);
    return 0;
}

/* Lay out a retry round: item p goes to rank p + 1 in the engine's first
 * pass over idle workers, so put filler items where a retry would land on
 * the rank it must avoid. */
static int plan_round(run *R) {
    size_t n = R->nretries, cap = 2 * n + (size_t)R->workers + 1;
    retry *l = realloc(R->round_list, cap * sizeof *l);
    if (l == NULL) return -1;
    R->round_list = l;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        retry t = R->retries[i];
        while (k < (size_t)R->workers && t.avoid == (int32_t)k + 1 && k < cap - 1) {
            l[k].seq = 0; /* filler */
            l[k].avoid = -1;
            k++;
        }
        l[k++] = t;
    }
    R->round_n = k;
    R->round_next = 0;
    R->nretries = 0;
    return 0;
}

/* --resume: read the joblog, then the whole input, and check they agree. */
static int load_joblog(run *R) {
    FILE *f = fopen(R->o.joblog, "r");
    if (f == NULL) return errno == ENOENT ? 0 : (mr_diag("cannot read the joblog %s: %s", R->o.joblog, strerror(errno)), -1);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    off_t good = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') break; /* torn by a killed run: dropped below */
        len--;
        if (lineno == 1) {
            if (!mr_joblog_is_header(line, (size_t)len)) {
                mr_diag("%s is not a joblog (its first line is not parallel's header)", R->o.joblog);
                rc = -1;
                break;
            }
            good = ftello(f);
            continue;
        }
        mr_joblog_entry e;
        if (mr_joblog_parse(line, (size_t)len, &e, NULL) != 0 || e.seq > 100000000ull) {
            mr_diag("%s line %zu is not a joblog line; refusing to resume", R->o.joblog, lineno);
            rc = -1;
            break;
        }
        if (e.seq >= R->nlog) {
            size_t ncap = R->nlog ? R->nlog : 1024;
            while (ncap <= e.seq) ncap *= 2;
            known *k = realloc(R->log, ncap * sizeof *k);
            if (k == NULL) {
                rc = -1;
                break;
            }
            memset(k + R->nlog, 0, (ncap - R->nlog) * sizeof *k);
            R->log = k;
            R->nlog = ncap;
        }
        known *k = &R->log[e.seq];
        char *cmd = strndup(e.command, e.command_len);
        if (cmd == NULL) {
            rc = -1;
            break;
        }
        for (char *q = cmd; q < cmd + e.command_len; q++)
            if (*q == '\0') *q = '\n';
        if (k->present && strcmp(k->cmd, cmd) != 0) {
            mr_diag("%s lists job %llu twice with different commands; refusing to resume",
                 R->o.joblog, e.seq);
            free(cmd);
            rc = -1;
            break;
        }
        free(k->cmd);
        k->cmd = cmd;
        k->present = 1;
        k->ok |= mr_joblog_succeeded(&e);
        good = ftello(f);
    }
    free(line);
    int torn = rc == 0 && !feof(f);
    if (rc == 0 && !torn) {
        fseeko(f, 0, SEEK_END);
        torn = ftello(f) != good;
    }
    fclose(f);
    if (rc == 0 && torn) {
        mr_diag("%s ends in a torn line (a killed run); dropping it", R->o.joblog);
        if (truncate(R->o.joblog, good) != 0) {
            mr_diag("cannot truncate %s: %s", R->o.joblog, strerror(errno));
            return -1;
        }
    }
    if (rc != 0) return rc;

    /* The input, whole, so every logged command can be checked first. */
    const char *p;
    size_t n, cap2 = 0, npre = 0;
    char **pre = NULL;
    while (next_line(R, &p, &n)) { /* from the file: R->pre is still NULL */
        if (npre == cap2) {
            cap2 = cap2 ? cap2 * 2 : 1024;
            char **q = realloc(pre, cap2 * sizeof *q);
            if (q == NULL) break;
            pre = q;
        }
        if ((pre[npre] = strndup(p, n)) == NULL) break;
        npre++;
    }
    R->pre = pre;
    R->npre = npre;
    if (!feof(R->in)) {
        mr_diag("cannot read the input: %s", ferror(R->in) ? strerror(errno) : "out of memory");
        return -1;
    }
    for (size_t s = 1; s < R->nlog; s++) {
        if (!R->log[s].present) continue;
        if (s > R->npre) {
            mr_diag("%s lists job %zu but the input has only %zu line(s); refusing to resume "
                 "(the input changed?)", R->o.joblog, s, R->npre);
            return -1;
        }
        char *cmd = mr_template_expand(R->o.tmpl, R->pre[s - 1], strlen(R->pre[s - 1]), s);
        int same = cmd && strcmp(cmd, R->log[s].cmd) == 0;
        if (!same)
            mr_diag("%s says job %zu ran '%s' but the input now gives '%s'; refusing to resume "
                 "(the input or the template changed)", R->o.joblog, s, R->log[s].cmd,
                 cmd ? cmd : "?");
        free(cmd);
        if (!same) return -1;
    }
    return 0;
}

static int open_outputs(run *R) {
    if (R->o.joblog) {
        int append = (R->o.resume || R->o.resume_failed) && R->nlog > 0;
        struct stat st;
        if ((R->o.resume || R->o.resume_failed) && stat(R->o.joblog, &st) == 0 && st.st_size > 0)
            append = 1;
        R->joblog_fd = open(R->o.joblog, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0666);
        if (R->joblog_fd < 0) {
            mr_diag("cannot write the joblog %s: %s", R->o.joblog, strerror(errno));
            return -1;
        }
        size_t hl = strlen(MR_JOBLOG_HEADER);
        if (!append && write(R->joblog_fd, MR_JOBLOG_HEADER, hl) != (ssize_t)hl) {
            mr_diag("cannot write the joblog %s: %s", R->o.joblog, strerror(errno));
            return -1;
        }
    }
    if (R->o.results && mkdir(R->o.results, 0777) != 0 && errno != EEXIST) {
        mr_diag("cannot create the results directory %s: %s", R->o.results, strerror(errno));
        return -1;
    }
    if (R->o.keep_order && (R->spool = tmpfile()) == NULL) {
        mr_diag("cannot create a spool file for --keep-order: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The number of lines of a regular file, read ahead for the progress
 * display's total and put back to the start; 0 (unknown) for a pipe. */
static unsigned long long count_lines(FILE *f) {
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    off_t at = ftello(f);
    unsigned long long n = 0;
    int c, last = '\n';
    while ((c = getc(f)) != EOF) {
        if (c == '\n') n++;
        last = c;
    }
    if (last != '\n') n++;
    clearerr(f);
    if (at < 0 || fseeko(f, at, SEEK_SET) != 0) return 0;
    return n;
}

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int mr_master(mpipool *pool, int argc, char **argv, int thread_multiple) {
    run *R = calloc(1, sizeof *R);
    if (R == NULL) return EXIT_USAGE;
    double t0 = wall();
    int code = EXIT_USAGE;
    pthread_t th;
    R->joblog_fd = -1;
    R->next_print = 1;
    R->workers = mpipool_size(pool);
    pthread_mutex_init(&R->stop_lock, NULL);
    int pr = mr_parse_options(argc, argv, &R->o);
    if (pr != 0) {
        code = pr > 0 ? 0 : EXIT_USAGE;
        goto done;
    }
    R->in = stdin;
    if (R->o.argfile && strcmp(R->o.argfile, "-") != 0 && (R->in = fopen(R->o.argfile, "r")) == NULL) {
        mr_diag("cannot read %s: %s", R->o.argfile, strerror(errno));
        R->in = NULL;
        goto done;
    }
    if ((R->o.resume || R->o.resume_failed) && load_joblog(R) != 0) goto done;
    if (open_outputs(R) != 0) goto done;

    if (g_nranks > 1 && thread_multiple && pipe2(g_wake, O_CLOEXEC) == 0) {
        if (pthread_create(&th, NULL, stop_thread, R) == 0) {
            R->have_thread = 1;
        } else {
            close(g_wake[0]);
            close(g_wake[1]);
            g_wake[0] = g_wake[1] = -1;
        }
    }
    mr_progress_init(&R->prog, R->o.progress);
    if (R->prog.mode && !R->pre) R->c.total = count_lines(R->in);
    else if (R->pre) R->c.total = R->npre;

    mpipool_imap_options io = MPIPOOL_IMAP_OPTIONS_INIT;
    io.unordered = 1; /* we order output ourselves (retries finish late) */
    io.chunk_size = 1;
    mpipool_sink sk = {sink, R};
    mpipool_source src = {source_input, R};
    int rc = mpipool_imap(pool, farm_job, &src, &sk, &io);
    while (rc != MPIPOOL_EMPI && rc != MPIPOOL_EPROTO && !R->fatal && !R->stopping &&
           R->nretries > 0) {
        if (plan_round(R) != 0) {
            R->fatal = 1;
            break;
        }
        mpipool_source rs = {source_retries, R};
        rc = mpipool_imap(pool, farm_job, &rs, &sk, &io);
    }
    check_term(R);
    if (rc != MPIPOOL_OK && rc != MPIPOOL_ETASK && rc != MPIPOOL_ECANCELED) {
        mr_diag("the pool failed: %s: %s", mpipool_err_name(rc), mpipool_last_error(pool));
        R->fatal = 1;
    }
    /* Jobs that never got to run (halt, SIGTERM) or whose retry was cut
     * short: settle them so the rest prints. */
    for (size_t i = 0; i < R->nretries; i++) {
        rec *r = &R->recs[R->retries[i].seq];
        r->state = R_NOTRUN;
        R->c.failed++;
    }
    for (uint64_t s = 1; s <= R->nrecs; s++)
        if (R->recs[s].state == R_RUNNING || R->recs[s].state == R_RETRY) R->recs[s].state = R_NOTRUN;
    flush_ready(R);
    fflush(stdout);
    if (R->joblog_fd >= 0 && fsync(R->joblog_fd) != 0 && errno != EINVAL) {
        mr_diag("cannot sync the joblog %s: %s", R->o.joblog, strerror(errno));
        R->joblog_error = 1;
    }
    mr_progress_update(&R->prog, &R->c, 1);
    mr_progress_end(&R->prog);
    unsigned long long notrun = 0;
    for (uint64_t s = 1; s <= R->nrecs; s++) notrun += R->recs[s].state == R_NOTRUN;
    /* Jobs cut short on a retry are counted as failed, not as not run. */
    notrun -= R->nretries;
    mr_diag("%llu done, %llu failed, %llu skipped, %llu not run%s, %.1f s wall", R->c.done,
         R->c.failed, R->c.skipped, notrun, R->input_done || !R->stopping ? "" : " (and input left unread)",
         wall() - t0);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        mr_diag("cannot write standard output: %s", strerror(errno));
        R->fatal = 1;
    }
    if (g_term || R->term_seen) {
        mr_diag("stopped by a signal; run again with --resume to finish");
        code = EXIT_RESUMABLE;
    } else if (R->fatal) {
        code = EXIT_USAGE;
    } else {
        code = R->c.failed == 0 ? 0 : R->c.failed <= 100 ? (int)R->c.failed : 101;
        if (code == 0 && R->joblog_error) code = EXIT_USAGE;
    }

done:
    if (R->have_thread) {
        ssize_t w = write(g_wake[1], "Q", 1);
        (void)w;
        pthread_join(th, NULL);
        close(g_wake[0]);
        close(g_wake[1]);
        g_wake[0] = g_wake[1] = -1;
    }
    if (R->joblog_fd >= 0) close(R->joblog_fd);
    if (R->spool) fclose(R->spool);
    if (R->in && R->in != stdin) fclose(R->in);
    for (uint64_t s = 0; s < R->recs_cap; s++) {
        free(R->recs[s].cmd);
        free(R->recs[s].arg);
    }
    for (size_t s = 0; s < R->nlog; s++) free(R->log[s].cmd);
    for (size_t s = 0; s < R->npre; s++) free(R->pre[s]);
    free(R->pre);
    free(R->log);
    free(R->recs);
    free(R->round_seq);
    free(R->retries);
    free(R->round_list);
    free(R->itembuf);
    free(R->line);
    free(R->o.tmpl);
    pthread_mutex_destroy(&R->stop_lock);
    free(R);
    return code;
}

