/*
 * mpipool.h — Python's multiprocessing.Pool, in C, over MPI.
 *
 * This is the only header users include.  Rank 0 of the pool's communicator
 * is the master: it hands chunks of work items to the worker ranks and gathers
 * the results back, in input order.  Every other rank is a worker and spends
 * its life inside mpipool_serve().
 *
 *     static int square(mpipool_task *t) {
 *         int x = *(const int *)t->in;
 *         *(int *)t->out = x * x;
 *         return 0;
 *     }
 *     MPIPOOL_TASK_TYPED(square, int, int);   // or MPIPOOL_TASK(square)
 *
 *     int main(int argc, char **argv) {
 *         mpipool *pool;
 *         // workers serve inside mpipool_start and never return from it
 *         if (mpipool_start(&pool, &argc, &argv) != MPIPOOL_OK) return 1;
 *         int in[100], out[100];
 *         for (int i = 0; i < 100; i++) in[i] = i;
 *         int rc = MPIPOOL_MAP(pool, square, in, out, 100, NULL);
 *         int rc2 = mpipool_close(pool);
 *         return mpipool_exit_status(rc != MPIPOOL_OK ? rc : rc2);
 *     }
 *
 * Conventions used in the comments below:
 *   Collective   every rank of the pool's communicator must call it.
 *   Master only  call it on rank 0 only; elsewhere it returns MPIPOOL_ENOTMASTER.
 *   Worker only  call it on ranks other than 0.
 *   Any rank     local, no communication.
 * Every fallible call returns MPIPOOL_OK (0) or a negative MPIPOOL_E... code.
 * The library never calls exit() or MPI_Abort(), with one documented
 * exception: mpipool_start ends a worker process once the master closed the
 * pool (that is what the call is for).  Signals change nothing unless the
 * program asks (mpipool_catch_signals).  Use one pool from one thread; the
 * calls on a closed pool, and mpipool_close while another thread is inside
 * a call on the pool, are refused (MPIPOOL_ECLOSED, MPIPOOL_EBUSY), never
 * undefined.
 */
#ifndef MPIPOOL_H
#define MPIPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MPIPOOL_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define MPIPOOL_EXTERN __attribute__((visibility("default")))
#else
#define MPIPOOL_EXTERN
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MPIPOOL__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MPIPOOL__PRINTF(f, a)
#endif

/* ---- version ----------------------------------------------------------- */

#define MPIPOOL_VERSION_MAJOR 0
#define MPIPOOL_VERSION_MINOR 1
#define MPIPOOL_VERSION_PATCH 0
#define MPIPOOL_VERSION_STRING "0.1.0"
/* MAJOR << 16 | MINOR << 8 | PATCH, comparable with mpipool_version(). */
#define MPIPOOL_VERSION_HEX \
    ((MPIPOOL_VERSION_MAJOR << 16) | (MPIPOOL_VERSION_MINOR << 8) | MPIPOOL_VERSION_PATCH)

/* The version of the library actually linked, as MPIPOOL_VERSION_HEX.  Any rank. */
MPIPOOL_EXTERN unsigned mpipool_version(void);
/* The same as a "MAJOR.MINOR.PATCH" string owned by the library.  Any rank. */
MPIPOOL_EXTERN const char *mpipool_version_string(void);

/* ---- errors ------------------------------------------------------------ */

/* XX(name, value, description).  One list generates the enum,
 * mpipool_strerror() and mpipool_err_name(). */
#define MPIPOOL_ERRNO_MAP(XX)                                                       \
    XX(EINVAL, -1, "invalid argument")                                              \
    XX(ENOMEM, -2, "out of memory")                                                 \
    XX(EMPI, -3, "an MPI call failed")                                              \
    XX(ETASK, -4, "a task failed")                                                  \
    XX(ENOTREG, -5, "task function is not registered")                              \
    XX(EMISMATCH, -6, "ranks registered different task functions")                  \
    XX(ENOTMASTER, -7, "operation is for the master rank only")                     \
    XX(ENOTWORKER, -8, "operation is for worker ranks only")                        \
    XX(ECLOSED, -9, "pool is closed or was never opened")                           \
    XX(EEXIST, -10, "task name already registered to another function")             \
    XX(EBUSY, -11, "task registry is frozen while a pool is open")                  \
    XX(EOVERFLOW, -12, "size too large")                                            \
    XX(EPROTO, -13, "unexpected message from another rank")                        \
    XX(ETIMEDOUT, -14, "timed out; the job goes on")                               \
    XX(ECANCELED, -15, "job cancelled")                                            \
    XX(EINIT, -16, "a worker init hook failed")                                    \
    XX(EJOURNAL, -17, "journal unusable: another job's, corrupted, or an I/O error") \
    XX(EINTR, -18, "interrupted by a signal; finished results are saved: run again to resume") \
    XX(EOF, -19, "end of the stream: every result was returned")

typedef enum {
    MPIPOOL_OK = 0,
#define MPIPOOL__ERR_ENUM(name, value, text) MPIPOOL_##name = (value),
    MPIPOOL_ERRNO_MAP(MPIPOOL__ERR_ENUM)
#undef MPIPOOL__ERR_ENUM
} mpipool_status;

/* A static description of `code` ("a task failed"); "unknown error" for an
 * unknown code.  Never NULL.  Any rank. */
MPIPOOL_EXTERN const char *mpipool_strerror(int code);
/* The code's name ("MPIPOOL_ETASK"); "MPIPOOL_UNKNOWN" for an unknown code.
 * Never NULL.  Any rank. */
MPIPOOL_EXTERN const char *mpipool_err_name(int code);

/* ---- tasks ------------------------------------------------------------- */

/* What a task function sees for one item.  The library owns every pointer. */
typedef struct mpipool_task {
    const void *in;  /* this item: in_size bytes, read-only                       */
    size_t in_size;
    void *out;       /* fixed: room for out_size bytes, zeroed; variable: NULL/0
                        until mpipool_task_output() gives room                  */
    size_t out_size;
    size_t index;    /* the item's position in its map (0-based)                 */
    int rank;        /* the rank running it (0 only in a one-rank pool)          */
    void *state;     /* what this worker's init hook returned (mpipool_set_hooks) */
    size_t count;    /* items in this call: 1 for a task; for a batch task
                        (mpipool_register_batch) `count` consecutive items:
                        in holds count * in_size bytes, out count * out_size,
                        index is the first one's                             */
    const void *internal_; /* the library's; a task it did not make has NULL here,
                              and mpipool_task_fail/_output/_shared refuse it    */
} mpipool_task;

/* A byte buffer of any length: a variable-size item or result. */
typedef struct mpipool_buf {
    void *data;
    size_t size;
} mpipool_buf;

/* Pass as in_size / out_size to mpipool_map (and _async) for items or
 * results of any length: `in` is then an array of n mpipool_buf (each item
 * data/size; the caller keeps ownership), `out` an array of n mpipool_buf
 * the map fills with malloc'd results (data NULL for an empty or failed
 * result) that the caller frees with free(). */
#define MPIPOOL_VARIABLE ((size_t)-1)

/* Room for this item's result of `size` bytes (0 allowed), valid until the
 * task returns; task->out/out_size are updated to it.  For variable-size
 * results (MPIPOOL_VARIABLE, imap) this is how a task produces its result;
 * calling it again replaces the room (contents not kept).  For fixed-size
 * results it returns task->out if size <= out_size.  NULL when out of
 * memory, or size > out_size (fixed), or a task the library did not make.
 * Call it only from inside the task. */
MPIPOOL_EXTERN void *mpipool_task_output(mpipool_task *task, size_t size);

/* A task: 0 = success, anything else = the item failed.  A failed item does
 * not stop the map: the other items still run and keep their results. */
typedef int (*mpipool_fn)(mpipool_task *task);

/* Attach a message to a failing item and return MPIPOOL_ETASK, so a task can
 * `return mpipool_task_fail(t, "bad value %d", v);`.  The message (truncated
 * to 511 bytes) reaches the master's mpipool_last_error().  Call it only on
 * the task passed to your function, from inside that function: on a task
 * the library did not make (e.g. one a unit test of the task function
 * built) it writes nothing and returns MPIPOOL_EINVAL. */
MPIPOOL_EXTERN int mpipool_task_fail(mpipool_task *task, const char *fmt, ...)
    MPIPOOL__PRINTF(2, 3);

/* Register `fn` under `name` (copied) on this rank.  Task functions are known
 * by name because addresses differ between ranks; every rank must register
 * the same set before mpipool_open(), which checks that they did.
 * Registering the same (name, fn) twice is harmless.
 * Returns MPIPOOL_EINVAL (NULL or empty name, NULL fn), MPIPOOL_EEXIST (name
 * taken by another function), MPIPOOL_EBUSY (a pool is open), MPIPOOL_ENOMEM;
 * the reason is then in mpipool_last_error(NULL).
 * Any rank, before mpipool_open(). */
MPIPOOL_EXTERN int mpipool_register(const char *name, mpipool_fn fn);

/* Register `fn` under its own name on every rank before main() runs.
 * Use at file scope: `MPIPOOL_TASK(square);`.  A registration error here has
 * nobody to return to, so it is kept and reported by mpipool_open().
 * With GCC or clang it also emits a loop over items that calls `fn` by
 * name: in maps of fixed-size items the library calls that loop, so a
 * `static` task defined before the macro is inlined into it and a cheap
 * task costs about what a batch task does (MPIPOOL_BATCH_TASK), with the
 * task's per-item contract unchanged.  mpipool_register() gets no loop. */
#define MPIPOOL_TASK(fn)                                                           \
    MPIPOOL__LOOP(fn, mpipool__t->in_size, mpipool__t->out_size, 0)                \
    static void mpipool__register_##fn(void) __attribute__((constructor));        \
    static void mpipool__register_##fn(void) {                                     \
        mpipool__register_deferred(#fn, fn);                                       \
        MPIPOOL__REGISTER_LOOP(fn, 0);                                             \
    }                                                                              \
    typedef int mpipool__task_##fn##_registered

/* Implementation detail of MPIPOOL_TASK; not for direct use. */
MPIPOOL_EXTERN void mpipool__register_deferred(const char *name, mpipool_fn fn);

/* Implementation detail of MPIPOOL_TASK and MPIPOOL_TASK_TYPED; not for
 * direct use.  Beside the registration, each emits a static loop that runs
 * `count` consecutive fixed-size items through `fn`, called by name so
 * that the compiler can inline a static task into it: the per-item cost
 * of a map becomes the task's own.  The loop keeps a task's per-item
 * contract (in, out, index, state, mpipool_task_fail per item) and stops
 * at the first failing item, returning how many succeeded before it (its
 * return value in *rc) so that the library records it and goes on.  The
 * task gets a copy of the library's task, whose fields the compiler may
 * keep in registers; the copy's internal_ still names the library's, so
 * mpipool_task_fail and friends find their context.  The signal fences
 * keep the library's task->index exact for a crash report: the store of
 * an item's index comes after every access of the item before it and
 * before every access of its own.  `zeroes`: the loop zeroes each result
 * itself (sizes known at compile time, so the compiler drops the zeroing
 * where the task writes the whole result).  Compilers other than GCC and
 * clang get no loop, and the library calls the task per item. */
typedef size_t (*mpipool__loop_fn)(mpipool_task *task, const char *in, char *out, size_t first,
                                   size_t count, const int *refused, int *rc);
MPIPOOL_EXTERN void mpipool__register_loop(mpipool_fn fn, mpipool__loop_fn loop, int zeroes);
#if defined(__GNUC__) || defined(__clang__)
#define MPIPOOL__LOOP(fn, isz, osz, zero)                                                          \
    static size_t mpipool__loop_##fn(mpipool_task *mpipool__t, const char *mpipool__in,            \
                                     char *mpipool__out, size_t mpipool__first, size_t mpipool__n, \
                                     const int *mpipool__refused, int *mpipool__rc) {              \
        mpipool_task mpipool__l = *mpipool__t;                                                     \
        volatile size_t *mpipool__index = &mpipool__t->index;                                      \
        size_t mpipool__isz = (isz), mpipool__osz = (osz);                                         \
        for (size_t mpipool__i = 0; mpipool__i < mpipool__n; mpipool__i++) {                       \
            __atomic_signal_fence(__ATOMIC_SEQ_CST);                                               \
            *mpipool__index = mpipool__first + mpipool__i;                                         \
            __atomic_signal_fence(__ATOMIC_SEQ_CST);                                               \
            char *mpipool__o = mpipool__out + mpipool__i * mpipool__osz;                           \
            mpipool__l.in = mpipool__in + mpipool__i * mpipool__isz;                               \
            mpipool__l.out = mpipool__o;                                                           \
            mpipool__l.out_size = mpipool__osz;                                                    \
            mpipool__l.index = mpipool__first + mpipool__i;                                        \
            if (zero) __builtin_memset(mpipool__o, 0, mpipool__osz);                               \
            int mpipool__r = fn(&mpipool__l);                                                      \
            if (mpipool__r != 0 || *mpipool__refused) {                                            \
                *mpipool__rc = mpipool__r;                                                         \
                return mpipool__i;                                                                 \
            }                                                                                      \
        }                                                                                          \
        return mpipool__n;                                                                         \
    }
#define MPIPOOL__REGISTER_LOOP(fn, zero) mpipool__register_loop(fn, mpipool__loop_##fn, (zero))
#else
#define MPIPOOL__LOOP(fn, isz, osz, zero)
#define MPIPOOL__REGISTER_LOOP(fn, zero) ((void)0)
#endif

/* MPIPOOL_TASK that also records the sizes of the task's item and result
 * types, so that a map with other sizes is refused instead of running with
 * the wrong ones:  `MPIPOOL_TASK_TYPED(square, long long, long long);`.
 * mpipool_map (and _async, mpipool_apply) with in_size != sizeof(in_type)
 * or out_size != sizeof(out_type) returns MPIPOOL_EINVAL naming the task and
 * both sizes.  Use with MPIPOOL_MAP, which takes the sizes from the arrays. */
#define MPIPOOL_TASK_TYPED(fn, in_type, out_type)                                  \
    MPIPOOL__LOOP(fn, sizeof(in_type), sizeof(out_type), 1)                        \
    static void mpipool__register_##fn(void) __attribute__((constructor));        \
    static void mpipool__register_##fn(void) {                                     \
        mpipool__register_deferred_typed(#fn, fn, sizeof(in_type), sizeof(out_type)); \
        MPIPOOL__REGISTER_LOOP(fn, 1);                                             \
    }                                                                              \
    typedef int mpipool__task_##fn##_registered

/* Implementation detail of MPIPOOL_TASK_TYPED; not for direct use. */
MPIPOOL_EXTERN void mpipool__register_deferred_typed(const char *name, mpipool_fn fn, size_t in_size,
                                                     size_t out_size);

/* mpipool_map with the item and result sizes taken from the element types
 * of the arrays `in` and `out` (which must be arrays or typed pointers, not
 * void *):  `rc = MPIPOOL_MAP(pool, square, in, out, n, NULL);`. */
#define MPIPOOL_MAP(pool, fn, in, out, n, options) \
    mpipool_map((pool), (fn), (in), sizeof *(in), (out), sizeof *(out), (n), (options))

/* Register `fn` under `name` as a batch task: one call runs a whole run of
 * consecutive fixed-size items (task->count of them, in and out back to
 * back, task->index the first item's): the loop is yours and the
 * compiler can vectorise it.  Since MPIPOOL_TASK inlines a plain task
 * into a loop of its own, a batch task is rarely worth it: when the
 * vectorised loop matters, or to share set-up between items.  The library decides how many items
 * a call gets (a chunk, a static share, or a piece of one).
 * Differences from a task: `out` is not zeroed first (write every item's
 * result); a non-zero return fails every item of the call, with the one
 * message of mpipool_task_fail(); maps with MPIPOOL_VARIABLE sizes and
 * imap refuse batch tasks (MPIPOOL_EINVAL).  With max_tasks_per_worker, a
 * call is cut so that a renewal falls between calls and each item counts
 * as one task.  Returns as mpipool_register(); a function or name already
 * registered as the other kind gives MPIPOOL_EEXIST.  Any rank, before
 * mpipool_open(). */
MPIPOOL_EXTERN int mpipool_register_batch(const char *name, mpipool_fn fn);

/* mpipool_register_batch(#fn, fn) before main() runs, like MPIPOOL_TASK. */
#define MPIPOOL_BATCH_TASK(fn)                                                     \
    static void mpipool__register_##fn(void) __attribute__((constructor));        \
    static void mpipool__register_##fn(void) { mpipool__register_deferred_batch(#fn, fn); } \
    typedef int mpipool__task_##fn##_registered

/* Implementation detail of MPIPOOL_BATCH_TASK; not for direct use. */
MPIPOOL_EXTERN void mpipool__register_deferred_batch(const char *name, mpipool_fn fn);

/* ---- the pool ---------------------------------------------------------- */

typedef struct mpipool mpipool;

/* Open a pool over all ranks of MPI_COMM_WORLD.  Initialises MPI if the
 * program has not (and then the pool finalises it when it closes), duplicates
 * the communicator, and checks that every rank registered the same tasks.
 * `argc`/`argv` are passed to MPI_Init and may be NULL.
 * On success *pool is the new pool.  On failure *pool is NULL, every rank
 * returns the same code, and mpipool_last_error(NULL) says why (for
 * MPIPOOL_EMISMATCH: which functions differ, and on which ranks).
 * Returns MPIPOOL_EINVAL (pool NULL; or the master's MPIPOOL_PIECE_BYTES is
 * set to something other than digits), MPIPOOL_EMPI, MPIPOOL_EMISMATCH,
 * MPIPOOL_EEXIST, MPIPOOL_ENOMEM.  Collective over MPI_COMM_WORLD. */
MPIPOOL_EXTERN int mpipool_open(mpipool **pool, int *argc, char ***argv);

/* The first call of a program shaped like Python's: open the pool (as
 * mpipool_open), and on a worker serve until the master closes the pool,
 * then END THE WORKER PROCESS with exit(mpipool_exit_status(serve's
 * result)) — the one documented place where the library ends a process.
 * So the code after it runs on the master only:
 *
 *     mpipool *pool;
 *     if (mpipool_start(&pool, &argc, &argv) != MPIPOOL_OK) return 1;
 *     int rc = MPIPOOL_MAP(pool, square, in, out, n, NULL);
 *     int rc2 = mpipool_close(pool);
 *     return mpipool_exit_status(rc != MPIPOOL_OK ? rc : rc2);
 *
 * Returns MPIPOOL_OK on the master, or on every rank the code
 * mpipool_open would return (then nothing is served and *pool is NULL).
 * Programs whose workers do more than serve use mpipool_open,
 * mpipool_is_master and mpipool_serve instead.  Collective over
 * MPI_COMM_WORLD. */
MPIPOOL_EXTERN int mpipool_start(mpipool **pool, int *argc, char ***argv);

/* The exit status for a program ending with the result `rc` of its last
 * mpipool call: 0 for MPIPOOL_OK, MPIPOOL_EXIT_RESUMABLE (75, "run me
 * again": the batch script requeues) for MPIPOOL_EINTR, 1 for any other
 * code.  `return mpipool_exit_status(rc);` at the end of main keeps the
 * Slurm requeue contract of "Journal and resume".  Any rank. */
MPIPOOL_EXTERN int mpipool_exit_status(int rc);

/* Ask the library to handle SIGTERM and SIGINT in the pools opened from now
 * on (where the signal's disposition is still the default; a program's own
 * handler, or SIG_IGN, stays in charge).  The handler only sets a flag: on
 * the master, mpipool_map, mpipool_apply, mpipool_imap and mpipool_wait then
 * hand out no more work, wait for the chunks already on workers (a running
 * task is not interrupted), make the journal durable and return
 * MPIPOOL_EINTR, and so does every later blocking call; mpipool_close then
 * stops the workers.  A worker that caught the signal itself (a launcher or
 * batch system signals every rank) returns MPIPOOL_EINTR from mpipool_serve
 * too (mpipool_start's workers exit with MPIPOOL_EXIT_RESUMABLE); one that
 * did not (a signal to the master alone) returns MPIPOOL_OK and exits 0:
 * the master's status carries the interruption, and a worker's non-zero
 * exit while the master is still in MPI_Finalize makes Open MPI's launcher
 * abort the job and hold the master for a second.  Without this
 * call the library installs no signal handler — an environment variable
 * alone never changes how the process reacts to signals — and a signal acts
 * as it would without mpipool.  The handlers are restored when the last
 * pool closes.  `flags` must be 0 (MPIPOOL_EINVAL otherwise).  Any rank,
 * every rank alike, before mpipool_open / mpipool_start. */
MPIPOOL_EXTERN int mpipool_catch_signals(unsigned flags);

/* Open a pool over `comm` in a program that already initialised MPI; rank 0
 * of `comm` is the master.  The pool talks only on its own duplicate of
 * `comm`, so it never sees the caller's messages.  MPI is not finalised by
 * the pool.  Returns as mpipool_open(), plus MPIPOOL_EINVAL when MPI is not
 * initialised or comm is MPI_COMM_NULL.  Collective over `comm`. */
MPIPOOL_EXTERN int mpipool_open_comm(mpipool **pool, MPI_Comm comm);

/* 1 on the master (rank 0), 0 on a worker or for a NULL or closed pool.
 * Any rank. */
MPIPOOL_EXTERN int mpipool_is_master(const mpipool *pool);

/* This rank in the pool's communicator; -1 for a NULL or closed pool.
 * Any rank. */
MPIPOOL_EXTERN int mpipool_rank(const mpipool *pool);

/* The number of ranks that run tasks: communicator size - 1, or 1 for a
 * one-rank pool (where the master runs the tasks itself).  0 for a NULL or
 * closed pool.
 * Any rank. */
MPIPOOL_EXTERN int mpipool_size(const mpipool *pool);

/* Worker loop: run the master's tasks until the master closes the pool, then
 * close this rank's side of it (freeing `pool`, and finalising MPI if
 * mpipool_open initialised it).  `pool` must not be used afterwards.
 * Returns MPIPOOL_OK when the master closed the pool normally;
 * MPIPOOL_EINTR when this worker caught a signal itself
 * (mpipool_catch_signals; a signal to the master alone leaves MPIPOOL_OK);
 * MPIPOOL_ENOTWORKER on the master (nothing is freed); MPIPOOL_ECLOSED for a
 * pool that is not open; MPIPOOL_EMPI or MPIPOOL_EPROTO if the loop broke,
 * after printing one line naming the rank on stderr.  Worker only. */
MPIPOOL_EXTERN int mpipool_serve(mpipool *pool);

/* Close the pool and free it.  On the master: wait for every job in flight
 * to finish (Pool.close() + join()), stop the workers, free the
 * communicator, finalise MPI if mpipool_open initialised it.  On a worker it
 * behaves as mpipool_serve(): it serves until the master closes.
 * NULL is a no-op returning MPIPOOL_OK; a pool already closed returns
 * MPIPOOL_ECLOSED and touches nothing — a closed or terminated pool's
 * handle stays closed for ever, whatever address a later pool gets.  While
 * another thread is inside a call on the pool (blocked in mpipool_map or
 * mpipool_wait, say) it returns MPIPOOL_EBUSY and changes nothing.  After a
 * signal (mpipool_catch_signals) a worker's mpipool_serve returns
 * MPIPOOL_EINTR if that worker caught it too.  If stopping the workers fails
 * (MPIPOOL_EMPI) the pool is freed all the same and the detail is in
 * mpipool_last_error(NULL).  Collective (the master's call releases the
 * workers). */
MPIPOOL_EXTERN int mpipool_close(mpipool *pool);

/* The detail of the last error on this pool, naming the function and, for a
 * task failure, the task, item, rank and message, e.g.
 * "mpipool_map: task 'square' failed on item 17 at rank 3: value out of range",
 * followed by " (and more items failed)" when others failed too; a task that
 * failed without mpipool_task_fail() shows "returned <its return value>".
 * "" when there was none.  With pool == NULL (or a pool that is not open):
 * the reason the last call that had no open pool to report on failed: an
 * mpipool_open/mpipool_open_comm, a call on a closed pool, or a close or
 * serve that freed the pool as it failed.
 * The string belongs to the library and is valid until the next call on the
 * pool.  Any rank. */
MPIPOOL_EXTERN const char *mpipool_last_error(const mpipool *pool);

/* ---- worker set-up and shared data ----------------------------------------
 * Pool(initializer, initargs): hooks that give each worker its own state,
 * and read-only data shipped once from the master to every rank.  Both are
 * collective calls made after mpipool_open and before the workers enter
 * mpipool_serve, so a failure is known to every rank at once:
 *
 *     mpipool_open(&pool, &argc, &argv);
 *     mpipool_broadcast(pool, "table", table, table_bytes); // workers: NULL, 0
 *     mpipool_set_hooks(pool, &hooks);                      // init may read "table"
 *     if (!mpipool_is_master(pool)) return mpipool_serve(pool) ? 1 : 0;
 */

/* Called on each rank that runs tasks (the workers; the master too in a
 * one-rank pool).  init returns 0 and sets *state (passed to every task as
 * task->state), or non-zero to fail. */
typedef int (*mpipool_init_fn)(mpipool *pool, void *arg, void **state);
typedef void (*mpipool_fini_fn)(mpipool *pool, void *arg, void *state);

typedef struct mpipool_hooks {
    mpipool_init_fn init;        /* may be NULL                                   */
    mpipool_fini_fn fini;        /* may be NULL; runs when the pool closes        */
    void *arg;                   /* passed to both (initargs); caller-owned       */
    size_t max_tasks_per_worker; /* Pool's maxtasksperchild: after this many tasks
                                    a worker runs fini then init again, renewing
                                    its state (ranks are not respawned); 0 = never */
    unsigned flags;              /* must be 0 for now                             */
    void *reserved[4];           /* must be NULL                                  */
} mpipool_hooks;
#define MPIPOOL_HOOKS_INIT {NULL, NULL, NULL, 0, 0u, {0}}

/* Install `hooks` (copied) and run init now on every rank that runs tasks.
 * Every rank passes its own hooks (the same program's functions).  If init
 * fails anywhere, ranks whose init succeeded run fini, no hooks are
 * installed, and every rank returns MPIPOOL_EINIT with a message naming the
 * lowest failing rank and what init returned.  Calling it again replaces
 * the hooks (fini runs for the old state first).  Returns also
 * MPIPOOL_EINVAL (bad hooks on some rank), MPIPOOL_ECLOSED, MPIPOOL_EMPI.
 * Collective, before the workers serve. */
MPIPOOL_EXTERN int mpipool_set_hooks(mpipool *pool, const mpipool_hooks *hooks);

/* Ship `size` bytes of read-only data from the master to every rank under
 * `name` (a copy is kept on each rank, the master included, until the pool
 * closes; the same name again replaces it).  Workers pass the same name and
 * NULL, 0 (their data arguments are ignored).  Any size: sent in pieces
 * of at most the pool's piece size (1 GiB; see docs/errors.md, "Limits").
 * Returns MPIPOOL_EINVAL (empty name; data NULL with size > 0 on the
 * master), MPIPOOL_ENOMEM (some rank could not hold it: nothing changes
 * anywhere), MPIPOOL_ECLOSED, MPIPOOL_EMPI; the same on every rank.
 * Collective, before the workers serve. */
MPIPOOL_EXTERN int mpipool_broadcast(mpipool *pool, const char *name, const void *data, size_t size);

/* The data broadcast under `name` on this rank (size in *size if not
 * NULL), or NULL if there is none (a name broadcast with 0 bytes gives a
 * non-NULL pointer and size 0).  Owned by the pool, valid until it
 * closes.  Any rank. */
MPIPOOL_EXTERN const void *mpipool_shared(const mpipool *pool, const char *name, size_t *size);

/* The same from inside a task (tasks have no pool pointer). */
MPIPOOL_EXTERN const void *mpipool_task_shared(const mpipool_task *task, const char *name, size_t *size);

/* ---- map --------------------------------------------------------------- */

typedef enum {
    /* Self-scheduling in chunks (the default): workers ask for more as they
     * finish, chunk sizes shrink towards the end (guided), each worker keeps
     * two chunks in flight while work remains (one in a heavy-tailed map of
     * long items and few items a worker: mpipool(7), "Heavy tails"; more,
     * up to about 50 us of work, when a chunk_size makes chunks shorter
     * than a round trip: mpipool(7), "Scheduling"). Best
     * for uneven work: at the end of a map, a worker held up by a long item
     * gives back the items queued behind it (mpipool(7), "Reclamation"). */
    MPIPOOL_SCHEDULE_DYNAMIC = 0,
    /* One MPI_Scatterv of equal shares, one MPI_Gatherv of the results.
     * Fastest for uniform work; no load balancing. */
    MPIPOOL_SCHEDULE_STATIC = 1
} mpipool_schedule;

/* What a failing item does to the rest of its map. */
typedef enum {
    /* Every item runs; the map returns MPIPOOL_ETASK at the end if any
     * failed (the default, like Pool.map running every item). */
    MPIPOOL_ON_ERROR_CONTINUE = 0,
    /* After the first failure no new chunk of the map is started; chunks
     * already sent still finish and keep their results; items never run are
     * reported as MPIPOOL_ECANCELED in `status`.  (A one-rank pool stops
     * right after the failing item.) */
    MPIPOOL_ON_ERROR_STOP = 1
} mpipool_on_error;

typedef struct mpipool_map_options {
    mpipool_schedule schedule; /* default MPIPOOL_SCHEDULE_DYNAMIC                  */
    size_t chunk_size;         /* items per chunk in dynamic mode; 0 = automatic    */
    mpipool_on_error on_error; /* default MPIPOOL_ON_ERROR_CONTINUE                  */
    size_t max_failures;       /* stop (as ON_ERROR_STOP) once this many items have
                                  failed; 0 = no limit                               */
    int *status;               /* NULL, or n entries the map fills: MPIPOOL_OK,
                                  MPIPOOL_ETASK (failed) or MPIPOOL_ECANCELED
                                  (never ran).  Caller-owned; must live until the
                                  job is finished.                                   */
    char **messages;           /* NULL, or n entries the map fills: NULL for items
                                  that did not fail, else the failure message in a
                                  malloc'd string the caller frees with free().     */
    unsigned flags;            /* 0, or MPIPOOL_MAP_PROGRESS, MPIPOOL_MAP_HIERARCHY,
                                  MPIPOOL_MAP_FLAT, MPIPOOL_MAP_ORDERED_OUTPUT or'ed;
                                  other bits are refused                            */
    const char *journal;       /* NULL: the file named by the environment variable
                                  MPIPOOL_JOURNAL, if set; a path: journal this map
                                  there; "": no journal, whatever the environment
                                  says.  Caller-owned; read during the call only
                                  (the library keeps its own copy).  See "Journal
                                  and resume" below.  (Took one reserved slot.)    */
    double task_timeout;       /* seconds one task (one item) may run; 0 = no limit.
                                  A task that runs longer is reported with its item
                                  and rank, and its worker process is ended (the
                                  only way to stop a task that never returns); the
                                  item fails with status MPIPOOL_ETIMEDOUT.  With
                                  in-job recovery the map goes on without that
                                  worker; without it the launcher ends the job.
                                  Measured by the worker's watchdog to within
                                  max(50 ms, a tenth of the limit).  (Took one
                                  reserved slot.)                                   */
    void *reserved[2];         /* must be NULL: room to grow without an ABI break   */
} mpipool_map_options;

/* options->flags bit: show this job's progress on the master's stderr — a
 * bar redrawn in place (items done/total, items per second, ETA; at most
 * five redraws a second) when stderr is a terminal, else a plain line every
 * 10 s; a last line when the job finishes.  Never on stdout.  The
 * environment variable MPIPOOL_PROGRESS=1 does the same for every map and
 * imap without changing the program ("bar" or "log" force a style: under
 * mpiexec stderr is a pipe, not the terminal; MPIPOOL_PROGRESS_INTERVAL=S
 * sets the seconds between lines).  Also accepted in
 * mpipool_imap_options.flags (no total, so no ETA). */
#define MPIPOOL_MAP_PROGRESS 0x1u
/* options->flags bits: use the hierarchy for this map whatever the pool's
 * size and MPIPOOL_HIERARCHY say, or never (see "Scale" below).  Both at
 * once is MPIPOOL_EINVAL.  Only fixed-size dynamic maps use the hierarchy;
 * for other maps these bits change nothing. */
#define MPIPOOL_MAP_HIERARCHY 0x2u
#define MPIPOOL_MAP_FLAT 0x4u
/* What tasks print to stdout and stderr is captured on the worker, sent
 * back with the results, and printed on the master in item order (as GNU
 * parallel -k does): the output of item i appears after that of every item
 * before it, and all of it before the map returns.  Without it, task output
 * is forwarded by the launcher, unordered.  It costs a redirect per task;
 * such maps are dynamic and flat.  Not for imap (refused). */
#define MPIPOOL_MAP_ORDERED_OUTPUT 0x8u

/* Initialise `opts` to the defaults (what passing NULL means). */
#define MPIPOOL_MAP_OPTIONS_INIT {MPIPOOL_SCHEDULE_DYNAMIC, 0, MPIPOOL_ON_ERROR_CONTINUE, 0, NULL, NULL, 0u, NULL, 0.0, {0}}
MPIPOOL_EXTERN void mpipool_map_options_init(mpipool_map_options *opts);

/* ---- scale: hierarchical dispatch ----------------------------------------
 * One master serves about one chunk per ~2 us of its CPU (a send, a receive,
 * the bookkeeping).  Chunks therefore never get shorter than 2 * 2 us per
 * rank the master serves (2 us at the end of a flat map, where the
 * imbalance is about one chunk), and from MPIPOOL__HIER_AUTO_WORKERS (512) workers
 * on, fixed-size dynamic maps use a hierarchy: the master hands chunks
 * sized for a whole group to group leaders (ranks 1, 1 + G, 1 + 2G, ...),
 * and each leader schedules them among the G - 1 ranks after it, runs items
 * itself between serving them (items over ~50 us that look even: only once
 * each member holds a second share, so none waits while the leader
 * computes; items of 0.5 ms or more that look even: each chunk split
 * evenly, one share a rank, the leader running its own part while its
 * members stay busy, and once every leader says its items look so, the
 * master gives each group exactly its part of the map, items x its ranks /
 * workers, as a static split would, half of what is left a chunk and the
 * last 16 items a rank at once), and answers the master in bulk, a chunk at a time in the
 * order they came (a leader whose members ran dry behind a share running
 * for over 1 ms says so, and the master sends it one chunk more).  Where
 * items take 0.5 ms or more and some take far longer than the mean (heavy
 * tails), a leader of 5 ranks or more runs none itself and hands each
 * member one item at a time, so that no item waits behind a long one on a
 * leader or a member.  A group chunk is at most 64 KiB, and (items of
 * 0.5 ms or more) at most 5 ms of work a rank; while the workers could ask
 * the master's link for more than 125 MB/s (a tenth of 10 Gbps), at most
 * four of over 4 KiB cross it at once (sent with MPI_Issend), so that the
 * groups get theirs one after another rather than all together at the
 * end.  G is about
 * sqrt(workers) (16 at 256 workers, 64 at 4096), so the master and each
 * leader serve about as many ranks.  Nothing changes for the caller:
 * results are in order, failures name the item and the rank that ran it,
 * statuses/messages/journal work as before.  mpipool_stats() counts a
 * group's items and chunks under its leader.  Static maps, variable sizes,
 * imap and maps with options->chunk_size set (its boundaries are the task
 * calls') always go flat.
 *   MPIPOOL_HIERARCHY=auto|on|off   (master's environment; default auto)
 *   MPIPOOL_GROUP_SIZE=N            ranks per group, N >= 2 (default ~sqrt)
 *   MPIPOOL_PACE=auto|on|off        pace group chunks over the master's
 *                                   link (default auto: by the rate above)
 *   options->flags MPIPOOL_MAP_HIERARCHY / MPIPOOL_MAP_FLAT  per map
 * A bad setting fails mpipool_open with MPIPOOL_EINVAL on every rank.
 * Groups are runs of consecutive ranks: with the usual block mapping
 * (mpirun --map-by core, srun's default) a group shares a node.
 * Measured in simulation up to 4096 ranks: docs/scale.md and
 * bench/RESULTS.md, "Scale". */

/* ---- when a worker dies: in-job recovery --------------------------------
 * Where the launcher keeps the job alive after a rank dies (Open MPI's
 * `mpirun --enable-recovery`, Slurm's `--no-kill`), a worker's death costs
 * only the items it had: they run on the workers left and the map returns
 * as if nothing happened.  MPIPOOL_RECOVERY=auto (default: on under those
 * launchers) | on | off, and MPIPOOL_RECOVERY_TIMEOUT (seconds, default 5)
 * in the master's environment.  A worker holding work that is silent for
 * the timeout is taken for dead (each worker's watchdog thread sends
 * heartbeats while a task runs, so a long task is not silence); a task that
 * crashes names its item first.  An item running at the deaths of two
 * workers fails with MPIPOOL_ETASK ("worker died running item 17 (rank 3,
 * SIGSEGV; rank 5, SIGSEGV)").  While recovery is on, maps are dynamic and
 * flat.  All workers dead: the map fails with MPIPOOL_ECANCELED.  Without
 * such a launcher (plain mpirun, MPICH) a death ends the job, as before; the
 * master's death always does.  The map option task_timeout ends a worker
 * whose task overruns.  With a journal, an item that ended a worker is
 * recorded so that a resumed run does not die on it again ("journal and
 * resume" below).  Open MPI 4.1's `mpirun --enable-recovery` exits 0
 * whatever the ranks return.  Details: docs/recovery.md, mpipool(7). */

/* ---- journal and resume -------------------------------------------------
 * With a journal (options->journal, or MPIPOOL_JOURNAL in the master's
 * environment) the master appends each finished chunk's results to the file
 * with a checksum (one write() per chunk, so a process that dies loses
 * nothing collected), and syncs it to disk (fdatasync) once the oldest
 * unsynced record is 0.2 s old or 16 MiB are unsynced, when a map finishes
 * (at most ~5 times a second), at close and on a signal.  Running the same program again with the
 * same journal skips every item whose result is there: it is filled into
 * `out` (and `status` set to MPIPOOL_OK) without running; only the rest
 * run.  Failed items are not journalled: they run again.
 *
 * Items that ended a worker (issue 17) are journalled too, before the
 * master answers the dying worker, so a job the launcher then ends keeps
 * them: a resumed run does not send an item that overran its task_timeout
 * or was running at two workers' deaths (in one run with recovery, or
 * across runs): it fails at once, under the map's error policy, with
 * MPIPOOL_ETIMEDOUT or MPIPOOL_ETASK and "in an earlier run, worker died
 * running item 17 (rank 3, SIGSEGV; rank 1, SIGSEGV); not run again
 * (journal 'j')"; the other items run.  An item that crashed a worker once
 * runs once more, alone.  With a journal, workers run the watchdog thread
 * (which needs MPI_THREAD_SERIALIZED, what mpipool_open asks for) so that a
 * crash reaches the master even without recovery.  Not for mpipool_imap
 * (its items that ended a worker are not journalled).
 *
 * Each journalled map is keyed by its number among the program's
 * journalled maps on that file (0, 1, ...), the task's name, n, the item and
 * result sizes and a digest of the inputs: a journal from another job (or
 * the same program with other inputs) is refused with MPIPOOL_EJOURNAL
 * naming the function and the file, before anything runs.  A torn last
 * record (the job died mid-write) is ignored; a corrupted one is
 * MPIPOOL_EJOURNAL.  A journal that cannot be written during the map does
 * not stop it: every item still runs, and the map returns MPIPOOL_EJOURNAL
 * (if it would have returned MPIPOOL_OK) with the reason.
 *
 * Journalled: mpipool_map, mpipool_map_async and mpipool_apply(_async), with
 * fixed or variable sizes, dynamic or static (a static map is journalled
 * when its gather completes; a resumed static map runs the rest dynamically).
 * mpipool_imap too (MPIPOOL_JOURNAL, or mpipool_imap_options.journal): each
 * chunk's results are journalled as they arrive, and a resumed imap still
 * calls the source for every index (so it stays in step) but sends no
 * journalled item to a worker: its result is read back from the file and
 * given to the sink in the usual order; the master holds only an index of
 * the journalled runs of items, never their results.  An imap's key is its
 * number on the journal file and its task: a changed input stream is NOT
 * detected (the source's items are not digested), so resume an imap only
 * over the same input.
 *
 * Signals: with mpipool_catch_signals(0) called before the pool opens,
 * SIGTERM or SIGINT (a batch system's time limit, Ctrl-C) makes the
 * blocking calls stop handing out work, wait for the chunks already on
 * workers (journalled too), make the journal durable and return
 * MPIPOOL_EINTR with "mpipool_map: interrupted by SIGTERM: 600 of 1000 items
 * done and saved in journal 'x', 400 not done; run the program again with
 * the same journal to resume"; `return mpipool_exit_status(rc);` then exits
 * with MPIPOOL_EXIT_RESUMABLE, the status a batch script requeues on.  See
 * docs/journal.md. */

/* mpipool_exit_status(MPIPOOL_EINTR): 75, EX_TEMPFAIL of <sysexits.h>,
 * "temporary failure; the user is invited to retry".  (mpipool-run, the
 * task farm, exits with 143 = 128 + SIGTERM instead, as a shell reports a
 * program ended by SIGTERM: see mpipool-run(1).) */
#define MPIPOOL_EXIT_RESUMABLE 75

/* out[i] = fn(in[i]) for i in [0, n): items of in_size bytes each (any struct,
 * which covers starmap), results of out_size bytes each, in input order.
 * Blocks until every item has run.  Chunks are sent straight from `in` and
 * results received straight into `out` (no copies on the master).
 * `fn` must be registered.  `options` may be NULL for the defaults.  Items
 * and results may have size 0 (a task with no input or no result); `in`
 * (`out`) may be NULL when n == 0 or in_size (out_size) is 0.  The caller keeps ownership of `in`
 * and `out`.  in_size and/or out_size may be MPIPOOL_VARIABLE (see there);
 * variable-size maps run in dynamic mode and copy items on the master.
 * Returns MPIPOOL_OK; MPIPOOL_ETASK if any item failed (every item that
 * succeeded still has its result; a failed item's slot holds what its task
 * wrote, else zeros; mpipool_last_error() names the first failed item, its
 * rank and message; the pool stays usable); MPIPOOL_EINVAL (NULL pointers,
 * bad options, `in` and `out` overlapping, sizes other than those of a
 * task registered with MPIPOOL_TASK_TYPED, a call from inside a task), MPIPOOL_EOVERFLOW (n * size
 * overflowing the address space; items of any size are allowed), MPIPOOL_ENOTREG, MPIPOOL_ENOTMASTER,
 * MPIPOOL_ECLOSED, MPIPOOL_EMPI, MPIPOOL_EJOURNAL (with a journal: see
 * "journal and resume" above).  Arguments (and the journal) are checked
 * before anything is sent, so a refused call leaves the pool usable; a
 * journal refused after part of it was read may have filled part of `out`.
 * Master only. */
MPIPOOL_EXTERN int mpipool_map(mpipool *pool, mpipool_fn fn,
                               const void *in, size_t in_size,
                               void *out, size_t out_size,
                               size_t n, const mpipool_map_options *options);

/* fn(in) -> out for one item, run on one worker (on the master in a
 * one-rank pool).  Returns as mpipool_map().  Master only. */
MPIPOOL_EXTERN int mpipool_apply(mpipool *pool, mpipool_fn fn,
                                 const void *in, size_t in_size,
                                 void *out, size_t out_size);

/* ---- streaming: imap ---------------------------------------------------- */

/* Where imap's items come from.  `next` is called on the master only as
 * workers need items, with the index the item will have; it sets *item to
 * the item's bytes (copied before `next` is called again, so it may reuse
 * one buffer) and returns 1, or returns 0 at the end of the items, or a
 * negative value to stop the map with an error. */
typedef struct mpipool_source {
    int (*next)(void *ctx, size_t index, mpipool_buf *item);
    void *ctx;
} mpipool_source;

/* Where imap's results go.  `put` is called on the master once per item
 * that ran: with its index, its result bytes (valid during the call only),
 * its status (MPIPOOL_OK or MPIPOOL_ETASK) and, for a failed item, the
 * task's message (else NULL).  Return 0 to go on, non-zero to stop the map
 * (it then returns MPIPOOL_ECANCELED). */
typedef struct mpipool_sink {
    int (*put)(void *ctx, size_t index, const void *result, size_t size, int status,
               const char *message);
    void *ctx;
} mpipool_sink;

typedef struct mpipool_imap_options {
    int unordered;             /* 0: results in input order (imap); 1: as they
                                  arrive (imap_unordered)                            */
    size_t window;             /* ordered mode: at most this many items between the
                                  oldest not yet delivered and the newest taken from
                                  the source, which bounds the master's memory;
                                  0 = 65536                                         */
    size_t chunk_size;         /* items per chunk; 0 = automatic                     */
    mpipool_on_error on_error; /* as for mpipool_map                                 */
    unsigned flags;            /* 0 or MPIPOOL_MAP_PROGRESS                          */
    const char *journal;       /* as mpipool_map_options.journal: NULL = the file
                                  named by MPIPOOL_JOURNAL, if set; "": none; see
                                  "journal and resume".  (Took one reserved slot.)  */
    double task_timeout;       /* as mpipool_map_options.task_timeout; a timed-out
                                  item reaches the sink with status MPIPOOL_ETIMEDOUT */
    void *reserved[2];         /* must be NULL                                       */
} mpipool_imap_options;

#define MPIPOOL_IMAP_OPTIONS_INIT {0, 0, 0, MPIPOOL_ON_ERROR_CONTINUE, 0u, NULL, 0.0, {0}}

/* Map `fn` over a stream: items from `source`, results to `sink`, blocking
 * until the source is exhausted and every result is delivered (Pool.imap /
 * imap_unordered).  Items and results are byte buffers of any length: tasks
 * produce results with mpipool_task_output().  The master holds at most
 * `window` items' results plus two chunks per worker, whatever the number
 * of items.  The callbacks run on the master, one at a time (in order, for
 * an ordered stream), possibly on the pool's progress thread, and never
 * while the library holds its engine lock: they may take locks of their own
 * that another thread holds while it calls mpipool, and may look at the
 * pool: mpipool_ready, mpipool_wait(job, 0), mpipool_stats,
 * mpipool_last_error, mpipool_rank/size/is_master (from there
 * mpipool_ready and mpipool_wait only look; they move no work).  The calls
 * that would wait for the stream calling them (mpipool_map, mpipool_apply,
 * mpipool_imap, the async and imap_start submissions, mpipool_wait with a
 * timeout other than 0, mpipool_imap_next, mpipool_job_free) return
 * MPIPOOL_EINVAL there; mpipool_close returns MPIPOOL_EBUSY.  `options` may
 * be NULL.  Returns MPIPOOL_OK; MPIPOOL_ETASK if an item failed (every item
 * still reached the sink, unless on_error stopped the map); MPIPOOL_ECANCELED
 * when the source returned < 0 or the sink asked to stop; MPIPOOL_EJOURNAL
 * (a foreign or damaged journal: nothing ran; see "journal and resume"); the argument
 * errors of mpipool_map.  Master only. */
MPIPOOL_EXTERN int mpipool_imap(mpipool *pool, mpipool_fn fn, const mpipool_source *source,
                                const mpipool_sink *sink, const mpipool_imap_options *options);

/* ---- asynchronous jobs --------------------------------------------------
 * A job is a map (or one apply) running in the background, like
 * Pool.map_async / Pool.apply_async.  Several jobs may be in flight; the
 * workers serve them in submission order and each keeps its own results.
 *
 * Background progress: when MPI provides at least MPI_THREAD_SERIALIZED
 * (mpipool_open asks for SERIALIZED, not MULTIPLE, so blocking maps pay
 * nothing for threads) the master starts a progress thread at the first
 * async job, so jobs advance while the caller computes without calling
 * mpipool.  That thread makes MPI calls only under the pool's lock: a
 * program that makes MPI calls of its own while async jobs run must
 * initialise MPI itself with MPI_THREAD_MULTIPLE.  With less than
 * SERIALIZED jobs advance only inside mpipool_wait(), mpipool_ready() and
 * the blocking calls.  In a one-rank
 * pool the master runs a job's tasks inside the submitting call. */

typedef struct mpipool_job mpipool_job;

/* Start mpipool_map(pool, fn, in, ..., options) in the background and return
 * at once with *job.  `in`, `out` and the options' status/messages arrays
 * must stay valid and untouched until the job is finished (mpipool_wait
 * returned something other than MPIPOOL_ETIMEDOUT, mpipool_ready returned 1,
 * or mpipool_job_free returned).  On failure *job is NULL and the call
 * returns as mpipool_map's argument checks do; nothing was sent.
 * Master only. */
MPIPOOL_EXTERN int mpipool_map_async(mpipool *pool, mpipool_fn fn,
                                     const void *in, size_t in_size,
                                     void *out, size_t out_size, size_t n,
                                     const mpipool_map_options *options,
                                     mpipool_job **job);

/* mpipool_apply in the background: fn(in) -> out on one worker — the
 * Process(target=f, args=...).start() of this library; mpipool_wait() is
 * its join().  Master only. */
MPIPOOL_EXTERN int mpipool_apply_async(mpipool *pool, mpipool_fn fn,
                                       const void *in, size_t in_size,
                                       void *out, size_t out_size,
                                       mpipool_job **job);

/* ---- callbacks on asynchronous jobs ---------------------------------------
 * Pool.apply_async(f, args, callback=..., error_callback=...).  Called on
 * the master, exactly once per job, when the job has finished: `callback`
 * if it succeeded (rc == MPIPOOL_OK), `error_callback` for any other end
 * (MPIPOOL_ETASK, MPIPOOL_ECANCELED: freed or terminated while running,
 * MPIPOOL_EINTR, MPIPOOL_EMPI, ...).
 *
 * The thread: every callback of a pool runs on that pool's callback
 * thread, one thread the library starts at the pool's first call of
 * mpipool_map_async_cb / mpipool_apply_async_cb and joins when the pool
 * closes; never on the caller's thread, never on the progress thread, and
 * never while the library holds its engine lock, so a slow callback
 * delays only the callbacks after it (in the order the jobs finished), not
 * the pool's work.  That thread makes no MPI calls.
 *
 * Ordering: the outputs (`out`, the options' status/messages) are final
 * when the callback runs; mpipool_wait returns the job's result, and
 * mpipool_ready returns 1, only after the callback has returned (as
 * Python's get() after its callback); mpipool_job_free waits for it;
 * mpipool_close and mpipool_terminate return only after every callback.
 *
 * A callback may read the job's outputs and must not call any mpipool
 * function on the job or its pool (it may call mpipool_strerror and
 * mpipool_err_name), nor free the job: mpipool_wait, mpipool_ready,
 * mpipool_job_free, mpipool_imap_next, mpipool_close/terminate and the
 * submitting calls return MPIPOOL_EINVAL on a callback thread.  If the submitting call fails,
 * neither callback is ever called (nothing was submitted). */

/* `job`: the finished job; `rc`: its result (what mpipool_wait returns);
 * `message`: its error detail (as mpipool_last_error would give; "" for
 * MPIPOOL_OK), owned by the library, valid during the call only;
 * `arg`: mpipool_callbacks.arg. */
typedef void (*mpipool_job_cb)(mpipool_job *job, int rc, const char *message, void *arg);

typedef struct mpipool_callbacks {
    mpipool_job_cb callback;       /* on MPIPOOL_OK; may be NULL                  */
    mpipool_job_cb error_callback; /* on any other result; may be NULL            */
    void *arg;                     /* passed to both; caller-owned                */
    unsigned flags;                /* must be 0 for now                           */
    void *reserved[2];             /* must be NULL                                */
} mpipool_callbacks;
#define MPIPOOL_CALLBACKS_INIT {NULL, NULL, NULL, 0u, {0}}

/* mpipool_map_async with callbacks (`callbacks` is copied; NULL: none, as
 * mpipool_map_async).  Returns as mpipool_map_async, plus MPIPOOL_EINVAL
 * for flags or reserved fields not 0/NULL, and MPIPOOL_ENOMEM if the
 * callback thread could not be started; on any failure *job is NULL and no
 * callback will run.  Master only. */
MPIPOOL_EXTERN int mpipool_map_async_cb(mpipool *pool, mpipool_fn fn,
                                        const void *in, size_t in_size,
                                        void *out, size_t out_size, size_t n,
                                        const mpipool_map_options *options,
                                        const mpipool_callbacks *callbacks,
                                        mpipool_job **job);

/* mpipool_apply_async with callbacks, as mpipool_map_async_cb.  Master only. */
MPIPOOL_EXTERN int mpipool_apply_async_cb(mpipool *pool, mpipool_fn fn,
                                          const void *in, size_t in_size,
                                          void *out, size_t out_size,
                                          const mpipool_callbacks *callbacks,
                                          mpipool_job **job);

/* Wait up to `timeout_seconds` (< 0 or > 1e9: forever, 0 or -0.0: just look) for `job`.
 * Returns the job's result (as mpipool_map would: MPIPOOL_OK, MPIPOOL_ETASK,
 * MPIPOOL_ECANCELED, MPIPOOL_EMPI...) once it is finished, and then keeps
 * returning it; MPIPOOL_ETIMEDOUT if the time passed first — the job goes on
 * and loses nothing.  The job's error detail is copied to
 * mpipool_last_error(pool).  MPIPOOL_EINVAL for a NULL job or a NaN timeout.
 * Master only. */
MPIPOOL_EXTERN int mpipool_wait(mpipool_job *job, double timeout_seconds);

/* 1 if `job` is finished, 0 if not (and moves it along when there is no
 * progress thread), MPIPOOL_EINVAL for NULL.  Master only. */
MPIPOOL_EXTERN int mpipool_ready(mpipool_job *job);

/* Free a job — also after its pool was closed or terminated, which
 * finishes every job but frees no handle.  A job still running is
 * cancelled first: no new chunk of it
 * starts, chunks already on workers finish (their results still land in
 * `out`), and the call returns when none is left.  NULL is a no-op.
 * Returns MPIPOOL_OK.  Master only. */
MPIPOOL_EXTERN int mpipool_job_free(mpipool_job *job);

/* Cancel every job in flight (each finishes with MPIPOOL_ECANCELED unless
 * it had already finished), wait only for the chunks already on workers —
 * a task that is running is not interrupted — then stop the workers and
 * close the pool as mpipool_close() does.  The wait is bounded: if a chunk
 * is still out after 10 s (a task that never returns), it returns
 * MPIPOOL_ETIMEDOUT naming the task, the items and the rank, with every job
 * finished and the pool abandoned: its workers are not stopped and MPI is
 * not finalised, so the job ends when this process exits.  Job handles stay valid for
 * mpipool_wait/ready/job_free (as after mpipool_close).  On a worker it behaves as mpipool_close().
 * Collective, like mpipool_close(). */
MPIPOOL_EXTERN int mpipool_terminate(mpipool *pool);

/* ---- imap as a pull iterator ----------------------------------------------
 * Python's `it = pool.imap(f, items); next(it)` / `it.next(timeout)`:
 * the same stream as mpipool_imap (items from a source, results in input
 * order, or as they complete with options->unordered = 1), but the caller
 * takes the results one at a time instead of giving a sink:
 *
 *     mpipool_job *it;
 *     mpipool_imap_result r;
 *     if (mpipool_imap_start(pool, fn, &source, NULL, &it) != MPIPOOL_OK) ...;
 *     while ((rc = mpipool_imap_next(it, &r, -1)) == MPIPOOL_OK || rc == MPIPOOL_ETASK)
 *         use(r.index, r.data, r.size, r.message);
 *     // rc == MPIPOOL_EOF: every result was returned
 *     mpipool_job_free(it);
 *
 * Memory: the master holds at most `window` results (options->window,
 * 0 = 65536) in both orders: an item counts from the moment it is taken
 * from the source until the result is released (by the next
 * mpipool_imap_next on the job, or mpipool_job_free); when the window is
 * full no more items are taken, so a caller who stops reading stops the
 * stream, and the workers wait. */

/* One result, as mpipool_imap_next returns it. */
typedef struct mpipool_imap_result {
    size_t index;        /* the item's position in the stream (0-based)        */
    int status;          /* MPIPOOL_OK, or MPIPOOL_ETASK for a failed item     */
    const void *data;    /* its result bytes (for a failed item what its task
                            wrote, if anything); NULL when size is 0          */
    size_t size;
    const char *message; /* failed item: the task's message; else NULL         */
} mpipool_imap_result;

/* Start an imap whose results are taken with mpipool_imap_next, and return
 * at once with *job.  Items come from `source` as for mpipool_imap: its
 * `next` is called on the master, possibly on the pool's progress thread
 * or inside mpipool_imap_next, never at the same time as itself, and never
 * under the engine lock: it may call what mpipool_imap's callbacks may
 * (see there), so it may also take a lock that the caller holds across
 * mpipool_imap_next(job, &r, 0); `source` (and its ctx) must stay valid
 * until the job is freed.  `options` as for mpipool_imap (may be NULL).  In a one-rank
 * pool the master runs the items itself, inside this call and
 * mpipool_imap_next, at most `window` items ahead of the caller.
 * Returns MPIPOOL_OK, or the argument errors of mpipool_imap (then *job
 * is NULL and nothing ran).  The caller frees the job with
 * mpipool_job_free (also after mpipool_close).  Master only. */
MPIPOOL_EXTERN int mpipool_imap_start(mpipool *pool, mpipool_fn fn, const mpipool_source *source,
                                      const mpipool_imap_options *options, mpipool_job **job);

/* The stream's next result, waiting up to `timeout_seconds` (as
 * mpipool_wait: < 0 forever, 0 just look) for it.  Fills *result and
 * returns MPIPOOL_OK for a successful item or MPIPOOL_ETASK for a failed
 * one (result->message says why; the stream goes on: call again).
 * Ownership: result->data and result->message belong to the job and stay
 * valid until the next mpipool_imap_next on this job or mpipool_job_free,
 * whichever comes first; copy what you keep.
 * At the end: MPIPOOL_EOF once every item's result was returned (and from
 * then on); if the stream ended early, the reason instead, after the
 * results it produced: MPIPOOL_ECANCELED (the source returned < 0, on_error
 * MPIPOOL_ON_ERROR_STOP after a failure, or the pool was closed before
 * the end: mpipool_close cancels an imap not read to its end), MPIPOOL_EINTR,
 * MPIPOOL_ENOMEM, MPIPOOL_EMPI...; mpipool_last_error says why.
 * MPIPOOL_ETIMEDOUT when the time passed first (the stream goes on; no
 * result is lost).  MPIPOOL_EINVAL for a NULL job or result, a job not
 * made by mpipool_imap_start, a NaN timeout.  After MPIPOOL_EOF,
 * mpipool_wait(job, 0) gives the stream's verdict (MPIPOOL_ETASK if an
 * item failed); before, mpipool_wait on such a job is MPIPOOL_EINVAL (it
 * could wait for ever on a window only this call empties).  Master only. */
MPIPOOL_EXTERN int mpipool_imap_next(mpipool_job *job, mpipool_imap_result *result, double timeout_seconds);

/* ---- watching a run: statistics ------------------------------------------
 * The master counts, per worker, what it sent and got back; the workers'
 * busy time comes in the result headers they send anyway, so statistics
 * cost no extra message.  MPIPOOL_STATS=1 prints them as a table on stderr
 * when the pool closes; MPIPOOL_TRACE=FILE writes a timeline (docs/observe.md). */

/* One worker's share since the pool opened.  In a one-rank pool the one
 * "worker" is the master, rank 0. */
typedef struct mpipool_worker_stats {
    int rank;              /* in the pool's communicator                     */
    uint64_t items;        /* items it ran (failed ones included)             */
    uint64_t chunks;       /* chunks (static shares count as one)             */
    double busy_seconds;   /* time inside task functions, as it measured it   */
    double idle_seconds;   /* wall_seconds - busy_seconds (>= 0)              */
    uint64_t bytes_in;     /* bytes sent to it: work headers + items           */
    uint64_t bytes_out;    /* bytes it sent back: result headers + results     */
    int lost;              /* 1 if it died during the run and its unfinished
                              items ran elsewhere (in-job recovery, mpipool(7)) */
    uint64_t given_back;   /* items it gave back unstarted at the end of a map,
                              because a long item held them up; they ran
                              elsewhere ("Reclamation" in mpipool(7)); for
                              a group leader, its members' too, and the
                              group chunks it gave back whole             */
} mpipool_worker_stats;

typedef struct mpipool_pool_stats {
    int nworkers;                         /* entries in `workers`             */
    const mpipool_worker_stats *workers;  /* owned by the pool: valid until the
                                             next mpipool_stats() on it, or its
                                             close; in order of rank          */
    uint64_t items, chunks;               /* sums over the workers            */
    double wall_seconds;      /* from the first chunk sent to the last result
                                 collected (0 before any work)                */
    double imbalance;         /* max busy / mean busy over the workers: 1.0 is
                                 perfect balance; 0 when nothing ran          */
    double master_cpu_seconds; /* CPU time of the master process since the pool
                                  opened (all its threads)                    */
} mpipool_pool_stats;

/* Fill *stats with the pool's statistics so far (work still in flight is
 * counted when its result comes back).  The caller owns *stats; the array
 * stats->workers points to belongs to the pool and is overwritten by the
 * next call.  Returns MPIPOOL_OK; MPIPOOL_EINVAL (NULL pool or stats),
 * MPIPOOL_ECLOSED, MPIPOOL_ENOTMASTER, MPIPOOL_ENOMEM (the pool could not
 * set up its counters).  Master only; safe while async jobs run. */
MPIPOOL_EXTERN int mpipool_stats(mpipool *pool, mpipool_pool_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* MPIPOOL_H */
