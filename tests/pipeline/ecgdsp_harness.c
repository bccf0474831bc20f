/*
 * ecgdsp_harness.c - host driver for the C signal chain (tests only).
 *
 *   ecgdsp_harness det  WM WS WZ RM RS RZ   < samples
 *   ecgdsp_harness ext  WM WS WZ RM RS RZ   < samples + R list
 *
 * stdin:  int32 n, int16 x[n]  (ext: then int32 k, int32 r_j[k], sorted, unique)
 * stdout: int32 n_w, int16 w[n_w]            (ecg_frontend_push)
 *         int32 n_d, int32 r[n_d]            (ecg_detector_push on that w)
 *         int32 n_b, then per beat: int32 r, pre, post, feats[8],
 *                                   int16 window[128], int8 wave[128], int8 rr[8]
 * det: beats from ecg_chain_push (the device's path); ext: frontend +
 * assembler fed the given R positions at R + EXT_LAT (Python Chain(r_raw=...)).
 * WM WS WZ / RM RS RZ: mult, shift, zero point of the two input requantizers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecg_preprocess.h"

static void *xmalloc(size_t n) { void *p = malloc(n ? n : 1); if (!p) exit(3); return p; }

static void put(const void *p, size_t n) { if (fwrite(p, 1, n, stdout) != n) exit(4); }

static void put_beat(const ecg_beat_t *b, const ecg_requant_t *wq, const ecg_requant_t *rq)
{
    int8_t wave[ECG_WIN], rr[ECG_N_FEAT];
    ecg_beat_quantize(b, wq, rq, wave, rr);
    put(&b->r, 4);
    put(&b->pre, 4);
    put(&b->post, 4);
    put(b->feats, sizeof b->feats);
    put(b->window, sizeof b->window);
    put(wave, sizeof wave);
    put(rr, sizeof rr);
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s det|ext WM WS WZ RM RS RZ\n", argv[0]);
        return 2;
    }
    const int ext = strcmp(argv[1], "ext") == 0;
    ecg_requant_t wq = {(int32_t)atol(argv[2]), (int32_t)atol(argv[3]), (int32_t)atol(argv[4])};
    ecg_requant_t rq = {(int32_t)atol(argv[5]), (int32_t)atol(argv[6]), (int32_t)atol(argv[7])};
    int32_t n;
    if (fread(&n, 4, 1, stdin) != 1 || n < 0) return 5;
    int16_t *x = xmalloc((size_t)n * 2);
    if (fread(x, 2, (size_t)n, stdin) != (size_t)n) return 5;
    int32_t k = 0, *rj = 0;
    if (ext) {
        if (fread(&k, 4, 1, stdin) != 1 || k < 0) return 5;
        rj = xmalloc((size_t)k * 4);
        if (fread(rj, 4, (size_t)k, stdin) != (size_t)k) return 5;
    }

    /* stage by stage: w and detections */
    static ecg_frontend_t fe;
    static ecg_detector_t det;
    ecg_frontend_init(&fe);
    ecg_detector_init(&det);
    int16_t *w = xmalloc((size_t)n * 2);
    int32_t *d = xmalloc((size_t)n * 4);
    int32_t n_w = 0, n_d = 0;
    for (int32_t t = 0; t < n; ++t) {
        int16_t v;
        if (ecg_frontend_push(&fe, x[t], &v)) {
            w[n_w++] = v;
            int32_t r;
            if (ecg_detector_push(&det, v, &r)) d[n_d++] = r;
        }
    }
    put(&n_w, 4);
    put(w, (size_t)n_w * 2);
    put(&n_d, 4);
    put(d, (size_t)n_d * 4);

    /* beats: the whole chain (det) or external R positions (ext) */
    ecg_beat_t *beats = xmalloc(sizeof(ecg_beat_t) * ((size_t)n / 2 + 2));
    int32_t n_b = 0;
    if (!ext) {
        static ecg_chain_t chain;
        ecg_chain_init(&chain);
        for (int32_t t = 0; t < n; ++t) {
            n_b += ecg_chain_push(&chain, x[t], &beats[n_b]);
        }
    } else {
        static ecg_assembler_t as;
        ecg_assembler_init(&as);
        int32_t ei = 0;
        for (int32_t j = 0; j < n_w; ++j) {
            int32_t rs[4];
            int n_r = 0;
            while (ei < k && rj[ei] + ECG_EXT_LAT <= j) {
                if (rj[ei] + ECG_EXT_LAT == j && n_r < 4) rs[n_r++] = rj[ei];
                ei++;
            }
            n_b += ecg_assembler_push(&as, w[j], rs, n_r, &beats[n_b]);
        }
    }
    put(&n_b, 4);
    for (int32_t t = 0; t < n_b; ++t) put_beat(&beats[t], &wq, &rq);
    free(beats);
    free(d);
    free(w);
    free(rj);
    free(x);
    return 0;
}
