/*
 * signals.c — SIGTERM and SIGINT, when the program asked for them
 * (mpipool_catch_signals): the handler only records the signal; the
 * engine, the worker loop and the one-rank path look at the record between
 * chunks and end their calls with MPIPOOL_EINTR.  Nothing here exits.
 *
 * Invariants:
 *  - handlers are installed at a pool's open only if the program asked and
 *    the disposition is still the default (a program's own handler, or
 *    SIG_IGN, stays in charge), and put back when the last pool closes;
 *  - the handler touches only a sig_atomic_t; a second SIGINT (Ctrl-C
 *    twice) takes the default action at once; a second SIGTERM (a launcher
 *    cleaning up while we flush) is only recorded.
 */
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include "signals.h"

static atomic_int wanted;           /* mpipool_catch_signals was called  */
static int opened;                  /* pools open with our handlers      */
static int installed[2];
static const int sigs[2] = {SIGTERM, SIGINT};
static volatile sig_atomic_t pending;

static void on_signal(int sig) {
    if (pending && sig == SIGINT) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    if (!pending) pending = sig;
}

int mpipool_catch_signals(unsigned flags) {
    if (flags != 0) return MPIPOOL_EINVAL;
    atomic_store(&wanted, 1);
    return MPIPOOL_OK;
}

void mpipool__signals_open(void) {
    if (!atomic_load(&wanted) || opened++ > 0) return;
    for (int i = 0; i < 2; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        if (sigaction(sigs[i], &sa, NULL) == 0) installed[i] = 1;
    }
}

void mpipool__signals_close(void) {
    if (opened == 0 || --opened > 0) return;
    for (int i = 0; i < 2; i++) {
        struct sigaction cur;
        if (installed[i] && sigaction(sigs[i], NULL, &cur) == 0 && cur.sa_handler == on_signal)
            signal(sigs[i], SIG_DFL);
        installed[i] = 0;
    }
}

int mpipool__signal_pending(void) { return pending; }

const char *mpipool__signal_name(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }
