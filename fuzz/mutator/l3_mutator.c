// AFL++ custom mutator for L3 files (docs/FORMAT.md): mutations that know the file's structure,
// and re-sealing of both XXH64 checksums after every mutation (AFL++'s own included), so that
// mutated inputs get past the checksums to the table, patch validation and patch decoders.
//
// - afl_custom_fuzz: edits one patch of the file where the structure says a decision lies: the
//   patch flags, a zero-row bit, a predictor, a group width nibble, a byte of packed groups;
//   or resizes a patch, or copies a patch over another (the table and payload length follow).
// - afl_custom_post_process: sets the payload length and the table's last entry to the bytes
//   actually present, then writes both checksums. One input in 16 (chosen by its hash, so the
//   same input is always treated the same) is left unsealed, so the checksum checks stay covered.
//
// Built by fuzz/install.sh: cc -O2 -shared -fPIC -o l3_mutator.so l3_mutator.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ---- XXH64, seed 0 (the format's checksum) ----
#define P1 11400714785074694791ULL
#define P2 14029467366897019727ULL
#define P3 1609587929392839161ULL
#define P4 9650029242287828579ULL
#define P5 2870177450012600261ULL
static uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint64_t round1(uint64_t acc, uint64_t in) { acc += in * P2; acc = rotl(acc, 31); return acc * P1; }
static uint64_t merge(uint64_t acc, uint64_t v) { acc ^= round1(0, v); return acc * P1 + P4; }

static uint64_t xxh64(const uint8_t *p, size_t len)
{
    const uint8_t *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = P1 + P2, v2 = P2, v3 = 0, v4 = (uint64_t)0 - P1;
        const uint8_t *limit = end - 32;
        do {
            v1 = round1(v1, rd64(p)); v2 = round1(v2, rd64(p + 8));
            v3 = round1(v3, rd64(p + 16)); v4 = round1(v4, rd64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
        h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4);
    } else h = P5;
    h += len;
    for (; p + 8 <= end; p += 8) { h ^= round1(0, rd64(p)); h = rotl(h, 27) * P1 + P4; }
    if (p + 4 <= end) { h ^= (uint64_t)rd32(p) * P1; h = rotl(h, 23) * P2 + P3; p += 4; }
    for (; p < end; p++) { h ^= (uint64_t)*p * P5; h = rotl(h, 11) * P1; }
    h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32;
    return h;
}

// ---- the layout (docs/FORMAT.md) ----
enum { FIXED = 32, CHECKSUM = 8 };

typedef struct {
    uint32_t n, width, height, channels, patches_x, patches, table_end, payload_start;
} layout_t;

// The layout the header claims, or 0 when the fields cannot describe a table inside buf.
static int read_layout(const uint8_t *buf, size_t len, layout_t *l)
{
    if (len < FIXED) return 0;
    l->n = buf[7];
    if (l->n != 8 && l->n != 16 && l->n != 32 && l->n != 64) return 0;
    l->channels = buf[6];
    l->width = rd32(buf + 8);
    l->height = rd32(buf + 12);
    if (l->width == 0 || l->height == 0 || l->width > (1u << 20) || l->height > (1u << 20)) return 0;
    uint64_t px = (l->width + l->n - 1) / l->n, py = (l->height + l->n - 1) / l->n;
    uint64_t table_end = FIXED + 4 * (px * py + 1);
    if (table_end + CHECKSUM > len) return 0;
    l->patches_x = (uint32_t)px;
    l->patches = (uint32_t)(px * py);
    l->table_end = (uint32_t)table_end;
    l->payload_start = (uint32_t)table_end + CHECKSUM;
    return 1;
}

static uint32_t table_entry(const uint8_t *buf, uint32_t i) { return rd32(buf + FIXED + 4 * i); }

// ---- state ----
typedef struct {
    uint64_t rng;
    uint8_t *out, *sealed; // afl_custom_fuzz's output, afl_custom_post_process's
    size_t out_size, sealed_size;
} state_t;

static uint64_t next(state_t *s)
{
    s->rng ^= s->rng << 13; s->rng ^= s->rng >> 7; s->rng ^= s->rng << 17;
    return s->rng;
}
static uint32_t below(state_t *s, uint32_t n) { return n ? (uint32_t)(next(s) % n) : 0; }

static uint8_t *grow(uint8_t **buffer, size_t *capacity, size_t size)
{
    if (size > *capacity) {
        uint8_t *grown = realloc(*buffer, size);
        if (!grown) return NULL;
        *buffer = grown;
        *capacity = size;
    }
    return *buffer;
}
static uint8_t *ensure(state_t *s, size_t size) { return grow(&s->out, &s->out_size, size); }

void *afl_custom_init(void *afl, unsigned int seed)
{
    (void)afl;
    state_t *s = calloc(1, sizeof(state_t));
    if (s) s->rng = 0x9E3779B97F4A7C15ULL ^ seed;
    return s;
}

void afl_custom_deinit(void *data)
{
    state_t *s = data;
    free(s->out);
    free(s->sealed);
    free(s);
}

// Where the parts of channel block `channel` of a patch lie; 0 if the patch ends first.
typedef struct { uint32_t mask, predictors, widths, groups_at, width_bytes, groups_len; } block_t;

static int find_block(const uint8_t *patch, uint32_t length, uint32_t w, uint32_t h, uint32_t channel, block_t *b)
{
    uint32_t at = 1, groups = (w + 7) / 8, mask_bytes = (h + 7) / 8, pred_bytes = (h + 3) / 4;
    for (uint32_t c = 0; c <= channel; c++) {
        if (at + mask_bytes + pred_bytes > length) return 0;
        uint32_t zero_rows = 0;
        for (uint32_t r = 0; r < h; r++) zero_rows += (patch[at + r / 8] >> (r % 8)) & 1;
        b->mask = at;
        b->predictors = at + mask_bytes;
        at += mask_bytes + pred_bytes;
        uint32_t nibbles = (h - zero_rows) * groups, width_bytes = (nibbles + 1) / 2;
        if (at + width_bytes > length) return 0;
        uint32_t sum = 0;
        for (uint32_t i = 0; i < nibbles; i++) sum += (patch[at + i / 2] >> ((i & 1) * 4)) & 0xF;
        b->widths = at;
        b->width_bytes = width_bytes;
        at += width_bytes;
        b->groups_at = at;
        b->groups_len = at + sum <= length ? sum : length - at;
        at += sum;
    }
    return 1;
}

// Replaces patch `index`'s bytes by `bytes` (length `length`), moving the later patches and
// fixing the table and the payload length. Returns the new file's size, or 0.
static size_t replace_patch(state_t *s, const uint8_t *buf, size_t len, const layout_t *l, uint32_t index,
                            const uint8_t *bytes, uint32_t length, size_t max_size)
{
    uint32_t start = table_entry(buf, index), end = table_entry(buf, index + 1);
    if (start > end || l->payload_start + (uint64_t)end > len) return 0;
    size_t size = len - (end - start) + length;
    if (size > max_size || !ensure(s, size)) return 0;
    uint8_t *o = s->out;
    memmove(o, buf, l->payload_start + start);           // header, table, earlier patches
    memmove(o + l->payload_start + start, bytes, length);  // this patch
    memmove(o + l->payload_start + start + length, buf + l->payload_start + end, len - l->payload_start - end);
    int64_t delta = (int64_t)length - (int64_t)(end - start);
    for (uint32_t i = index + 1; i <= l->patches; i++) wr32(o + FIXED + 4 * i, (uint32_t)((int64_t)table_entry(o, i) + delta));
    return size;
}

size_t afl_custom_fuzz(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf,
                       uint8_t *add_buf, size_t add_buf_size, size_t max_size)
{
    state_t *s = data;
    layout_t l;
    *out_buf = buf;
    if (!read_layout(buf, buf_size, &l) || l.patches == 0) {
        // not a file with a table: one random byte, as havoc would
        if (buf_size) buf[below(s, (uint32_t)buf_size)] = (uint8_t)next(s);
        return buf_size;
    }
    uint32_t index = below(s, l.patches);
    uint32_t start = table_entry(buf, index), end = table_entry(buf, index + 1);
    if (start > end || l.payload_start + (uint64_t)end > buf_size) {
        buf[FIXED + 4 * (index + 1)] ^= (uint8_t)(1u << below(s, 8)); // a table entry is wrong already: vary it
        return buf_size;
    }
    uint8_t *patch = buf + l.payload_start + start;
    uint32_t length = end - start;
    uint32_t px = index % l.patches_x, py = index / l.patches_x;
    uint32_t w = l.width - px * l.n < l.n ? l.width - px * l.n : l.n;
    uint32_t h = l.height - py * l.n < l.n ? l.height - py * l.n : l.n;
    uint32_t channels = l.channels >= 1 && l.channels <= 4 ? l.channels : 1;
    block_t b;
    int have_block = length > 0 && find_block(patch, length, w, h, below(s, channels), &b);

    switch (below(s, 9)) {
    case 0: // patch flags
        if (length) patch[0] = (uint8_t)below(s, 3);
        return buf_size;
    case 1: // a zero-row bit (the block's length changes with it: the patch usually becomes invalid)
        if (have_block) patch[b.mask + below(s, h) / 8] ^= (uint8_t)(1u << below(s, 8));
        return buf_size;
    case 2: // a row's predictor
        if (have_block) { uint32_t r = below(s, h); patch[b.predictors + r / 4] ^= (uint8_t)(below(s, 3) + 1) << ((r % 4) * 2); }
        return buf_size;
    case 3: { // a group width, within 0..8 mostly (the payload length then disagrees: see case 5)
        if (!have_block || b.width_bytes == 0) return buf_size;
        uint32_t i = below(s, b.width_bytes * 2), value = below(s, 16) < 14 ? below(s, 9) : 9 + below(s, 7);
        uint8_t *p = patch + b.widths + i / 2;
        *p = (i & 1) ? (uint8_t)((*p & 0x0F) | value << 4) : (uint8_t)((*p & 0xF0) | value);
        return buf_size;
    }
    case 4: // a byte of packed groups
        if (have_block && b.groups_len) patch[b.groups_at + below(s, b.groups_len)] = (uint8_t)next(s);
        else if (length) patch[below(s, length)] ^= (uint8_t)(1u << below(s, 8));
        return buf_size;
    case 5: case 6: { // the patch grows or shrinks by a few bytes at a random place
        uint8_t tmp[64 * 64 * 4 * 2 + 256];
        if (length > sizeof(tmp) - 64) return buf_size;
        memcpy(tmp, patch, length);
        uint32_t at = below(s, length + 1), count = 1 + below(s, 8), new_length = length;
        if (below(s, 2) && length > 0) {
            if (count > length - (at < length ? at : length)) count = length - (at < length ? at : length);
            memmove(tmp + at, tmp + at + count, length - at - count);
            new_length = length - count;
        } else {
            memmove(tmp + at + count, tmp + at, length - at);
            for (uint32_t i = 0; i < count; i++) tmp[at + i] = (uint8_t)below(s, 9); // small values: plausible widths
            new_length = length + count;
        }
        size_t size = replace_patch(s, buf, buf_size, &l, index, tmp, new_length, max_size);
        if (size) *out_buf = s->out;
        return size ? size : buf_size;
    }
    case 7: case 8: { // another patch copied over this one: from this file, or from another input
        const uint8_t *source = buf;
        layout_t from = l;
        if (add_buf && below(s, 2) && read_layout(add_buf, add_buf_size, &from) && from.patches) source = add_buf;
        else from = l;
        uint32_t other = below(s, from.patches);
        uint32_t os = table_entry(source, other), oe = table_entry(source, other + 1);
        size_t source_size = source == buf ? buf_size : add_buf_size;
        if (os > oe || from.payload_start + (uint64_t)oe > source_size) return buf_size;
        uint8_t *copy = malloc(oe - os + 1);
        if (!copy) return buf_size;
        memcpy(copy, source + from.payload_start + os, oe - os);
        size_t size = replace_patch(s, buf, buf_size, &l, index, copy, oe - os, max_size);
        free(copy);
        if (size) *out_buf = s->out;
        return size ? size : buf_size;
    }
    }
    return buf_size;
}

size_t afl_custom_post_process(void *data, uint8_t *buf, size_t buf_size, uint8_t **out_buf)
{
    state_t *s = data;
    layout_t l;
    *out_buf = buf;
    if (xxh64(buf, buf_size) % 16 == 0 || !read_layout(buf, buf_size, &l)) return buf_size;
    uint8_t *o = grow(&s->sealed, &s->sealed_size, buf_size);
    if (!o) return buf_size;
    memcpy(o, buf, buf_size);
    uint32_t payload_length = (uint32_t)(buf_size - l.payload_start);
    wr32(o + 20, payload_length);
    wr32(o + FIXED + 4 * l.patches, payload_length);
    wr64(o + 24, xxh64(o + l.payload_start, payload_length));
    wr64(o + l.table_end, xxh64(o, l.table_end));
    *out_buf = o;
    return buf_size;
}

#ifdef L3_MUTATOR_SELFTEST
// cc -DL3_MUTATOR_SELFTEST -o selftest l3_mutator.c; ./selftest IN OUT [MUTATIONS]: applies
// MUTATIONS structure-aware mutations (0: none) to IN, re-seals it and writes OUT.
#include <stdio.h>
int main(int argc, char **argv)
{
    if (argc < 3) return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) return 1;
    static uint8_t in[1 << 22];
    size_t size = fread(in, 1, sizeof(in), f);
    fclose(f);
    void *state = afl_custom_init(NULL, argc > 4 ? (unsigned)atoi(argv[4]) : 1);
    int mutations = argc > 3 ? atoi(argv[3]) : 0;
    uint8_t *buf = in;
    for (int i = 0; i < mutations; i++) {
        uint8_t *out;
        size = afl_custom_fuzz(state, buf, size, &out, NULL, 0, sizeof(in));
        if (out != in) { memcpy(in, out, size); }
        buf = in;
    }
    uint8_t *sealed;
    size = afl_custom_post_process(state, buf, size, &sealed);
    f = fopen(argv[2], "wb");
    fwrite(sealed, 1, size, f);
    fclose(f);
    afl_custom_deinit(state);
    return 0;
}
#endif
