/*
 * journal_hash.c — the journal's 64-bit hash: record checksums and the
 * digest of a map's inputs.  Streaming: the result does not depend on how
 * the bytes are split between updates.  Not cryptographic: it finds
 * accidents (a torn or corrupted record, other inputs), not attacks.
 */
#include <string.h>
#include "journal.h"

#define P1 0x9e3779b185ebca87ull
#define P2 0xc2b2ae3d27d4eb4full

static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t mix(uint64_t h, uint64_t w) {
    h ^= rotl(w * P2, 31) * P1;
    return rotl(h, 27) * P1 + 0x85ebca77c2b2ae63ull;
}

void mpipool__hash_init(mpipool__hasher *s) { memset(s, 0, sizeof *s), s->h = 0x27d4eb2f165667c5ull; }

void mpipool__hash_update(mpipool__hasher *s, const void *p, size_t len) {
    const unsigned char *b = p;
    s->total += len;
    while (len > 0 && s->nbuf > 0) {
        s->buf[s->nbuf++] = *b++;
        len--;
        if (s->nbuf == 8) {
            uint64_t w;
            memcpy(&w, s->buf, 8);
            s->h = mix(s->h, w);
            s->nbuf = 0;
        }
    }
    for (; len >= 8; b += 8, len -= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        s->h = mix(s->h, w);
    }
    while (len-- > 0) s->buf[s->nbuf++] = *b++;
}

uint64_t mpipool__hash_final(const mpipool__hasher *s) {
    uint64_t h = s->h;
    for (unsigned i = 0; i < s->nbuf; i++) h = rotl(h ^ (s->buf[i] * P1), 11) * P2;
    h ^= s->total * P1;
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P1;
    h ^= h >> 32;
    return h;
}

uint64_t mpipool__hash(const void *p, size_t len) {
    mpipool__hasher s;
    mpipool__hash_init(&s);
    mpipool__hash_update(&s, p, len);
    return mpipool__hash_final(&s);
}
