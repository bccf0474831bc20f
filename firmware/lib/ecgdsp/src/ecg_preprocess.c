/*
 * ecg_preprocess.c - the fixed-point signal chain (docs/preprocessing.md).
 *
 * A line-for-line port of the streaming reference in
 * tools/tinyecg/preprocess.py (the QRS detector is in ecg_qrs.c): the same state, the same statements in the
 * same order, so that a reader can hold the two side by side.
 */
#include "ecg_preprocess.h"

#include <string.h>

static const int32_t lp_taps[ECG_LP_TAPS] = {1, 2, 2, 2, 2, 2, 1};

static int16_t sat16(int32_t v)
{
    return (int16_t)(v < ECG_W_MIN ? ECG_W_MIN : (v > ECG_W_MAX ? ECG_W_MAX : v));
}

/* ------------------------------------------------------------------ Frontend */

void ecg_frontend_init(ecg_frontend_t *fe)
{
    memset(fe, 0, sizeof *fe);
}

static void frontend_start(ecg_frontend_t *fe, int16_t x0)
{
    const int32_t v0 = ECG_LP_GAIN * (int32_t)x0;
    for (int k = 0; k < ECG_LP_TAPS; ++k) {
        fe->xr[k] = x0;
    }
    for (int k = 0; k < ECG_BL1; ++k) {
        fe->vr[k] = v0;
    }
    fe->vi = 0;
    fe->s1 = v0 * ECG_BL1;   /* v0 << BL1_LOG2 (as a product: v0 may be negative) */
    for (int k = 0; k < ECG_BL2; ++k) {
        fe->br[k] = v0;
    }
    fe->bi = 0;
    fe->s2 = v0 * ECG_BL2;
    fe->n = 0;
    fe->m = 0;
    fe->started = 1;
}

int ecg_frontend_push(ecg_frontend_t *fe, int16_t x, int16_t *w)
{
    if (!fe->started) {
        frontend_start(fe, x);
    }
    for (int k = ECG_LP_TAPS - 1; k > 0; --k) {
        fe->xr[k] = fe->xr[k - 1];
    }
    fe->xr[0] = x;
    const int32_t n = fe->n;
    fe->n += 1;
    if ((n & 1) == 0) {          /* v[m] = u[2m+1]: only odd n produce output */
        return 0;
    }
    int32_t u = 0;
    for (int k = 0; k < ECG_LP_TAPS; ++k) {
        u += lp_taps[k] * (int32_t)fe->xr[k];
    }
    const int32_t v = u;
    /* box 1 over v (128) */
    fe->s1 += v - fe->vr[fe->vi];
    fe->vr[fe->vi] = v;
    fe->vi = (fe->vi + 1) & (ECG_BL1 - 1);
    const int32_t b1 = (fe->s1 + (1 << (ECG_BL1_LOG2 - 1))) >> ECG_BL1_LOG2;
    /* box 2 over b1 (64) */
    fe->s2 += b1 - fe->br[fe->bi];
    fe->br[fe->bi] = b1;
    fe->bi = (fe->bi + 1) & (ECG_BL2 - 1);
    const int32_t b2 = (fe->s2 + (1 << (ECG_BL2_LOG2 - 1))) >> ECG_BL2_LOG2;
    /* v delayed by BL_DELAY: newest v is at vi-1, so v[m-95] is at vi-1-95 */
    const int32_t vd = fe->vr[(fe->vi - 1 - ECG_BL_DELAY) & (ECG_BL1 - 1)];
    fe->m += 1;
    if (fe->m <= ECG_BL_DELAY) { /* outputs for j < 0: warm-up, dropped */
        return 0;
    }
    *w = sat16(vd - b2);
    return 1;
}

#define WRI(j) ((uint32_t)(j) & (ECG_W_RING - 1u))

/* ----------------------------------------------------------------- Assembler */

void ecg_assembler_init(ecg_assembler_t *as)
{
    memset(as, 0, sizeof *as);
}

void ecg_rr_features(int32_t pre, int32_t post, int32_t hsum, int32_t long_q4, int32_t feats[ECG_N_FEAT])
{
    feats[0] = (pre << 11) / hsum;        /* pre / local mean  (hsum = 8 * mean) */
    feats[1] = (post << 11) / hsum;       /* post / local mean */
    feats[2] = (pre << 12) / long_q4;     /* pre / long mean   (long_q4 = 16 * mean) */
    feats[3] = (post << 12) / long_q4;    /* post / long mean */
    feats[4] = (hsum << 9) / long_q4;     /* local mean / long mean */
    feats[5] = (pre << 8) / ECG_FS;       /* pre in seconds */
    feats[6] = (post << 8) / ECG_FS;      /* post in seconds */
    feats[7] = (post << 8) / pre;         /* post / pre */
    for (int k = 0; k < ECG_N_FEAT; ++k) {
        if (feats[k] > ECG_FEAT_MAX) {
            feats[k] = ECG_FEAT_MAX;
        }
    }
}

static int32_t bit_length(int32_t v)
{
    int32_t n = 0;
    while (v > 0) {
        n += 1;
        v >>= 1;
    }
    return n;
}

static void assembler_finish(ecg_assembler_t *as, int32_t r_next, ecg_beat_t *beat)
{
    int32_t pre = as->cur_r - as->prev_r;
    int32_t post = r_next - as->cur_r;
    if (pre > ECG_RR_CLAMP) {
        pre = ECG_RR_CLAMP;
    }
    if (post > ECG_RR_CLAMP) {
        post = ECG_RR_CLAMP;
    }
    if (as->count == 0) {
        for (int k = 0; k < ECG_RR_HIST; ++k) {
            as->hist[k] = pre;
        }
        as->hsum = pre * ECG_RR_HIST;
        as->long_q4 = pre << 4;
    }
    ecg_rr_features(pre, post, as->hsum, as->long_q4, beat->feats);
    /* update the averages with this beat's pre-RR */
    as->hsum += pre - as->hist[as->hi];
    as->hist[as->hi] = pre;
    as->hi = (as->hi + 1) & (ECG_RR_HIST - 1);
    as->count += 1;
    int32_t s = bit_length(as->count);
    if (s > ECG_LONG_MAX_SHIFT) {
        s = ECG_LONG_MAX_SHIFT;
    }
    as->long_q4 += ((pre << 4) - as->long_q4) >> s;
    beat->r = as->cur_r;
    beat->pre = pre;
    beat->post = post;
    memcpy(beat->window, as->pending, sizeof beat->window);
}

int ecg_assembler_push(ecg_assembler_t *as, int16_t w, const int32_t *r_list, int n_r, ecg_beat_t *beats)
{
    const int32_t j = as->j;
    as->j += 1;
    as->wr[WRI(j)] = w;
    int n_out = 0;
    for (int t = 0; t < n_r; ++t) {
        const int32_t r = r_list[t];
        if (as->have_cur && as->have_prev) {
            assembler_finish(as, r, &beats[n_out]);
            n_out += 1;
        }
        as->prev_r = as->cur_r;
        as->have_prev = as->have_cur;
        as->cur_r = r;
        as->have_cur = 1;
        for (int k = 0; k < ECG_WIN; ++k) {
            as->pending[k] = as->wr[WRI(r - ECG_PRE + k)];
        }
    }
    return n_out;
}

/* --------------------------------------------------------------------- Chain */

void ecg_chain_init(ecg_chain_t *chain)
{
    ecg_frontend_init(&chain->fe);
    ecg_detector_init(&chain->det);
    ecg_assembler_init(&chain->as);
    chain->j = 0;
}

int ecg_chain_push(ecg_chain_t *chain, int16_t x, ecg_beat_t *beat)
{
    int16_t w;
    if (!ecg_frontend_push(&chain->fe, x, &w)) {
        return 0;
    }
    chain->j += 1;
    int32_t r;
    const int n_r = ecg_detector_push(&chain->det, w, &r);
    return ecg_assembler_push(&chain->as, w, &r, n_r, beat);
}

/* ------------------------------------------------------------ requantization */

int8_t ecg_requant_apply(const ecg_requant_t *rq, int32_t x)
{
    /* x * mult < 2^16 * 2^31 fits int64; >> on int64 is floor */
    const int64_t q = (((int64_t)x * rq->mult + ((int64_t)1 << (rq->shift - 1))) >> rq->shift) + rq->zp;
    return (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
}

void ecg_beat_quantize(const ecg_beat_t *beat, const ecg_requant_t *wave_rq, const ecg_requant_t *rr_rq,
                       int8_t *wave, int8_t *rr)
{
    for (int k = 0; k < ECG_WIN; ++k) {
        wave[k] = ecg_requant_apply(wave_rq, beat->window[k]);
    }
    for (int k = 0; k < ECG_N_FEAT; ++k) {
        rr[k] = ecg_requant_apply(rr_rq, beat->feats[k]);
    }
}
