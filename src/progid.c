/*
 * progid.c — the running program's identity for its journals (what it is:
 * progid.h).  No MPI.
 *
 * Invariant: the default identity is computed once per process (the code
 * that runs cannot change under it), MPIPOOL_JOURNAL_CODE is read on each
 * call, and nothing here fails: without a build id and without /proc the
 * identity is "exe:unknown", which only ever matches itself.
 */
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "progid.h"

#define NT_BUILD_ID 3 /* NT_GNU_BUILD_ID */

static char default_id[MPIPOOL__PROGID_MAX];
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static uint32_t get_u32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, 4); /* notes are in the host's byte order */
    return v;
}

int mpipool__progid_build_id(const void *notes, size_t len, size_t align, char *hex, size_t sz) {
    const unsigned char *p = notes;
    uint64_t off = 0;
    if (align != 8) align = 4;
    /* Each note: namesz, descsz, type (u32 each), the name, the
     * descriptor; the descriptor and the next note start at multiples of
     * `align` from the note's start (as glibc's ELF_NOTE_NEXT_OFFSET). */
    while (len - off >= 12) {
        uint64_t namesz = get_u32(p + off), descsz = get_u32(p + off + 4), type = get_u32(p + off + 8);
        uint64_t desc = (12 + namesz + align - 1) / align * align; /* from the note's start */
        if (desc > len - off || descsz > len - off - desc) return 0;
        if (type == NT_BUILD_ID && namesz == 4 && memcmp(p + off + 12, "GNU", 4) == 0 && descsz > 0) {
            if (2 * descsz + 1 > sz) return 0;
            for (uint64_t i = 0; i < descsz; i++) snprintf(hex + 2 * i, 3, "%02x", p[off + desc + i]);
            return 1;
        }
        uint64_t next = (desc + descsz + align - 1) / align * align;
        if (next > len - off) return 0;
        off += next;
    }
    return 0;
}

/* dl_iterate_phdr's first object is the program itself: look at its
 * PT_NOTE segments, then stop. */
static int from_phdrs(struct dl_phdr_info *info, size_t size, void *ctx) {
    char hex[2 * 64 + 1];
    (void)size;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const void *notes = (const void *)(uintptr_t)(info->dlpi_addr + ph->p_vaddr);
        if (mpipool__progid_build_id(notes, (size_t)ph->p_filesz, (size_t)ph->p_align, hex, sizeof hex)) {
            snprintf(ctx, MPIPOOL__PROGID_MAX, "build-id:%s", hex);
            return 1;
        }
    }
    return 1;
}

static void compute_default(void) {
    struct stat st;
    default_id[0] = '\0';
    dl_iterate_phdr(from_phdrs, default_id);
    if (default_id[0] != '\0') return;
    if (stat("/proc/self/exe", &st) == 0)
        snprintf(default_id, sizeof default_id, "exe:%llu:%lld.%09ld", (unsigned long long)st.st_size,
                 (long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    else
        snprintf(default_id, sizeof default_id, "exe:unknown");
}

size_t mpipool__progid(char *buf, size_t sz) {
    const char *env = getenv("MPIPOOL_JOURNAL_CODE");
    if (env == NULL || env[0] == '\0') {
        pthread_once(&default_once, compute_default);
        env = default_id;
    }
    snprintf(buf, sz, "%s", env);
    return strlen(env);
}

void mpipool__progid_describe(const char *id, char *buf, size_t sz) {
    unsigned long long bytes;
    long long sec;
    long nsec;
    struct tm tm;
    if (strncmp(id, "build-id:", 9) == 0) {
        snprintf(buf, sz, "build id %.128s", id + 9);
    } else if (strcmp(id, "exe:unknown") == 0) {
        snprintf(buf, sz, "an executable that could not be identified");
    } else if (sscanf(id, "exe:%llu:%lld.%ld", &bytes, &sec, &nsec) == 3) {
        time_t t = (time_t)sec;
        char when[64] = "?";
        if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(buf, sz, "the executable of %llu bytes modified %s.%09ld UTC", bytes, when, nsec);
    } else {
        snprintf(buf, sz, "MPIPOOL_JOURNAL_CODE '%.200s'", id);
    }
}
