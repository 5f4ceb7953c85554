/*
 * pure.h — the parts of mpipool that need no MPI: the task registry, chunk
 * planning, argument checks, error names, and the checks of outside input
 * (environment values, received chunks and failure records).  They are
 * compiled into the library and, on their own, into the cmocka unit tests
 * (tests/unit/) and the fuzz targets (tests/fuzz/).
 * Nothing declared here may call MPI.
 */
#ifndef MPIPOOL_PURE_H
#define MPIPOOL_PURE_H

#include <stddef.h>
#include <stdint.h>
#include "mpipool.h"
#include "wire.h"

/* Longest error detail kept (mpipool_last_error), including the NUL. */
#define MPIPOOL__ERR_MAX 1024
/* The buffer mpipool_last_error(NULL) returns (error.c). */
extern char mpipool__open_error[MPIPOOL__ERR_MAX];

/* Longest message kept for a task failure or an error, including the NUL. */
#define MPIPOOL__MSG_MAX 512
/* Largest single MPI message we build, in bytes: counts are C ints.  The
 * default piece size is below it; MPIPOOL_PIECE_BYTES may lower it. */
#define MPIPOOL__MAX_MSG_BYTES ((size_t)0x7fff0000)
#define MPIPOOL__DEFAULT_PIECE ((size_t)1 << 30)
#define MPIPOOL__MIN_PIECE ((size_t)256)
/* Most bytes the variable-size items of one map (or one imap item) may
 * add up to: far beyond any memory, far from wrapping a size_t. */
#define MPIPOOL__VAR_TOTAL_MAX (SIZE_MAX / 4)
/* How many messages of at most `piece` bytes carry `bytes` (>= 1). */
size_t mpipool__npieces(size_t bytes, size_t piece);

/* ---- outside input (parse.c) ---------------------------------------------
 * Each reads only the bytes it is given, whatever they say (fuzzed in
 * tests/fuzz/). */

/* MPIPOOL_PIECE_BYTES as mpipool_open reads it: NULL or "" -> the default;
 * digits only -> the value clamped to [MPIPOOL__MIN_PIECE,
 * MPIPOOL__DEFAULT_PIECE]; anything else (a sign, a space, a suffix) ->
 * MPIPOOL_EINVAL, with *piece set to the default. */
int mpipool__piece_parse(const char *value, size_t *piece);
/* Where the items of a received chunk are (wire.h): `msg` holds `got`
 * bytes, starting with the header `h` (8-byte aligned, as malloc gives).
 * 0 with *sizes (variable items: h->count sizes; else NULL) and *data (the
 * items back to back, exactly filling the rest of the message), or -1 if
 * the message does not hold what its header announces. */
int mpipool__chunk_layout(const mpipool__work_hdr *h, const char *msg, size_t got,
                          const uint64_t **sizes, const char **data);
/* Walk the records of a fail message (u64 index, u32 length, text): 1 and
 * the next record (*msg inside [p, p + len)), or 0 at the end (or at a
 * malformed record). */
int mpipool__fails_next(const char *p, size_t len, size_t *off, uint64_t *index,
                        const char **msg, uint32_t *mlen);

/* ---- registry (registry.c) -----------------------------------------------
 * A process-wide table of (name, function).  Invariant: while frozen (one or
 * more pools open) the table is sorted by name, so index i names the same
 * task on every rank whose table has the same digest. */
int mpipool__registry_add(const char *name, mpipool_fn fn);
/* The same for a batch task (mpipool_register_batch).  A name or a
 * function is either plain or batch: the other kind gives MPIPOOL_EEXIST.
 * The digest and serialised list show a batch task as "name [batch]". */
int mpipool__registry_add_batch(const char *name, mpipool_fn fn);
/* 1 if entry i / function fn is a batch task. */
int mpipool__registry_is_batch(size_t i);
int mpipool__registry_fn_is_batch(mpipool_fn fn);
/* 1 and the sizes if entry i was registered with MPIPOOL_TASK_TYPED. */
int mpipool__registry_types(size_t i, size_t *in_size, size_t *out_size);
/* Entry i's loop from MPIPOOL_TASK(_TYPED) (mpipool.h), or NULL; *zeroes
 * is 1 if it zeroes each result itself (set when the loop is not NULL). */
mpipool__loop_fn mpipool__registry_loop(size_t i, int *zeroes);
/* Sort and freeze; nested calls count.  Returns the deferred registration
 * error (from MPIPOOL_TASK constructors), if any, else MPIPOOL_OK. */
int mpipool__registry_freeze(void);
void mpipool__registry_thaw(void);
size_t mpipool__registry_count(void);
const char *mpipool__registry_name(size_t i);
mpipool_fn mpipool__registry_fn(size_t i);
/* MPIPOOL_OK and *index, or MPIPOOL_ENOTREG. */
int mpipool__registry_find_fn(mpipool_fn fn, size_t *index);
int mpipool__registry_find_name(const char *name, size_t *index);
/* FNV-1a 64 over the sorted names (each followed by '\n'). */
uint64_t mpipool__registry_digest(void);
/* The sorted names, each followed by '\n', in a malloc'd buffer (NUL
 * terminated; *len excludes the NUL).  NULL when out of memory. */
char *mpipool__registry_serialize(size_t *len);
/* The text of the deferred registration error ("" if none). */
const char *mpipool__registry_deferred_message(void);
/* Forget everything (tests only). */
void mpipool__registry_reset(void);
/* Given every rank's serialised list, write into msg which names are not
 * registered on every rank, e.g. "task 'cube' is registered on ranks 0,2
 * but not on ranks 1".  Returns the number of differing names. */
size_t mpipool__registry_describe_diff(const char *const *lists, int nranks,
                                       char *msg, size_t msgsz);

/* ---- chunk planning (plan.c) --------------------------------------------- */

/* Items per chunk in dynamic mode for the next chunk.  `user_chunk` > 0 wins
 * (capped by max_chunk).  Otherwise guided self-scheduling:
 * ceil(remaining / (2 * workers)), never below min_chunk nor above
 * max_chunk, and never more than `remaining`.  0 only when remaining == 0. */
size_t mpipool__plan_chunk(size_t remaining, size_t workers, size_t user_chunk,
                           size_t min_chunk, size_t max_chunk);
/* The most items one chunk may hold so that neither its work message
 * (header + items) nor its result message exceeds max_bytes.  >= 1. */
size_t mpipool__plan_max_items(size_t in_size, size_t out_size, size_t header,
                               size_t max_bytes);
/* Slow start: a target's next chunk of a map holds at most twice the items
 * of the one sent it before (`last`; 0: none yet, no limit), or `floor`
 * items if that is more.  So the first round of a map, sent to every target
 * at once, is small, and a pool whose master link is the bottleneck starts
 * computing after a short transfer, not after every target's first
 * full-size chunk has crossed the link together (they share it).  The
 * floor (a size in bytes, in items) leaves chunks that are cheap to send
 * alone.  `want` when it is within the limit. */
size_t mpipool__plan_slow_start(size_t want, size_t last, size_t floor);
/* How many targets the master's budget a chunk is for (a flat map's least
 * chunk, dispatch.c): all `fanout` it serves, but once every item of the
 * map went out (`all_out`: what is left was given back) only the
 * `chunks_out` chunks still out and the one it sends. */
size_t mpipool__plan_serving(size_t fanout, int all_out, size_t chunks_out);
/* How many chunks a worker should have in flight: 2 while more items than
 * workers remain unassigned, then 1, so the last items go to idle workers
 * instead of queueing behind a long task.  (From 2 * workers on, as until
 * 2026-12-05, the last two rounds of uniform work went one chunk a worker:
 * the workers, finishing together, queued for the master's answers, at
 * 256 ranks ~0.3 ms each; SimGrid 256 x 1 ms uniform 0.990 -> 0.9915.)
 * Also 1 throughout a map found heavy-tailed (`heavy`, see
 * mpipool__plan_heavy) whose items take MPIPOOL__HEAVY_ITEM_SECONDS or
 * more (`per_item`, the mean so far): a second chunk saves the worker one
 * round trip, small against such items, and may wait behind a long item
 * for seconds.  (SimGrid, 256 ranks x 1 ms Pareto: 0.764 with two, 0.990
 * with one; the longest item had queued behind another long one.) */
int mpipool__plan_depth(size_t unassigned, size_t workers, int heavy, double per_item);
/* The master's slots per rank (its chunks in flight at most, counting a
 * group leader's borrowed ones apart): 2, or with fewer than
 * MPIPOOL__WINDOW_RANKS workers more, up to MPIPOOL__WINDOW_MAX, for the
 * deep window below; so the slots a pass looks at stay under about
 * MPIPOOL__WINDOW_RANKS * 2 (and are 2 a rank at scale, as before). */
int mpipool__plan_slots(size_t workers);
#define MPIPOOL__WINDOW_RANKS 64
#define MPIPOOL__WINDOW_MAX 32
/* Chunks to keep in flight on a worker of a flat map whose chunk size the
 * caller fixed (chunk_size), when a chunk takes `chunk_seconds` (<= 0:
 * unknown): enough that about MPIPOOL__WINDOW_SECONDS of work is queued
 * on it, at least 2 and at most `most` (its slots).  Two in flight hide
 * one round trip only if a chunk outlasts it; with one-item chunks of
 * tiny work each item would cost a round trip, and on a node with more
 * ranks than cores a round trip may be a context switch or two (real
 * ranks, 3 on 2 cores, hand-written one-item loop: 2.9 us an item with 2
 * in flight, 0.15 us with 16).  The window bounds what a worker holds when
 * the map ends, or behind a long item, to about its time. */
int mpipool__plan_window(double chunk_seconds, int most);
#define MPIPOOL__WINDOW_SECONDS 50e-6
/* Heavy tails that may decide a map: 1 if a chunk of `ran` items that took
 * `busy` seconds is an outlier against the map's mean so far (`per_item`;
 * <= 0: unknown, never): its mean item took over MPIPOOL__HEAVY_FACTOR
 * times that; and a worker's share of the map is under
 * MPIPOOL__HEAVY_SHARE items (`share`, items / workers; 0: unknown, a
 * stream: never).  Over few items a share, the longest item of a heavy
 * tail is far longer than a share, and one item waiting behind another is
 * the map's makespan (SimGrid, 256 ranks x 50 or 100 items of 1 ms Pareto:
 * 0.76 efficiency with two chunks in flight, 0.99 with one).  Over many, a
 * round trip per chunk costs more than the wait: real ranks, 2 workers x
 * 500 Pareto items of 4 ms, 2.15 s with two, 2.29 s with one (the master's
 * wake-up is in each round trip).  The threshold lies between. */
int mpipool__plan_heavy(double busy, size_t ran, double per_item, size_t share);
#define MPIPOOL__HEAVY_FACTOR 4.0
#define MPIPOOL__HEAVY_SHARE 250
#define MPIPOOL__HEAVY_ITEM_SECONDS 500e-6
/* 1 if a group leader with `members` (4 or more) should keep out of its
 * group's way: its shares or slices showed heavy tails (`heavy`, one took
 * over MPIPOOL__HEAVY_FACTOR times the mean) and its items take
 * MPIPOOL__HEAVY_ITEM_SECONDS or more (`per_item`, the mean).  Then it runs
 * no item of its own and hands each member one item at a time, with no
 * second share queued behind it (group.c).  A leader answers its members
 * only between its own items, so one long item of its own left its whole
 * group without work, and a member's queued share waited out the member's
 * long item: SimGrid, 1024 ranks x 1 ms Pareto, draw 18, a member's
 * 40-item second share waited 343 ms.  (With the chunk cap of dispatch.h,
 * GROUP_LONG_CHUNK_SECONDS: 30 draws, bench/RESULTS.md.)  In a smaller
 * group the leader's own work counts for too much. */
int mpipool__plan_heavy_long(int heavy, double per_item, int members);
/* A group leader's own items run in slices of about this long (group.c),
 * at least one item, so that it answers its members within about that. */
#define MPIPOOL__OWN_SLICE_SECONDS 50e-6
/* Whether a group leader holding `held` items not yet handed out (in a
 * group of `ranks`, itself included; `per_item`: the mean seconds an item
 * took so far, <= 0 unknown) sends a member that has one share in flight
 * its second now: 1 (from the oldest chunk) while it holds more than two
 * items a rank; else 2 (from the newest chunk) when one item takes longer
 * than a slice of its own, the items look `even` (the leader timed two
 * shares a rank, none an outlier: with heavy tails a share would wait
 * behind a long item) and it keeps one item for itself; else 0 (it runs
 * its own part).  Without the 2, members of a group of long items (1 ms)
 * went dry for most of an item each time the leader ran one of its own,
 * since a leader answers its members only between its own items
 * (SimGrid, 1024 ranks x 1 ms uniform, groups of 32: members idle 0.86 ms
 * at a time).  From the newest chunk, so that the oldest is done in one
 * item's time and answered, and the master's next chunk arrives while the
 * members run their second share.  (Without `even`: 256 x 1 ms Pareto,
 * hierarchy on, 0.983 -> 0.939; keeping no item, 1024 x 1 ms uniform
 * 0.957 instead of 0.974.) */
int mpipool__plan_second_share(uint64_t held, uint64_t ranks, double per_item, int even);
/* Even, long items in a group (`even` as above, and an item takes
 * MPIPOOL__HEAVY_ITEM_SECONDS or more): each GROUP chunk of `count`
 * items is split evenly over the group's `ranks` (its leader included),
 * one share a rank.  mpipool__plan_even_share: a member's share,
 * ceil(count / ranks), at most `avail` (items of the chunk not handed out
 * and not the leader's).  mpipool__plan_even_keep: the items the leader
 * still keeps for itself, floor(count / ranks) less the `ran` it has run
 * of the chunk.
 * Guided over what the leader held instead (half of it a round), most
 * shares were one item: a leader of 31 members handed out 541 shares in a
 * 50 ms map, ran 49 items to its members' 50, and one member per group ran
 * a 51st, which ended the map an item late (SimGrid, 1024 x 1 ms uniform:
 * 0.974; split evenly, with the own runs below, every rank ran 50: 0.985). */
uint64_t mpipool__plan_even_share(uint64_t count, uint64_t ranks, uint64_t avail);
uint64_t mpipool__plan_even_keep(uint64_t count, uint64_t ranks, uint64_t ran);
/* The split applies only while no share or own run of the job took over
 * MPIPOOL__EVEN_SPREAD times as long an item (`most` seconds) as another
 * did (`least`): 1 if so.  "Even" alone (no outlier over
 * MPIPOOL__HEAVY_FACTOR times the mean) let half the groups of a
 * Pareto(1.5) map split evenly until a long item came, which then held
 * up a whole share (SimGrid, 256 ranks x 1 ms Pareto, hierarchy on:
 * 0.985 -> 0.970; with this test 0.985). */
int mpipool__plan_even_spread(double least, double most);
#define MPIPOOL__EVEN_SPREAD 2.0
/* Fair parts: once every group leader of a map says its items are even
 * and long (it splits chunks evenly, above), the master gives each group
 * exactly its part of the map, as a static split would, in few chunks.
 * mpipool__plan_fair_part: a group of `units` ranks' part of `n` items
 * over `workers`, ceil(n * units / workers), so the parts cover n.
 * mpipool__plan_fair_chunk: the group's next chunk, `left` items of its
 * part not yet sent and `count` the guided size: at least half of `left`
 * (in whole items a rank), all of it once that is MPIPOOL__FAIR_LAST
 * items a rank or fewer, never more than `left`.
 * Guided chunks halve over all the ranks: a late group got 11 chunks in
 * a 50 ms map (64, 64, 1024, 640, ... 128, 64, 64, 64), its leader was
 * outside its own items 67 us per chunk, a group's last chunk reached
 * its leader inside an item of its own and its members waited up to an
 * item, and groups that asked last got more than others (SimGrid, 4096 x
 * 1 ms uniform 0.971; with fair parts 0.983; 1024 ranks 0.985 -> 0.992;
 * 4096 ranks at T = 0.2 s 0.987 -> 0.994.  A group's whole part at once,
 * once known: 0.980; a last chunk of 8 items a rank: 0.983.) */
size_t mpipool__plan_fair_part(size_t n, size_t units, size_t workers);
size_t mpipool__plan_fair_chunk(size_t left, size_t units, size_t count);
#define MPIPOOL__FAIR_LAST 16
/* ... and only while no group chunk's items took over this many times as
 * long, on average, as another's (a group on slower nodes would get as
 * many items as the fast ones). */
#define MPIPOOL__FAIR_SPREAD 1.25
/* Items in a group leader's own run, with even long items: as many as end
 * an item before `slack` seconds have passed (when its first member may
 * run dry: every member's shares in flight done, at `per_item` seconds an
 * item), at least 1, at most `keep` (its part of the chunk, if > 0) and
 * `left` (the chunk's items not handed out).  A leader notices its members
 * only between its runs, and each look costs a test of every member's
 * request: one run an item took 12.7 us a look at 63 members (SimGrid,
 * 4096 x 1 ms uniform). */
uint64_t mpipool__plan_own_run(double per_item, double slack, uint64_t keep, uint64_t left);
/* A chunk (or share) this much past its expected time is not merely a
 * rank the OS let wait for a time slice (an oversubscribed node):
 * something in it is long (reclaim.c's stuck worker, dispatch.c's stuck
 * group leader, group.c's share). */
#define MPIPOOL__STUCK_SLACK_SECONDS 1e-3
/* Whether a group leader asks the master for one chunk more (TAG_ROOM):
 * it holds no item not yet handed out (`held`), at least half of its
 * `members` are `idle`, and a share of its oldest chunk has run `age`
 * seconds, over the slack (its items' `expected` time, at the mean so far,
 * must be known: <= 0, never).  The group answers its chunks in order, so
 * the rest of it ran dry behind that share, and the answer that would
 * bring it more is not about to come; the master, which sees only the
 * chunk, would give the group more only once the chunk is late by twice
 * its whole time (SimGrid, 1024 ranks x 100 us Pareto: 0.723 -> 0.762 with
 * this alone, asking once the share was 4 times its expected time; asking
 * once it is past the slack, 0.770, and over 21 draws of the item times a
 * mean of 0.881 against 0.868, ahead in 18; bench/RESULTS.md, "Asking for
 * room sooner").  In a map bound by the master's link, groups run dry too,
 * and a deeper queue there would only crowd the link; the rule changed
 * nothing there (4096 x 10 us uniform: the same figure to the last digit). */
int mpipool__plan_room(uint64_t held, int idle, int members, double age, double expected);
/* Whether a group chunk the master sent synchronously `age` seconds ago,
 * not yet arrived, stops counting against the chunks on their way
 * (dispatch.c, TRANSIT_MAX): past MPIPOOL__HEAVY_FACTOR times the `mean`
 * time such chunks took to arrive (<= 0: none yet) plus the slack.  Its
 * leader is inside a long item of its own and takes it only after: the
 * link is not what holds it, and the other groups must not wait for it. */
int mpipool__plan_transit_late(double age, double mean);
/* Whether `workers` ranks, each taking `per_item` seconds (mean; <= 0:
 * not known yet) for an item of `item_bytes` (in and out), could ask the
 * master's link for more than MPIPOOL__LINK_BUSY bytes a second: only then
 * are group chunks paced (dispatch.c, TRANSIT_MAX).  Below that the link
 * is far from full, and pacing only costs: a synchronous send completes
 * once its leader looks, which may be after a long item of its own, and
 * the other groups wait meanwhile.  A tenth of a 10 Gbps link: SimGrid,
 * 4096 ranks x 1 ms Pareto (33 MB/s asked), 0.974 paced, 0.994 not.
 * MPIPOOL_PACE=on or off overrides it (a link slower or faster than
 * that, and the tests). */
#define MPIPOOL__LINK_BUSY 125e6
int mpipool__plan_link_busy(double workers, size_t item_bytes, double per_item);
/* Static mode: worker w (0-based, of `workers`) gets items
 * [*first, *first + *count); shares differ by at most one item. */
void mpipool__plan_static(size_t n, size_t workers, size_t w, size_t *first,
                          size_t *count);

/* ---- waiting for a message (waitplan.c) -----------------------------------
 * A wait polls for WAIT_SPIN, then yields the core between polls until
 * WAIT_YIELD, then sleeps 1, 2, 4 ... up to WAIT_SLEEP_MAX_US microseconds,
 * but never longer than 1/WAIT_SLEEP_SHARE of the wait so far: whatever
 * ends the wait is noticed at most that share late (an answer whose time
 * is not yet known, the first of a map, after 1 ms: not 0.5 ms late).
 * With `hot`, while an answer is due (from WAIT_HOT_AHEAD before `due` to
 * WAIT_HOT_AFTER after it) it polls without yielding or sleeping, and its
 * sleeps end when that window opens. */
#define MPIPOOL__WAIT_SPIN 20e-6
#define MPIPOOL__WAIT_YIELD 250e-6
#define MPIPOOL__WAIT_SLEEP_MAX_US 1000u
#define MPIPOOL__WAIT_SLEEP_SHARE 8
/* A rank waiting for answers (the master, a group leader) sleeps at most
 * 1/WAIT_ITEM_SHARE of an item's mean time, within WAIT_SLEEP_LEAST_US
 * and WAIT_SLEEP_MAX_US (mpipool__wait_most_us), so that it notices the
 * last answer of a map within a fraction of an item: that answer often
 * comes after a long wait (a heavy-tailed map's longest item), whose
 * sleeps had grown to 1 ms, the time of ten 100 us items, at each level
 * of a hierarchy.  SimGrid, Pareto items: 64 x 100 us 0.944 -> 0.950,
 * 256 x 100 us 0.907 -> 0.911, 1024 x 10 us 0.766 -> 0.779 (bench/
 * RESULTS.md).  Not below 250 us: 100 us sleeps lost at 256 x 10 us
 * Pareto in 4 of 6 draws (by up to 0.016), where the master is busy and
 * each look costs it.  Long items keep the 1 ms sleeps: at 2 s items,
 * 250 us sleeps took the master's CPU from 0.8 % to 1.5 % of its wall
 * time (3 ranks, 2 cores). */
#define MPIPOOL__WAIT_ITEM_SHARE 4
#define MPIPOOL__WAIT_SLEEP_LEAST_US 250u
/* A worker waiting for its next chunk sleeps at most 1/WAIT_IDLE_SHARE of
 * its wait so far instead: between the maps of an iterative program (the
 * master computes for a few ms, then maps again) an eighth made the first
 * items of a 2 ms map (4 items of 1 ms, 2 workers) start late, and the map
 * took 2.59 / 2.80 / 3.32 ms after gaps of 2 / 5 / 20 ms.  Waits longer
 * than WAIT_IDLE_SHARE ms still reach the 1 ms sleeps, so an idle worker's
 * CPU is unchanged; the extra wake-ups are about 64 * ln(64 ms / 250 us) ~
 * 350 per idle spell (an eighth: ~28), ~3.6 us each here.  Not the
 * master's or a leader's waits: the master's polls cost it time it needs
 * at scale (SimGrid), and a leader's group_due() already cuts its sleeps. */
#define MPIPOOL__WAIT_IDLE_SHARE 64
#define MPIPOOL__WAIT_HOT_AHEAD 100e-6
#define MPIPOOL__WAIT_HOT_AFTER 1e-3
/* While polling in the window, the core is still given up once per
 * WAIT_HOT_YIELD, unless something else ran meanwhile (a gap of more than
 * WAIT_GAP between two steps: the MPI library's own poll yielded, as Open
 * MPI's does on an oversubscribed node, or the rank was preempted).  An MPI
 * whose polls never yield (MPICH) would otherwise keep a worker sharing the
 * master's core off it. */
#define MPIPOOL__WAIT_HOT_YIELD 20e-6
#define MPIPOOL__WAIT_GAP 5e-6
enum { MPIPOOL__WAIT_POLL = 0, MPIPOOL__WAIT_YIELD_STEP = 1, MPIPOOL__WAIT_SLEEP = 2 };
/* A wait's state: the last sleep's length, the previous step's time and
 * the last time the core was given up (all 0 at the start of a wait), the
 * share of the wait so far a sleep may last (0: WAIT_SLEEP_SHARE), and the
 * longest sleep (0: WAIT_SLEEP_MAX_US; mpipool__wait_most_us). */
typedef struct {
    unsigned backoff_us;
    double prev, gave;
    unsigned share;
    unsigned most_us;
} mpipool__wait_state;
/* The longest sleep of a rank waiting for answers to items of `per_item`
 * mean seconds (<= 0: unknown, WAIT_SLEEP_MAX_US). */
unsigned mpipool__wait_most_us(double per_item);
/* The next step of a wait that began at `start` (seconds, same clock as
 * `now`), with an answer due at `due` (0: none known).  *sleep_us is set to
 * this step's sleep (0 unless MPIPOOL__WAIT_SLEEP, then >= 1). */
int mpipool__wait_plan(double now, double start, double due, int hot, mpipool__wait_state *st, unsigned *sleep_us);

/* ---- hierarchical dispatch (plan.c) ---------------------------------------
 * With a hierarchy, the master hands large chunks to group leaders (ranks
 * 1, 1 + G, 1 + 2G, ...), each of which schedules them among the G - 1
 * workers after it (group.c); see mpipool.h, "Scale". */
enum { MPIPOOL__HIER_AUTO = 0, MPIPOOL__HIER_ON = 1, MPIPOOL__HIER_OFF = 2 };
/* From this many workers up, "auto" turns the hierarchy on. */
#define MPIPOOL__HIER_AUTO_WORKERS 512
/* MPIPOOL_HIERARCHY (and MPIPOOL_PACE): NULL/""/"auto", "on", "off" ->
 * MPIPOOL_OK and *mode; anything else MPIPOOL_EINVAL (*mode = auto). */
int mpipool__hier_parse(const char *value, int *mode);
/* MPIPOOL_GROUP_SIZE: NULL/"" -> 0 (automatic); digits, at least 2 -> the
 * number; anything else MPIPOOL_EINVAL. */
int mpipool__group_parse(const char *value, size_t *group);
/* In-job recovery (recover.c): MPIPOOL_RECOVERY `mode` (NULL/""/"auto",
 * "on", "off") and MPIPOOL_RECOVERY_TIMEOUT `secs` (NULL/"": the default;
 * else seconds, 0.1 to 86400).  "auto" is on when the launcher keeps the job
 * alive after a rank's death: `ompi` is OMPI_MCA_orte_enable_recovery
 * (mpirun --enable-recovery), `slurm` SLURM_NO_KILL (sbatch/srun --no-kill).
 * MPIPOOL_OK and *timeout (0 = off), or MPIPOOL_EINVAL naming nothing
 * (*timeout = 0); *bad says which: 1 the mode, 2 the timeout. */
#define MPIPOOL__RECOVERY_DEFAULT 5.0
int mpipool__recovery_parse(const char *mode, const char *secs, const char *ompi, const char *slurm,
                            double *timeout, int *bad);
/* Ranks per group (leader included) for `workers` workers: `requested` if
 * non-zero, else about sqrt(workers) (so the master and each leader have
 * about as many ranks to serve), at least 2. */
size_t mpipool__plan_group(size_t workers, size_t requested);
/* 1 if a map over a pool of `workers` workers should use the hierarchy. */
int mpipool__plan_hier_use(int mode, size_t workers);

/* ---- argument checks (validate.c) ---------------------------------------- */

/* Check the arguments of a fixed-size map.  MPIPOOL_OK, or a code with a
 * message in msg that names the offending argument (without the function
 * name, which the caller prefixes). */
int mpipool__check_map_args(const void *in, size_t in_size, const void *out,
                            size_t out_size, size_t n,
                            const mpipool_map_options *opts, char *msg,
                            size_t msgsz);

#endif
