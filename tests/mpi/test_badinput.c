/*
 * test_badinput.c — the bad-input matrix: hostile or mistaken arguments and
 * environment, one table row per case.  Each row says what is wrong, the
 * code the call must return, and what its message (mpipool_last_error) must
 * name: the function, and the item or rank where there is one.  After every
 * row the pool must still run a map (so nothing was left half-sent and no
 * rank hangs); leaks are the sanitizer run's job (scripts/test.sh runs this
 * under ASan/LSan/UBSan too).
 *
 * Cases already covered elsewhere are not repeated here:
 *   test_errors.c   map/apply: NULL in/out, zero sizes, bad schedule, flags,
 *                   reserved, overlap, n * size overflow, NULL fn, unregistered
 *                   fn, NULL pool, serve on the master, map/apply on a worker,
 *                   close twice, map/apply/serve after close
 *   test_async.c    map_async/apply_async argument errors, wait/ready(NULL),
 *                   async calls on a worker or after close
 *   test_imap.c     imap: NULL source/sink/next/put/fn/pool, flags, reserved,
 *                   on_error, unordered, unregistered, imap on a worker
 *   test_varsize.c  variable items with data NULL, mpipool_task_output probes
 *                   (size > out_size gives NULL, SIZE_MAX gives NULL)
 *   test_hooks.c    set_hooks flags/reserved on one rank, init failing (EINIT),
 *                   broadcast with data NULL on the master
 *   test_mismatch.c, test_deferred.c  ranks registering different tasks,
 *                   MPIPOOL_TASK registration errors
 *   test_open_comm.c  open_comm with NULL pool or MPI_COMM_NULL
 *   tests/unit/     the codes of mpipool_register, mpipool__check_map_args,
 *                   mpipool_strerror/err_name of unknown codes
 *
 * What the library cannot detect, so no row claims it: a task writing past
 * t->out_size (a raw overrun of the library's buffer: only ASan sees it),
 * an `in` array shorter than n * in_size, a freed or foreign mpipool_job
 * handle, and a collective call (broadcast, set_hooks) made on the master
 * after the workers entered mpipool_serve.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <limits.h>
#include <math.h>
#include "harness.h"

static mpipool *pool;
static int world_rank, world_size;

static int triple(mpipool_task *t) {
    *(int32_t *)t->out = 3 * *(const int32_t *)t->in;
    return 0;
}
MPIPOOL_TASK(triple);
static int triple_typed(mpipool_task *t) { return triple(t); }
MPIPOOL_TASK_TYPED(triple_typed, int32_t, int32_t);

static int other_triple(mpipool_task *t) { return triple(t); }

/* Item 2 asks for more room than its fixed-size result has: the library
 * must answer NULL, and the task reports it. */
static int overask(mpipool_task *t) {
    *(int32_t *)t->out = t->rank;
    if (t->index != 2) return 0;
    if (mpipool_task_output(t, t->out_size + 1) != NULL) return 0; /* wrong: would be an overrun */
    return mpipool_task_fail(t, "mpipool_task_output(%zu) gave NULL", t->out_size + 1);
}
MPIPOOL_TASK(overask);

/* Item 1 fails with the most negative int, item 3 with mpipool_task_fail(t, NULL). */
static int odd_codes(mpipool_task *t) {
    *(int32_t *)t->out = t->rank;
    if (t->index == 1) return INT_MIN;
    if (t->index == 3) return mpipool_task_fail(t, NULL);
    return 0;
}
MPIPOOL_TASK(odd_codes);

static int not_registered(mpipool_task *t) {
    (void)t;
    return 0;
}

/* ---- the table ------------------------------------------------------------ */

typedef struct {
    const char *what;    /* what is wrong                                       */
    int expect;          /* the code the call must return                       */
    const char *func;    /* the function the message must name (NULL: the call
                            returns MPIPOOL_OK, or has no message to give)      */
    const char *mention; /* another string the message must hold, or NULL       */
    int (*run)(const char **msg); /* make the call; *msg = its message          */
} bad_case;

#define CASE(what, expect, func, mention, fn) {what, expect, func, mention, fn}
#define END {NULL, 0, NULL, NULL, NULL}

static int run_table(const char *table, const bad_case *cases, int check_pool_after);

enum { N = 16 };
static int32_t in[N], out[N];

/* A correct map, proving the pool is still in step with its workers. */
/* Room to keep a message across a later call. */
#define KEEP_MAX 1024

static int pool_works(void) {
    for (int i = 0; i < N; i++) in[i] = i, out[i] = -1;
    if (mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, NULL) != MPIPOOL_OK) return 0;
    for (int i = 0; i < N; i++)
        if (out[i] != 3 * i) return 0;
    return 1;
}

/* ---- environment: MPIPOOL_PIECE_BYTES (collective: every rank opens) ------ */

/* Set the variable on the ranks in `where` (0: master only, 1: workers
 * only), open and close a pool over MPI_COMM_WORLD, and give open's code. */
static int open_with(const char *var, const char *value, int where, const char **msg) {
    int here = where == 0 ? world_rank == 0 : world_rank != 0;
    if (here) setenv(var, value, 1);
    mpipool *p = (mpipool *)&p; /* must become NULL on failure */
    int rc = mpipool_open_comm(&p, MPI_COMM_WORLD);
    *msg = mpipool_last_error(NULL);
    unsetenv(var);
    if (rc == MPIPOOL_OK) {
        int ok = 1;
        if (mpipool_is_master(p)) {
            int32_t x = 7, y = 0;
            ok = mpipool_apply(p, triple, &x, sizeof x, &y, sizeof y) == MPIPOOL_OK && y == 21;
        }
        CHECK(ok);
        CHECK_RC(mpipool_close(p), MPIPOOL_OK);
    } else {
        CHECK(p == NULL);
    }
    return rc;
}

static int open_with_piece(const char *value, int where, const char **msg) {
    return open_with("MPIPOOL_PIECE_BYTES", value, where, msg);
}

/* Issue 21 item 13: values outside the documented ones are refused, naming
 * the variable (they used to turn progress on, or pass as "on"). */
static int env_progress_garbage(const char **m) { return open_with("MPIPOOL_PROGRESS", "garbage", 0, m); }
static int env_progress_minus(const char **m) { return open_with("MPIPOOL_PROGRESS", "-1", 0, m); }
static int env_interval_minus(const char **m) { return open_with("MPIPOOL_PROGRESS_INTERVAL", "-1", 0, m); }
static int env_interval_zero(const char **m) { return open_with("MPIPOOL_PROGRESS_INTERVAL", "0", 0, m); }
static int env_hier_one(const char **m) { return open_with("MPIPOOL_HIERARCHY", "1", 0, m); }
static int env_pace_yes(const char **m) { return open_with("MPIPOOL_PACE", "yes", 0, m); }

static int env_letters(const char **m) { return open_with_piece("abc", 0, m); }
static int env_negative(const char **m) { return open_with_piece("-5", 0, m); }
static int env_float(const char **m) { return open_with_piece("1e9", 0, m); }
static int env_lead_space(const char **m) { return open_with_piece(" 1000", 0, m); }
static int env_trail_space(const char **m) { return open_with_piece("1000 ", 0, m); }
static int env_hex(const char **m) { return open_with_piece("0x100", 0, m); }
static int env_suffix(const char **m) { return open_with_piece("64k", 0, m); }
static int env_huge(const char **m) { return open_with_piece("99999999999999999999999", 0, m); }
static int env_zero(const char **m) { return open_with_piece("0", 0, m); }
static int env_empty(const char **m) { return open_with_piece("", 0, m); }
static int env_workers_only(const char **m) { return open_with_piece("garbage", 1, m); }

static const bad_case env_cases[] = {
    CASE("MPIPOOL_PIECE_BYTES=abc", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PIECE_BYTES", env_letters),
    CASE("MPIPOOL_PROGRESS=garbage", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PROGRESS",
         env_progress_garbage),
    CASE("MPIPOOL_PROGRESS=-1", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PROGRESS", env_progress_minus),
    CASE("MPIPOOL_PROGRESS_INTERVAL=-1", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PROGRESS_INTERVAL",
         env_interval_minus),
    CASE("MPIPOOL_PROGRESS_INTERVAL=0 (the 10 ms floor)", MPIPOOL_OK, NULL, NULL, env_interval_zero),
    CASE("MPIPOOL_HIERARCHY=1 (auto, on or off only)", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_HIERARCHY",
         env_hier_one),
    CASE("MPIPOOL_PACE=yes (auto, on or off only)", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PACE",
         env_pace_yes),
    CASE("MPIPOOL_PIECE_BYTES=-5", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PIECE_BYTES", env_negative),
    CASE("MPIPOOL_PIECE_BYTES=1e9", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PIECE_BYTES", env_float),
    CASE("MPIPOOL_PIECE_BYTES=' 1000'", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PIECE_BYTES",
         env_lead_space),
    CASE("MPIPOOL_PIECE_BYTES='1000 '", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PIECE_BYTES",
         env_trail_space),
    CASE("MPIPOOL_PIECE_BYTES=0x100", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PIECE_BYTES", env_hex),
    CASE("MPIPOOL_PIECE_BYTES=64k", MPIPOOL_EINVAL, "mpipool_open_comm", "MPIPOOL_PIECE_BYTES", env_suffix),
    /* Documented clamps, not errors: [256, 1 GiB]; empty means unset. */
    CASE("MPIPOOL_PIECE_BYTES=10^23 (clamped to 1 GiB)", MPIPOOL_OK, NULL, NULL, env_huge),
    CASE("MPIPOOL_PIECE_BYTES=0 (clamped to 256)", MPIPOOL_OK, NULL, NULL, env_zero),
    CASE("MPIPOOL_PIECE_BYTES= (empty: the default)", MPIPOOL_OK, NULL, NULL, env_empty),
    /* Only the master's value counts; the workers' is never read. */
    CASE("MPIPOOL_PIECE_BYTES=garbage on the workers only", MPIPOOL_OK, NULL, NULL, env_workers_only),
    END};

/* ---- opening and registering, with no pool open (every rank alike) -------- */

static int open_null(const char **m) {
    int rc = mpipool_open(NULL, NULL, NULL);
    *m = mpipool_last_error(NULL);
    return rc;
}
static int reg(const char *name, mpipool_fn fn, const char **m) {
    int rc = mpipool_register(name, fn);
    *m = mpipool_last_error(NULL);
    return rc;
}
static int reg_null_name(const char **m) { return reg(NULL, triple, m); }
static int reg_empty_name(const char **m) { return reg("", triple, m); }
static int reg_null_fn(const char **m) { return reg("nofn", NULL, m); }
static int reg_newline(const char **m) { return reg("two\nlines", triple, m); }
static int reg_taken(const char **m) { return reg("triple", other_triple, m); }

static const bad_case setup_cases[] = {
    CASE("mpipool_open with pool NULL", MPIPOOL_EINVAL, "mpipool_open", "pool is NULL", open_null),
    CASE("mpipool_register with name NULL", MPIPOOL_EINVAL, "mpipool_register", "name is NULL", reg_null_name),
    CASE("mpipool_register with name \"\"", MPIPOOL_EINVAL, "mpipool_register", "empty", reg_empty_name),
    CASE("mpipool_register with fn NULL", MPIPOOL_EINVAL, "mpipool_register", "fn is NULL", reg_null_fn),
    CASE("mpipool_register of a name with a newline", MPIPOOL_EINVAL, "mpipool_register", "newline",
         reg_newline),
    CASE("mpipool_register of a taken name, another function", MPIPOOL_EEXIST, "mpipool_register", "triple",
         reg_taken),
    END};

/* ---- collective calls on the open pool, before the workers serve ---------- */

static int reg_while_open(const char **m) { return reg("latecomer", other_triple, m); }

static int bcast(const char *name, const void *data, size_t size, const char **m) {
    int master = world_rank == 0;
    int rc = mpipool_broadcast(pool, name, master ? data : NULL, master ? size : 0);
    *m = mpipool_last_error(pool);
    return rc;
}
static int bcast_null_name(const char **m) { return bcast(NULL, in, 4, m); }
static int bcast_empty_name(const char **m) { return bcast("", in, 4, m); }
/* No rank can hold SIZE_MAX bytes; the caller's buffer is never read. */
static int bcast_huge(const char **m) {
    int rc = bcast("huge", in, SIZE_MAX, m);
    size_t sz = 1;
    CHECK(mpipool_shared(pool, "huge", &sz) == NULL && sz == 0);
    return rc;
}
static int bcast_after_huge(const char **m) {
    int rc = bcast("small", in, sizeof in, m);
    size_t sz = 0;
    CHECK(mpipool_shared(pool, "small", &sz) != NULL && sz == sizeof in);
    return rc;
}
static int hooks_null_all(const char **m) {
    int rc = mpipool_set_hooks(pool, NULL);
    *m = mpipool_last_error(pool);
    return rc;
}
static int hooks_null_last(const char **m) {
    mpipool_hooks h = MPIPOOL_HOOKS_INIT;
    int rc = mpipool_set_hooks(pool, world_rank == world_size - 1 ? NULL : &h);
    *m = mpipool_last_error(pool);
    return rc;
}
static int shared_queries(const char **m) {
    size_t sz = 99;
    CHECK(mpipool_shared(pool, NULL, &sz) == NULL && sz == 0);
    sz = 99;
    CHECK(mpipool_shared(pool, "never broadcast", &sz) == NULL && sz == 0);
    sz = 99;
    CHECK(mpipool_shared(NULL, "small", &sz) == NULL && sz == 0);
    CHECK(mpipool_shared(pool, "small", NULL) != NULL);
    *m = "";
    return MPIPOOL_OK;
}

static const bad_case collective_cases[] = {
    CASE("mpipool_register while a pool is open", MPIPOOL_EBUSY, "mpipool_register", "latecomer",
         reg_while_open),
    CASE("mpipool_broadcast with name NULL", MPIPOOL_EINVAL, "mpipool_broadcast", "name", bcast_null_name),
    CASE("mpipool_broadcast with name \"\"", MPIPOOL_EINVAL, "mpipool_broadcast", "name", bcast_empty_name),
    CASE("mpipool_broadcast of SIZE_MAX bytes", MPIPOOL_ENOMEM, "mpipool_broadcast", "could not hold",
         bcast_huge),
    CASE("mpipool_broadcast right after a refused one", MPIPOOL_OK, NULL, NULL, bcast_after_huge),
    CASE("mpipool_set_hooks(pool, NULL) on every rank", MPIPOOL_EINVAL, "mpipool_set_hooks", "hooks",
         hooks_null_all),
    CASE("mpipool_set_hooks(pool, NULL) on the last rank only", MPIPOOL_EINVAL, "mpipool_set_hooks", "hooks",
         hooks_null_last),
    CASE("mpipool_shared with a NULL/unknown name or NULL pool", MPIPOOL_OK, NULL, NULL, shared_queries),
    END};

/* ---- master only, the workers serving --------------------------------------- */

static mpipool_job *start_job(void) {
    mpipool_job *job = NULL;
    for (int i = 0; i < N; i++) in[i] = i;
    CHECK_RC(mpipool_map_async(pool, triple, in, sizeof *in, out, sizeof *out, N, NULL, &job), MPIPOOL_OK);
    return job;
}
static int wait_with(double timeout, const char **m) {
    mpipool_job *job = start_job();
    if (job == NULL) return -999;
    int rc = mpipool_wait(job, timeout);
    *m = mpipool_last_error(pool);
    static char keep[KEEP_MAX];
    snprintf(keep, sizeof keep, "%s", *m);
    *m = keep;
    CHECK_RC(mpipool_wait(job, -1.0), MPIPOOL_OK);
    mpipool_job_free(job);
    return rc;
}
static int wait_nan(const char **m) { return wait_with(NAN, m); }
static int wait_inf(const char **m) { return wait_with(INFINITY, m); }
static int wait_huge(const char **m) { return wait_with(1e300, m); }
static int wait_neg_inf(const char **m) { return wait_with(-INFINITY, m); }

static mpipool_buf vin[4], vout[4];
static int var_map(size_t n, const char **m) {
    memset(vout, 0, sizeof vout);
    int rc = mpipool_map(pool, triple, vin, MPIPOOL_VARIABLE, vout, MPIPOOL_VARIABLE, n, NULL);
    *m = mpipool_last_error(pool);
    return rc;
}
static int var_size_max(const char **m) {
    vin[0] = (mpipool_buf){in, SIZE_MAX};
    return var_map(1, m);
}
static int var_sizes_wrap(const char **m) {
    vin[0] = (mpipool_buf){in, 4};
    vin[1] = (mpipool_buf){in, SIZE_MAX / 6};
    vin[2] = (mpipool_buf){in, SIZE_MAX / 6};
    return var_map(3, m);
}
static int var_size_max_async(const char **m) {
    vin[0] = (mpipool_buf){in, 4};
    vin[1] = (mpipool_buf){in, SIZE_MAX - 1};
    mpipool_job *job = (mpipool_job *)&job;
    int rc = mpipool_map_async(pool, triple, vin, MPIPOOL_VARIABLE, out, sizeof *out, 2, NULL, &job);
    *m = mpipool_last_error(pool);
    CHECK(job == NULL);
    return rc;
}

/* An imap source that gives two good items, then `bad`. */
typedef struct {
    mpipool_buf bad;
    int32_t v;
} bad_source;
static int bad_next(void *ctx, size_t index, mpipool_buf *item) {
    bad_source *s = ctx;
    if (index >= 3) return 0;
    s->v = (int32_t)index;
    *item = index == 2 ? s->bad : (mpipool_buf){&s->v, sizeof s->v};
    return 1;
}
static size_t sink_got;
static int count_put(void *ctx, size_t index, const void *result, size_t size, int status, const char *msg) {
    (void)ctx, (void)index, (void)result, (void)size, (void)status, (void)msg;
    sink_got++;
    return 0;
}
static int copy4(mpipool_task *t) {
    void *o = mpipool_task_output(t, t->in_size);
    if (o == NULL) return mpipool_task_fail(t, "no room");
    memcpy(o, t->in, t->in_size);
    return 0;
}
MPIPOOL_TASK(copy4);
static int imap_bad(mpipool_buf bad, size_t want_delivered, const char **m) {
    bad_source s = {bad, 0};
    mpipool_source src = {bad_next, &s};
    mpipool_sink snk = {count_put, NULL};
    mpipool_imap_options o = MPIPOOL_IMAP_OPTIONS_INIT;
    o.chunk_size = 1;
    sink_got = 0;
    int rc = mpipool_imap(pool, copy4, &src, &snk, &o);
    *m = mpipool_last_error(pool);
    CHECK(sink_got == want_delivered); /* a refused item never reaches the sink */
    return rc;
}
static int imap_null_data(const char **m) { return imap_bad((mpipool_buf){NULL, 5}, 2, m); }
static int imap_huge_item(const char **m) {
    static char one;
    return imap_bad((mpipool_buf){&one, SIZE_MAX}, 2, m);
}
static int imap_after_refusal(const char **m) {
    int32_t v = 0;
    return imap_bad((mpipool_buf){&v, sizeof v}, 3, m);
}

static int map_n_huge(const char **m) {
    int rc = mpipool_map(pool, triple, in, 1, out, sizeof *out, SIZE_MAX, NULL);
    *m = mpipool_last_error(pool);
    return rc;
}
static int apply_out_null(const char **m) {
    int rc = mpipool_apply(pool, triple, in, sizeof *in, NULL, sizeof *out);
    *m = mpipool_last_error(pool);
    return rc;
}
static int apply_out_zero(const char **m) {
    int rc = mpipool_apply(pool, triple_typed, in, sizeof *in, out, 0);
    *m = mpipool_last_error(pool);
    return rc;
}
static int apply_async_unregistered(const char **m) {
    mpipool_job *job = (mpipool_job *)&job;
    int rc = mpipool_apply_async(pool, not_registered, in, sizeof *in, out, sizeof *out, &job);
    *m = mpipool_last_error(pool);
    CHECK(job == NULL);
    return rc;
}
static int map_with(size_t chunk, size_t max_failures, const char **m) {
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = chunk;
    o.max_failures = max_failures;
    for (int i = 0; i < N; i++) in[i] = i, out[i] = -1;
    int rc = mpipool_map(pool, triple, in, sizeof *in, out, sizeof *out, N, &o);
    *m = mpipool_last_error(pool);
    for (int i = 0; i < N; i++) CHECK(out[i] == 3 * i);
    return rc;
}
static int chunk_huge(const char **m) { return map_with(SIZE_MAX, 0, m); }
static int max_failures_huge(const char **m) { return map_with(0, SIZE_MAX, m); }

static int32_t ranks_out[N];
static int task_map(mpipool_fn fn, const char **m) {
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    o.chunk_size = 1;
    for (int i = 0; i < N; i++) in[i] = i, ranks_out[i] = -1;
    int rc = mpipool_map(pool, fn, in, sizeof *in, ranks_out, sizeof *ranks_out, 8, &o);
    *m = mpipool_last_error(pool);
    return rc;
}
static int task_overask(const char **m) {
    int rc = task_map(overask, m);
    CHECK(harness_names_item(*m, 2));
    CHECK(harness_names_rank(*m, ranks_out[2]));
    return rc;
}
static int task_int_min(const char **m) {
    int rc = task_map(odd_codes, m);
    CHECK(harness_names_item(*m, 1));
    CHECK(harness_names_rank(*m, ranks_out[1]));
    return rc;
}
static int task_fail_null_fmt(const char **m) {
    /* Item 3's own message, from the per-item messages array. */
    mpipool_map_options o = MPIPOOL_MAP_OPTIONS_INIT;
    int st[8] = {0};
    char *msgs[8] = {0};
    o.status = st;
    o.messages = msgs;
    for (int i = 0; i < 8; i++) in[i] = i;
    int rc = mpipool_map(pool, odd_codes, in, sizeof *in, ranks_out, sizeof *ranks_out, 8, &o);
    static char keep[KEEP_MAX];
    snprintf(keep, sizeof keep, "%s", msgs[3] ? msgs[3] : "(no message)");
    *m = keep;
    CHECK(st[1] == MPIPOOL_ETASK && st[3] == MPIPOOL_ETASK && st[0] == MPIPOOL_OK);
    for (int i = 0; i < 8; i++) free(msgs[i]);
    return rc;
}
static int task_calls_outside(const char **m) {
    /* The task-side calls given no task, from outside any task. */
    CHECK(mpipool_task_output(NULL, 4) == NULL);
    CHECK(mpipool_task_shared(NULL, "small", NULL) == NULL);
    *m = "";
    return mpipool_task_fail(NULL, "nobody hears this");
}

static const bad_case master_cases[] = {
    CASE("mpipool_wait with a NaN timeout", MPIPOOL_EINVAL, "mpipool_wait", "NaN", wait_nan),
    CASE("mpipool_wait with an infinite timeout (forever)", MPIPOOL_OK, NULL, NULL, wait_inf),
    CASE("mpipool_wait with a 1e300 s timeout (forever)", MPIPOOL_OK, NULL, NULL, wait_huge),
    CASE("mpipool_wait with timeout -inf (forever)", MPIPOOL_OK, NULL, NULL, wait_neg_inf),
    CASE("variable item of SIZE_MAX bytes", MPIPOOL_EOVERFLOW, "mpipool_map", "in[0]", var_size_max),
    CASE("variable items whose sizes add up past SIZE_MAX/4", MPIPOOL_EOVERFLOW, "mpipool_map", "in[2]",
         var_sizes_wrap),
    CASE("map_async with a variable item of SIZE_MAX-1 bytes", MPIPOOL_EOVERFLOW, "mpipool_map_async", "in[1]",
         var_size_max_async),
    CASE("imap source item with data NULL and a size", MPIPOOL_EINVAL, "mpipool_imap", "item 2",
         imap_null_data),
    CASE("imap source item of SIZE_MAX bytes", MPIPOOL_EOVERFLOW, "mpipool_imap", "item 2", imap_huge_item),
    CASE("imap right after a refused source item", MPIPOOL_OK, NULL, NULL, imap_after_refusal),
    CASE("map of n = SIZE_MAX one-byte items", MPIPOOL_EOVERFLOW, "mpipool_map", "overflows", map_n_huge),
    CASE("apply with out NULL", MPIPOOL_EINVAL, "mpipool_apply", "out is NULL", apply_out_null),
    CASE("apply of a typed task with out_size 0", MPIPOOL_EINVAL, "mpipool_apply", "this call passes 4 and 0",
         apply_out_zero),
    CASE("apply_async of an unregistered function", MPIPOOL_ENOTREG, "mpipool_apply_async", "not registered",
         apply_async_unregistered),
    CASE("chunk_size = SIZE_MAX (capped, runs)", MPIPOOL_OK, NULL, NULL, chunk_huge),
    CASE("max_failures = SIZE_MAX (no stop, runs)", MPIPOOL_OK, NULL, NULL, max_failures_huge),
    CASE("task asks mpipool_task_output for more than out_size", MPIPOOL_ETASK, "mpipool_map",
         "mpipool_task_output(5) gave NULL", task_overask),
    CASE("task returns INT_MIN", MPIPOOL_ETASK, "mpipool_map", "returned -2147483648", task_int_min),
    CASE("task fails with mpipool_task_fail(t, NULL)", MPIPOOL_ETASK, NULL, "returned -4",
         task_fail_null_fmt),
    CASE("task-side calls outside a task (NULL task)", MPIPOOL_EINVAL, NULL, NULL, task_calls_outside),
    END};

/* ---- journal (issue 5a) ----------------------------------------------------
 * Unreadable, truncated or foreign journal files go here, as rows like the
 * ones above (the journal engineer's cases).  Leave END as the last row. */
static const bad_case journal_cases[] = {
    END};

/* ---- after close: every rank, on its stale handle ---------------------------- */

static mpipool *stale;
static mpipool_job *done_job;

static int after_close(int rc, const char **m) {
    *m = mpipool_last_error(NULL);
    return rc;
}
static int closed_imap(const char **m) {
    mpipool_source src = {bad_next, NULL};
    mpipool_sink snk = {count_put, NULL};
    return after_close(mpipool_imap(stale, copy4, &src, &snk, NULL), m);
}
static int closed_hooks(const char **m) {
    mpipool_hooks h = MPIPOOL_HOOKS_INIT;
    return after_close(mpipool_set_hooks(stale, &h), m);
}
static int closed_bcast(const char **m) { return after_close(mpipool_broadcast(stale, "x", NULL, 0), m); }
static int closed_terminate(const char **m) { return after_close(mpipool_terminate(stale), m); }
static int closed_queries(const char **m) {
    CHECK(mpipool_rank(stale) == -1);
    CHECK(mpipool_size(stale) == 0);
    CHECK(mpipool_is_master(stale) == 0);
    CHECK(mpipool_shared(stale, "small", NULL) == NULL);
    *m = "";
    return MPIPOOL_OK;
}
static int closed_last_error(const char **m) {
    /* A stale handle reads the process-wide slot, never the freed pool. */
    mpipool_broadcast(stale, "x", NULL, 0);
    CHECK(mpipool_last_error(stale) == mpipool_last_error(NULL));
    return after_close(MPIPOOL_ECLOSED, m);
}
static int closed_wait_job(const char **m) {
    *m = "";
    if (world_rank != 0) return MPIPOOL_OK;
    /* Documented: a job handle stays valid after its pool closed. */
    int rc = mpipool_wait(done_job, 0.0);
    CHECK(mpipool_ready(done_job) == 1);
    CHECK_RC(mpipool_job_free(done_job), MPIPOOL_OK);
    done_job = NULL;
    return rc;
}

static const bad_case closed_cases[] = {
    CASE("mpipool_imap after close", MPIPOOL_ECLOSED, "mpipool_imap", "closed", closed_imap),
    CASE("mpipool_set_hooks after close", MPIPOOL_ECLOSED, "mpipool_set_hooks", "closed", closed_hooks),
    CASE("mpipool_broadcast after close", MPIPOOL_ECLOSED, "mpipool_broadcast", "closed", closed_bcast),
    CASE("mpipool_terminate after close", MPIPOOL_ECLOSED, "mpipool_terminate", "closed", closed_terminate),
    CASE("rank/size/is_master/shared on a closed pool", MPIPOOL_OK, NULL, NULL, closed_queries),
    CASE("mpipool_last_error on a closed pool", MPIPOOL_ECLOSED, "mpipool_broadcast", "closed",
         closed_last_error),
    CASE("mpipool_wait/ready/job_free after the pool closed", MPIPOOL_OK, NULL, NULL, closed_wait_job),
    END};

/* ---- the runner -------------------------------------------------------------- */

static int ncases;

static int run_table(const char *table, const bad_case *cases, int check_pool_after) {
    int bad = 0;
    for (const bad_case *c = cases; c->what; c++) {
        const char *m = "";
        char msg[KEEP_MAX];
        int rc = c->run(&m);
        snprintf(msg, sizeof msg, "%s", m); /* the pool check below clears the pool's message */
        int ok = rc == c->expect;
        if (ok && c->func) ok = strstr(msg, c->func) == msg; /* the message starts with the function */
        if (ok && c->mention) ok = strstr(msg, c->mention) != NULL;
        if (ok && check_pool_after && !pool_works()) {
            fprintf(stderr, "[rank %d] %s: %s: the pool no longer runs a map\n", world_rank, table, c->what);
            ok = 0;
        }
        if (!ok) {
            fprintf(stderr, "[rank %d] FAIL %s: %s: returned %s, expected %s; message \"%s\" should start "
                    "with \"%s\" and hold \"%s\"\n", world_rank, table, c->what, mpipool_err_name(rc),
                    mpipool_err_name(c->expect), msg, c->func ? c->func : "", c->mention ? c->mention : "");
            harness_failed = bad = 1;
        } else if (world_rank == 0) {
            printf("ok   %-10s %-56s %-17s %s\n", table, c->what, mpipool_err_name(rc), msg);
        }
        ncases++;
    }
    return bad;
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    unsetenv("MPIPOOL_PIECE_BYTES");

    /* No pool open: every rank, in step (open is collective). */
    run_table("env", env_cases, 0);
    run_table("setup", setup_cases, 0);

    int rc = mpipool_open_comm(&pool, MPI_COMM_WORLD);
    CHECK_RC(rc, MPIPOOL_OK);
    if (rc != MPIPOOL_OK) return harness_finish("test_badinput");
    run_table("collective", collective_cases, 0);

    if (mpipool_is_master(pool)) {
        run_table("master", master_cases, 1);
        run_table("journal", journal_cases, 1);
        done_job = start_job();
        stale = pool;
        CHECK_RC(mpipool_close(pool), MPIPOOL_OK);
    } else {
        stale = pool;
        CHECK_RC(mpipool_serve(pool), MPIPOOL_OK);
    }
    pool = NULL;
    run_table("closed", closed_cases, 0);
    if (world_rank == 0) printf("test_badinput: %d cases\n", ncases);
    return harness_finish("test_badinput");
}
