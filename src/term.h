/*
 * term.h — the terminal rules of a progress display (term.c), the one place
 * that decides them for the library (progress.c, MPIPOOL_PROGRESS) and for
 * mpipool-run (tools/progress.c, --progress/--eta/--bar).  Private; MPI-free;
 * compiled into both.
 */
#ifndef MPIPOOL_TERM_H
#define MPIPOOL_TERM_H

#include <stdio.h>

enum {
    MPIPOOL__TERM_LINES = 1,  /* plain lines, one per interval, each whole  */
    MPIPOOL__TERM_REDRAW = 2  /* one line redrawn in place with \r         */
};

/* How to draw on a stream that is a terminal (`is_tty`) or not, with
 * `force` (MPIPOOL_PROGRESS's value): "bar" -> REDRAW, "log" -> LINES;
 * anything else (NULL, "1") -> REDRAW on a terminal only.  A pipe is not
 * a terminal: under mpirun or srun rank 0's stderr is the launcher's pipe,
 * which may end in a terminal or in a CI log, and a log full of \r redraws
 * is unreadable, so plain lines are the default there ("bar" forces it). */
int mpipool__term_style(int is_tty, const char *force);
/* The same for file descriptor `fd`. */
int mpipool__term_style_fd(int fd, const char *force);
/* Columns to draw in: `ws_cols` (the terminal's, 0 if unknown), else
 * $COLUMNS (`columns`, a number 20..1000), else 0: unknown (a pipe's far
 * end), and then a line is not cut. */
int mpipool__term_width(int ws_cols, const char *columns);
/* The same for `fd`: a terminal's window size, else $COLUMNS; 0 when
 * `fd` is not a terminal. */
int mpipool__term_width_fd(int fd);
/* Seconds between draws: REDRAW 5 times a second, LINES every 10 s. */
#define MPIPOOL__TERM_REDRAW_INTERVAL 0.2
#define MPIPOOL__TERM_LINES_INTERVAL 10.0
double mpipool__term_interval(int style);
/* Draw `text` (no \r, no newline) as the display's line on `out`: REDRAW
 * "\r" + text cut to width - 1 columns if the width is known (a wrapped
 * line cannot be redrawn)
 * + clear to the end of the line, and a newline if `final` (the last line
 * stays); LINES: text + newline, never cut.  Flushes. */
void mpipool__term_draw(FILE *out, int style, int width, const char *text, int final);
/* Take a redrawn line off the screen (REDRAW: \r + clear; LINES: nothing,
 * a line once written stays). */
void mpipool__term_erase(FILE *out, int style);

#endif
