/*
 * master.c — rank 0 of mpipool-run: reads the input, hands out the jobs
 * through mpipool_imap() in rounds (the first over the input, later ones
 * over the retries), and passes each final result to output.c.
 *
 * Invariants:
 *  - a job is written to the joblog once, when its final try ends; a job
 *    stopped by a halt or a SIGTERM, or failing once mpipool-run was told
 *    to stop, is never written, so --resume runs it; a job that succeeded
 *    is written whenever it ended;
 *  - the imap callbacks (source, sink) run one at a time, and the main
 *    thread does not touch `run` while an imap is going; the stop thread
 *    only reads the stop flags and sends MR_CTL_STOP;
 *  - a worker that reports MR_RES_GATED gets exactly one MR_CTL_GATE
 *    answer, sent after the halt rule has seen that result: the worker
 *    waits for it before starting its next job, so --halt soon starts no
 *    job after the one that triggered it (the engine may already have
 *    handed the worker its next item).
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

#include "run.h"
#include "template.h"

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

void mr_request_stop(run *R) {
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

/* Called from the callbacks: has a signal arrived, or the launcher gone? */
static void check_term(run *R) {
    mr_launcher_gone();
    if (g_term && !R->stopping) {
        R->stopping = 1;
        if (!R->have_thread) mr_request_stop(R);
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

int mr_next_job(run *R, char ***args, size_t *nargs) {
    if (R->pre == NULL) return mr_input_next(&R->in, args, nargs);
    if (R->pre_next >= R->npre) return 0;
    packed *p = &R->pre[R->pre_next++];
    if (p->nargs > R->unpacked_cap) {
        char **v = realloc(R->unpacked, p->nargs * sizeof *v);
        if (v == NULL) return -1;
        R->unpacked = v;
        R->unpacked_cap = p->nargs;
    }
    const char *a = p->args;
    for (uint32_t i = 0; i < p->nargs; i++, a += strlen(a) + 1) R->unpacked[i] = (char *)(uintptr_t)a;
    *args = R->unpacked;
    *nargs = p->nargs;
    return 1;
}

static uint32_t gate_flags(const run *R) {
    switch (R->o.halt_when == HALT_NEVER ? 0 : R->o.halt_on) {
    case HALT_ON_FAIL: return MR_ITEM_GATE_FAIL;
    case HALT_ON_SUCCESS: return MR_ITEM_GATE_OK;
    case HALT_ON_DONE: return MR_ITEM_GATE_FAIL | MR_ITEM_GATE_OK;
    default: return 0;
    }
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
    item_hdr h = {seq, R->o.timeout, avoid, seq ? gate_flags(R) : MR_ITEM_FILLER};
    memcpy(R->itembuf, &h, sizeof h);
    memcpy(R->itembuf + sizeof h, cmd, clen);
    R->round_seq[index] = seq;
    item->data = R->itembuf;
    item->size = need;
    if (seq) {
        R->recs[seq].state = R_RUNNING;
        R->recs[seq].tries++;
        R->c.running++;
        if (R->o.trace) fprintf(stderr, "%s\n", cmd);
    }
    return 1;
}

/* The next job from the input that the joblog does not settle: its rec
 * filled (cmd, args).  1, 0 at the end, -1 out of memory. */
static int next_new_job(run *R, uint64_t *seqp) {
    char **args;
    size_t nargs;
    int r;
    while ((r = mr_next_job(R, &args, &nargs)) > 0) {
        uint64_t seq = ++R->nrecs;
        if (rec_ensure(R, seq) != 0) return -1;
        rec *rc = &R->recs[seq];
        if (seq < R->nlog && R->log[seq].present && (R->o.resume || R->log[seq].ok)) {
            rc->state = R_SKIPPED;
            R->c.skipped++;
            mr_flush_ready(R);
            continue;
        }
        rc->cmd = mr_template_expand(R->o.tmpl, args, nargs, seq);
        rc->args = mr_pack_args(args, nargs, &rc->args_len);
        if (rc->cmd == NULL || rc->args == NULL) return -1;
        rc->nargs = (uint32_t)nargs;
        rc->last_rank = -1;
        *seqp = seq;
        return 1;
    }
    return r;
}

/* Round 1: the input. */
static int source_input(void *ctx, size_t index, mpipool_buf *item) {
    run *R = ctx;
    uint64_t seq;
    check_term(R);
    if (R->stopping || R->fatal) return 0;
    int r = next_new_job(R, &seq);
    if (r == 0) {
        R->input_done = 1;
        R->c.total = R->nrecs;
        return 0;
    }
    if (r > 0 && fill_item(R, index, seq, -1, item) > 0) return 1;
    mr_diag("out of memory (or a read error) reading the input");
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

/* Settle a job (output.c), then act on a --halt now it fired. */
static void finish_job(run *R, uint64_t seq, const res_hdr *h, const char *out, const char *err, int failed) {
    mr_finish_job(R, seq, h, out, err, failed);
    if (R->stop_now) {
        R->stop_now = 0;
        mr_request_stop(R);
    }
}

/* A result the worker could not send (out of memory there). */
static void lost_result(run *R, uint64_t seq, const char *message) {
    res_hdr h;
    mr_diag("job %llu: %s", (unsigned long long)seq, message ? message : "no result");
    memset(&h, 0, sizeof h);
    h.seq = seq;
    h.exitval = -1;
    snprintf(h.host, sizeof h.host, ":");
    finish_job(R, seq, &h, "", "", 1);
}

/* What a result means: 0 settled here, 1 the job is final. */
static int take_result(run *R, uint64_t seq, res_hdr *h, const char *out, const char *err) {
    rec *r = &R->recs[seq];
    if ((h->flags & MR_RES_TERM) && !R->term_seen) {
        /* A worker was signalled but maybe not rank 0: stop everything,
         * exactly as if the signal had reached us. */
        R->term_seen = 1;
        R->stopping = 1;
        mr_request_stop(R);
    }
    if (h->flags & MR_RES_BOUNCED) {
        r->tries--; /* it did not run */
        r->bounces++;
        if (push_retry(R, seq, r->bounces >= MAX_BOUNCES ? -1 : r->last_rank) != 0) R->fatal = 1;
        return 0;
    }
    if (h->flags & MR_RES_INTERRUPTED) {
        r->state = R_NOTRUN;
        mr_flush_ready(R);
        return 0;
    }
    if (h->flags & MR_RES_E2BIG)
        mr_diag("job %llu: command line too long (%zu bytes, over the kernel's limit): %.60s...",
                (unsigned long long)seq, strlen(r->cmd), r->cmd);
    int failed = h->exitval != 0 || h->signal != 0 || (h->flags & (MR_RES_SPAWN | MR_RES_LOST));
    if (failed && !(h->flags & MR_RES_TIMEDOUT) && (g_term || R->term_seen)) {
        /* Ended in failure after mpipool-run was told to stop (a signal,
         * the launcher's death): cut short, or its retries were; not
         * logged, so --resume runs it (job.c's cut_short, from here). */
        r->state = R_NOTRUN;
        mr_flush_ready(R);
        return 0;
    }
    if (failed && h->exitval == 0 && h->signal == 0) h->exitval = -1; /* say so in the joblog */
    if (failed && (R->o.retries == 0 || r->tries < R->o.retries) && !R->stopping) {
        r->last_rank = h->rank;
        r->bounces = 0;
        if (push_retry(R, seq, R->workers > 1 ? h->rank : -1) != 0) R->fatal = 1;
        return 0;
    }
    finish_job(R, seq, h, out, err, failed);
    return 1;
}

static int sink(void *ctx, size_t index, const void *result, size_t size, int status,
                const char *message) {
    run *R = ctx;
    check_term(R);
    uint64_t seq = index < R->round_cap ? R->round_seq[index] : 0;
    if (seq == 0) return 0; /* a filler */
    R->c.running--;
    res_hdr h;
    if (status != MPIPOOL_OK || size < sizeof h) {
        lost_result(R, seq, message);
    } else {
        memcpy(&h, result, sizeof h);
        const char *out = (const char *)result + sizeof h;
        take_result(R, seq, &h, out, out + h.out_len);
        if ((h.flags & MR_RES_GATED) && h.rank > 0) {
            char go = R->stopping || R->halted ? MR_GATE_HALT : MR_GATE_GO;
            MPI_Send(&go, 1, MPI_CHAR, h.rank, MR_CTL_GATE, g_ctl);
        }
        if (R->stopping) g_nostart = 1; /* a one-rank pool: its own next job */
    }
    mr_progress_update(&R->prog, &R->c, 0);
    return 0;
}

/* Lay out a retry round.  A retry should run on another rank than the one
 * it failed on; the engine decides where an item goes, so a worker that
 * gets a job it must avoid sends it back (bounced) for the next round, at
 * most MAX_BOUNCES times, after which it runs anywhere.  The engine's first
 * pass over idle workers gives item p to rank p + 1 (p < workers), so the
 * first `workers` places get, each, the first retry (the most bounced
 * first) that does not avoid that rank, or a filler item where none is
 * left; the rest follow in order, for whichever worker is free. */
static int plan_round(run *R) {
    size_t n = R->nretries, w = (size_t)R->workers, cap = n + w + 1, k = 0;
    retry *l = realloc(R->round_list, cap * sizeof *l);
    retry *o = malloc((n + 1) * sizeof *o);
    if (l != NULL) R->round_list = l;
    if (l == NULL || o == NULL) {
        free(o);
        return -1;
    }
    size_t m = 0; /* o: the retries, most bounced first, else in order */
    for (int b = MAX_BOUNCES; b >= 0; b--)
        for (size_t i = 0; i < n; i++)
            if (R->recs[R->retries[i].seq].bounces == b) o[m++] = R->retries[i];
    size_t left = m;
    for (size_t slot = 0; slot < w && left > 0; slot++) {
        size_t i = 0;
        while (i < m && (o[i].seq == 0 || o[i].avoid == (int32_t)slot + 1)) i++;
        if (i < m) {
            l[k++] = o[i];
            o[i].seq = 0; /* placed */
            left--;
        } else {
            l[k].seq = 0; /* filler */
            l[k++].avoid = -1;
        }
    }
    for (size_t i = 0; i < m; i++)
        if (o[i].seq != 0) l[k++] = o[i];
    free(o);
    R->round_n = k;
    R->round_next = 0;
    R->nretries = 0;
    return 0;
}

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --dry-run: print the commands the jobs would run, in order. */
static int dry_run(run *R) {
    uint64_t seq;
    int r;
    while ((r = next_new_job(R, &seq)) > 0) {
        printf("%s\n", R->recs[seq].cmd);
        free(R->recs[seq].cmd);
        free(R->recs[seq].args);
        R->recs[seq].cmd = R->recs[seq].args = NULL;
    }
    return r == 0 && fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

/* Everything before the first job: input, joblog (locked, read back),
 * output files, the stop thread.  0, or -1 (reported). */
static int set_up(run *R, pthread_t *th, int thread_multiple) {
    if (mr_input_open(&R->in) != 0) return -1;
    int ahead = R->o.resume || R->o.resume_failed || R->o.halt_pct > 0;
    if (ahead && mr_read_ahead(R) != 0) return -1;
    if (mr_open_joblog(R) != 0) return -1;
    if ((R->o.resume || R->o.resume_failed) && mr_load_joblog(R) != 0) return -1;
    if (R->o.results && mkdir(R->o.results, 0777) != 0 && errno != EEXIST) {
        mr_diag("cannot create the results directory %s: %s", R->o.results, strerror(errno));
        return -1;
    }
    if (R->o.keep_order && (R->spool = tmpfile()) == NULL) {
        mr_diag("cannot create a spool file for --keep-order: %s", strerror(errno));
        return -1;
    }
    if (g_nranks > 1 && thread_multiple && pipe2(g_wake, O_CLOEXEC) == 0) {
        if (pthread_create(th, NULL, stop_thread, R) == 0) {
            R->have_thread = 1;
        } else {
            close(g_wake[0]);
            close(g_wake[1]);
            g_wake[0] = g_wake[1] = -1;
        }
    }
    mr_progress_init(&R->prog, R->o.progress);
    R->c.total = R->pre ? R->npre : R->prog.mode ? mr_input_total(&R->in) : 0;
    return 0;
}

/* The imap rounds: the input, then the retries until none is left. */
static void run_rounds(run *R, mpipool *pool) {
    mpipool_imap_options io = MPIPOOL_IMAP_OPTIONS_INIT;
    io.unordered = 1; /* we order output ourselves (retries finish late) */
    io.chunk_size = 1;
    io.journal = "";  /* the joblog is our journal */
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
}

/* After the rounds: settle what never ran, sync, summarise; the status. */
static int wind_up(run *R, double t0) {
    for (size_t i = 0; i < R->nretries; i++) { /* retries cut short: failed */
        R->recs[R->retries[i].seq].state = R_NOTRUN;
        R->c.failed++;
    }
    unsigned long long notrun = 0;
    for (uint64_t s = 1; s <= R->nrecs; s++) {
        if (R->recs[s].state == R_RUNNING || R->recs[s].state == R_RETRY) R->recs[s].state = R_NOTRUN;
        notrun += R->recs[s].state == R_NOTRUN;
    }
    notrun -= R->nretries;
    mr_flush_ready(R);
    fflush(stdout);
    if (R->joblog_fd > STDOUT_FILENO && fsync(R->joblog_fd) != 0 && errno != EINVAL) {
        mr_diag("cannot sync the joblog %s: %s", R->o.joblog, strerror(errno));
        R->joblog_error = 1;
    }
    mr_progress_update(&R->prog, &R->c, 1);
    mr_progress_end(&R->prog);
    if (R->o.summary || isatty(STDERR_FILENO))
        mr_diag("%llu done, %llu failed, %llu skipped, %llu not run%s, %.1f s wall", R->c.done,
                R->c.failed, R->c.skipped, notrun,
                R->input_done || !R->stopping ? "" : " (and input left unread)", wall() - t0);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        mr_diag("cannot write standard output: %s", strerror(errno));
        R->fatal = 1;
    }
    if (R->unrecorded)
        mr_diag("%llu job(s) ran but their --results could not be written; they are not in the "
                "joblog, and --resume will run them again", R->unrecorded);
    if (g_term || R->term_seen) {
        mr_diag("stopped by %s; run again with --resume to finish",
                g_orphan ? "the launcher's death" : "a signal");
        return EXIT_RESUMABLE;
    }
    if (R->fatal || R->unrecorded) return EXIT_USAGE;
    if (R->halted) return R->halt_status;
    int code = R->c.failed == 0 ? 0 : R->c.failed <= 100 ? (int)R->c.failed : 101;
    return code == 0 && R->joblog_error ? EXIT_USAGE : code;
}

static void tear_down(run *R) {
    if (R->joblog_fd > STDOUT_FILENO) close(R->joblog_fd);
    if (R->spool) fclose(R->spool);
    mr_input_free(&R->in);
    for (uint64_t s = 0; s < R->recs_cap; s++) {
        free(R->recs[s].cmd);
        free(R->recs[s].args);
        free(R->recs[s].logline);
    }
    for (size_t s = 0; s < R->nlog; s++) free(R->log[s].cmd);
    for (size_t s = 0; s < R->npre; s++) free(R->pre[s].args);
    free(R->pre);
    free(R->unpacked);
    free(R->log);
    free(R->recs);
    free(R->round_seq);
    free(R->retries);
    free(R->round_list);
    free(R->itembuf);
    free(R->o.tmpl);
    pthread_mutex_destroy(&R->stop_lock);
    free(R);
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
    int pr = mr_parse_options(argc, argv, &R->o, &R->in);
    if (pr != 0) {
        code = pr > 0 ? 0 : EXIT_USAGE;
    } else if (R->o.dry_run) {
        code = mr_input_open(&R->in) == 0 ? dry_run(R) : EXIT_USAGE;
    } else if (set_up(R, &th, thread_multiple) == 0) {
        run_rounds(R, pool);
        code = wind_up(R, t0);
    }
    if (R->have_thread) {
        ssize_t w = write(g_wake[1], "Q", 1);
        (void)w;
        pthread_join(th, NULL);
        close(g_wake[0]);
        close(g_wake[1]);
        g_wake[0] = g_wake[1] = -1;
    }
    tear_down(R);
    return code;
}
