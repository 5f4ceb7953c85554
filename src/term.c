/*
 * term.c — the terminal rules of every progress display, the library's
 * (progress.c) and mpipool-run's (tools/progress.c): when to redraw one
 * line in place with \r and when to print plain lines (a file, a pipe, a
 * CI log), how wide a redrawn line may be, and how the last line ends.
 * No MPI, no pool, no state: the callers keep their own counts and clocks.
 *
 * Invariant: a redrawn line never reaches the terminal's last column (it
 * would wrap, and the next \r would redraw only its second half); a plain
 * line is always whole, ended by a newline.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "term.h"

int mpipool__term_style(int is_tty, const char *force) {
    if (force && strcmp(force, "bar") == 0) return MPIPOOL__TERM_REDRAW;
    if (force && strcmp(force, "log") == 0) return MPIPOOL__TERM_LINES;
    return is_tty ? MPIPOOL__TERM_REDRAW : MPIPOOL__TERM_LINES;
}

int mpipool__term_style_fd(int fd, const char *force) { return mpipool__term_style(isatty(fd), force); }

int mpipool__term_width(int ws_cols, const char *columns) {
    if (ws_cols > 0) return ws_cols;
    if (columns && columns[0]) {
        char *end;
        long c = strtol(columns, &end, 10);
        if (*end == '\0' && c >= 20 && c <= 1000) return (int)c;
    }
    return 0;
}

int mpipool__term_width_fd(int fd) {
    struct winsize ws;
    if (!isatty(fd)) return 0; /* a pipe or a file: nobody knows its width */
    int cols = ioctl(fd, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
    return mpipool__term_width(cols, getenv("COLUMNS"));
}

double mpipool__term_interval(int style) {
    return style == MPIPOOL__TERM_REDRAW ? MPIPOOL__TERM_REDRAW_INTERVAL : MPIPOOL__TERM_LINES_INTERVAL;
}

void mpipool__term_draw(FILE *out, int style, int width, const char *text, int final) {
    if (style == MPIPOOL__TERM_REDRAW) {
        int room = width > 1 ? width - 1 : (int)strlen(text);
        fprintf(out, "\r%.*s\033[K%s", room, text, final ? "\n" : "");
    } else {
        fprintf(out, "%s\n", text);
    }
    fflush(out);
}

void mpipool__term_erase(FILE *out, int style) {
    if (style != MPIPOOL__TERM_REDRAW) return;
    fputs("\r\033[K", out);
    fflush(out);
}
