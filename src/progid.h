/*
 * progid.h — what identifies the running program's code, so that a journal
 * written by one build of a program is not resumed by another (issue 21,
 * item 5).  Private; no MPI.
 *
 * The identity is a short string, recorded in each MAP record of a journal:
 *
 *   MPIPOOL_JOURNAL_CODE=<s> set and not empty:  "<s>", verbatim;
 *   else the executable's GNU build id:          "build-id:<hex>";
 *   else size and mtime of /proc/self/exe:       "exe:<bytes>:<sec>.<nsec>";
 *   else                                         "exe:unknown".
 *
 * The build id is the NT_GNU_BUILD_ID note that gcc and clang link into
 * every executable by default on Debian (`readelf -n prog` shows it); it is
 * read from the running program's own PT_NOTE segments in memory
 * (dl_iterate_phdr: the same bytes as the file's, with no file to open,
 * and right even if the file was replaced since the program started).  It
 * changes whenever the executable's contents change.  Tasks in a shared
 * library the program loads are not covered; MPIPOOL_JOURNAL_CODE is the
 * way to name their version.
 */
#ifndef MPIPOOL_PROGID_H
#define MPIPOOL_PROGID_H

#include <stddef.h>

/* The longest identity (MPIPOOL_JOURNAL_CODE longer than this is refused
 * by the journal). */
#define MPIPOOL__PROGID_MAX 1024

/* This program's identity (above) into buf[sz], cut to fit; returns its
 * whole length (>= sz: it was cut).  The environment is read on every
 * call, the executable only once.  Thread-safe. */
size_t mpipool__progid(char *buf, size_t sz);

/* An identity in words, for messages: "build id 45d5...", "the executable
 * of 123 bytes modified 2026-12-04 22:15:03.123456789 UTC", "MPIPOOL_JOURNAL_CODE
 * 'v2'". */
void mpipool__progid_describe(const char *id, char *buf, size_t sz);

/* Find the GNU build id among the notes of one PT_NOTE segment (`len`
 * bytes at `notes`, entries padded to `align`: the segment's p_align, 4 or
 * 8) and write it in lower-case hex to hex[sz].  1 if found (and it fit),
 * else 0.  Never reads past len, whatever the bytes say. */
int mpipool__progid_build_id(const void *notes, size_t len, size_t align, char *hex, size_t sz);

#endif
