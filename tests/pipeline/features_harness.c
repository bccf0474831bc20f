/*
 * features_harness.c - host driver for the C patient-adaptive stage (tests only).
 *
 *   features_harness det  WM WS WZ RM RS RZ  < samples
 *   features_harness ext  WM WS WZ RM RS RZ  < samples + R list
 *
 * stdin:  int32 n, int16 x[n]  (ext: then int32 k, int32 r_j[k], sorted, unique)
 * stdout: int32 n_b, then per beat: int32 r, int16 diff[128], int32 extra[8],
 *         int8 wave[128 * 2], int8 rr[16] (ecg_features_quantize, both channels, 16 features)
 * det: beats from ecg_chain_push (the device's path); ext: frontend +
 * assembler fed the given R positions at R + EXT_LAT; every beat then goes
 * through ecg_features_push in order.  WM WS WZ / RM RS RZ: mult, shift, zero
 * point of the waveform and feature requantizers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecg_features.h"

static void *xmalloc(size_t n) { void *p = malloc(n ? n : 1); if (!p) exit(3); return p; }

static void put(const void *p, size_t n) { if (fwrite(p, 1, n, stdout) != n) exit(4); }

int main(int argc, char **argv)
{
    if (argc != 8 || (strcmp(argv[1], "det") != 0 && strcmp(argv[1], "ext") != 0)) {
        fprintf(stderr, "usage: %s det|ext WM WS WZ RM RS RZ\n", argv[0]);
        return 2;
    }
    const int ext = strcmp(argv[1], "ext") == 0;
    const ecg_requant_t wq = {(int32_t)atol(argv[2]), (int32_t)atol(argv[3]), (int32_t)atol(argv[4])};
    const ecg_requant_t rq = {(int32_t)atol(argv[5]), (int32_t)atol(argv[6]), (int32_t)atol(argv[7])};
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
    ecg_beat_t *beats = xmalloc(sizeof(ecg_beat_t) * ((size_t)n / 2 + 2));
    int32_t n_b = 0;
    if (!ext) {
        static ecg_chain_t chain;
        ecg_chain_init(&chain);
        for (int32_t t = 0; t < n; ++t) {
            n_b += ecg_chain_push(&chain, x[t], &beats[n_b]);
        }
    } else {
        static ecg_frontend_t fe;
        static ecg_assembler_t as;
        ecg_frontend_init(&fe);
        ecg_assembler_init(&as);
        int32_t ei = 0, j = 0;
        for (int32_t t = 0; t < n; ++t) {
            int16_t w;
            if (!ecg_frontend_push(&fe, x[t], &w)) continue;
            int32_t rs[4];
            int n_r = 0;
            while (ei < k && rj[ei] + ECG_EXT_LAT <= j) {
                if (rj[ei] + ECG_EXT_LAT == j && n_r < 4) rs[n_r++] = rj[ei];
                ei++;
            }
            n_b += ecg_assembler_push(&as, w, rs, n_r, &beats[n_b]);
            j++;
        }
    }
    static ecg_features_t ft;
    ecg_features_init(&ft);
    put(&n_b, 4);
    for (int32_t t = 0; t < n_b; ++t) {
        int16_t diff[ECG_WIN];
        int32_t extra[ECG_FT_N_EXTRA];
        int8_t wave[ECG_WIN * 2], rr[ECG_FT_N_FEAT];
        ecg_features_push(&ft, &beats[t], diff, extra);
        ecg_features_quantize(&beats[t], diff, extra, &wq, &rq, 2, ECG_FT_N_FEAT, wave, rr);
        put(&beats[t].r, 4);
        put(diff, sizeof diff);
        put(extra, sizeof extra);
        put(wave, sizeof wave);
        put(rr, sizeof rr);
    }
    free(beats);
    free(rj);
    free(x);
    return 0;
}
