// One row of a packed copy (packed_q4k.c, packed_q0.c) back in its stored GGUF layout, so that
// readers of single rows (embedding lookups) need not touch the stored pages the copy let go.
// Every stored bit is kept by the packed layouts, so the bytes are the original ones
// (PackedWeightsTests).
#include "cnumerics.h"
#include <string.h>

enum { PR_ROWS = 16 };

static void pr_q8_0(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * 544;
        uint8_t *o = out + (size_t)b * CN_BYTES_Q8_0;
        memcpy(o, gb + 512 + 2 * lane, 2);
        for (int j = 0; j < 8; j++)
            for (int k = 0; k < 4; k++) o[2 + 4 * j + k] = (uint8_t)(gb[j * 64 + lane * 4 + k] ^ 0x80);
    }
}

static void pr_q5_0(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * 352;
        uint8_t *o = out + (size_t)b * CN_BYTES_Q5_0;
        memcpy(o, gb + 320 + 2 * lane, 2);
        uint32_t qh = 0;
        for (int j = 0; j < 8; j++) {
            uint64_t mask;
            memcpy(&mask, gb + 256 + 8 * j, 8);
            qh |= (uint32_t)((mask >> (4 * lane)) & 0xF) << (4 * j);
        }
        memcpy(o + 2, &qh, 4);
        for (int c = 0; c < 4; c++) memcpy(o + 6 + 4 * c, gb + c * 64 + lane * 4, 4);
    }
}

static void pr_q4_K(const uint8_t *g, int blocks, int lane, uint8_t *out) {
    for (int b = 0; b < blocks; b++) {
        const uint8_t *gb = g + (size_t)b * 2368;
        uint8_t *o = out + (size_t)b * CN_BYTES_Q4_K;
        memcpy(o, gb + 2304 + 2 * lane, 2);
        memcpy(o + 2, gb + 2336 + 2 * lane, 2);
        uint8_t sc[8], m[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = gb[2048 + j * PR_ROWS + lane];
            m[j] = gb[2176 + (j / 2) * 32 + lane * 2 + j % 2];
        }
        // the 6-bit scales and mins in Q4_K's 12-byte encoding (the inverse of its decoding)
        uint8_t *s = o + 4;
        for (int j = 0; j < 4; j++) {
            s[j] = (uint8_t)((sc[j] & 63) | (sc[j + 4] >> 4) << 6);
            s[j + 4] = (uint8_t)((m[j] & 63) | (m[j + 4] >> 4) << 6);
            s[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | (m[j + 4] & 0xF) << 4);
        }
        for (int p = 0; p < 4; p++)
            for (int c = 0; c < 8; c++) memcpy(o + 16 + 32 * p + 4 * c, gb + (p * 8 + c) * 64 + lane * 4, 4);
    }
}

int cn_packed_stored_row(int type, const void *packed, int blocks, int row, void *out) {
    const size_t gbytes = type == CN_TYPE_Q8_0 ? 544 : type == CN_TYPE_Q5_0 ? 352 : type == CN_TYPE_Q4_K ? 2368 : 0;
    if (!gbytes || row < 0) return 0;
    const uint8_t *g = (const uint8_t *)packed + (size_t)(row / PR_ROWS) * blocks * gbytes;
    switch (type) {
    case CN_TYPE_Q8_0: pr_q8_0(g, blocks, row % PR_ROWS, out); break;
    case CN_TYPE_Q5_0: pr_q5_0(g, blocks, row % PR_ROWS, out); break;
    default: pr_q4_K(g, blocks, row % PR_ROWS, out); break;
    }
    return 1;
}
