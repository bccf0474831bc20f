/*
 * ecg_features.c - patient-adaptive beat inputs (docs/preprocessing.md section 5).
 *
 * A line-for-line port of Features.push in tools/tinyecg/features.py: the
 * same state and the same statements in the same order.
 */
#include "ecg_features.h"

#include <string.h>

static int32_t bit_length(int32_t n)
{
    int32_t b = 0;
    while (n > 0) {
        b += 1;
        n >>= 1;
    }
    return b;
}

static int32_t min_i32(int32_t a, int32_t b) { return a < b ? a : b; }

static int32_t abs_i32(int32_t v) { return v < 0 ? -v : v; }

/* min((num << shift) / den, FEAT_MAX) for num >= 0, den >= 1 (no overflow: see the spec) */
static int32_t ratio_q8(int32_t num, int32_t den, int shift)
{
    return min_i32((num << shift) / den, ECG_FEAT_MAX);
}

void ecg_features_init(ecg_features_t *ft)
{
    memset(ft, 0, sizeof *ft);
}

void ecg_features_push(ecg_features_t *ft, const ecg_beat_t *beat, int16_t diff[ECG_WIN],
                       int32_t extra[ECG_FT_N_EXTRA])
{
    const int16_t *win = beat->window;
    const int32_t pre = beat->pre, post = beat->post;
    const int n = ECG_FT_IRR_N + 1;
    if (ft->count == 0) {
        for (int k = 0; k < n; ++k) {
            ft->rr[k] = pre;
        }
        ft->vlong = pre << 4;
        ft->normal = pre << 4;
    }
    /* ---- comparison with the template of the beats before this one */
    int32_t sad_d = 0, sad_t = 0;
    int32_t w_min = 0, w_max = 0, t_min = 0, t_max = 0;
    for (int k = 0; k < ECG_WIN; ++k) {
        /* no template yet: the beat is its own */
        const int32_t t = ft->seeded ? (ft->tpl[k] + 8) >> 4 : win[k];
        const int32_t d = (int32_t)win[k] - t;
        diff[k] = (int16_t)(d < ECG_W_MIN ? ECG_W_MIN : (d > ECG_W_MAX ? ECG_W_MAX : d));
        if (k >= ECG_PRE - ECG_FT_QRS_A && k <= ECG_PRE + ECG_FT_QRS_B) {
            sad_d += abs_i32(diff[k]);
            sad_t += abs_i32(t);
            if (k == ECG_PRE - ECG_FT_QRS_A || win[k] < w_min) w_min = win[k];
            if (k == ECG_PRE - ECG_FT_QRS_A || win[k] > w_max) w_max = win[k];
            if (k == ECG_PRE - ECG_FT_QRS_A || t < t_min) t_min = t;
            if (k == ECG_PRE - ECG_FT_QRS_A || t > t_max) t_max = t;
        }
    }
    const int32_t dist = ratio_q8(sad_d, sad_t > 1 ? sad_t : 1, 8);
    const int32_t amp = ratio_q8(w_max - w_min, t_max - t_min > 1 ? t_max - t_min : 1, 8);
    /* ---- rhythm context (the RR values before this beat's own pre) */
    int32_t irr = 0, hsum = 0;
    for (int k = 0; k < ECG_FT_IRR_N; ++k) {
        const int32_t r0 = ft->rr[(ft->ri + k) % n];
        const int32_t r1 = ft->rr[(ft->ri + k + 1) % n];
        irr += abs_i32(r1 - r0);
        hsum += r1;
    }
    extra[0] = ratio_q8(irr, hsum > 1 ? hsum : 1, 8);   /* mean |dRR| / mean RR */
    extra[1] = ratio_q8(pre, ft->vlong, 12);
    extra[2] = ratio_q8(post, ft->vlong, 12);
    extra[3] = ratio_q8(hsum, ft->vlong, 9);            /* (hsum / 8) / (vlong / 16) */
    extra[4] = ratio_q8(pre, ft->normal, 12);
    extra[5] = ratio_q8(post, ft->normal, 12);
    extra[6] = dist;
    extra[7] = amp;
    /* ---- updates, after the features (as the chain's RR averages) */
    const int32_t f0 = beat->feats[0], f1 = beat->feats[1];
    const int regular = f0 >= ECG_FT_REG_LO && f0 <= ECG_FT_REG_HI && f1 >= ECG_FT_REG_LO && f1 <= ECG_FT_REG_HI;
    const int match = ft->tpl_n < ECG_FT_TPL_BOOT || dist <= ECG_FT_MATCH_MAX;
    if (regular && match) {
        if (ft->tpl_n == 0) { /* seeding (or re-seeding): the beat itself */
            for (int k = 0; k < ECG_WIN; ++k) {
                ft->tpl[k] = (int32_t)win[k] * 16; /* a product: win may be negative */
            }
            ft->seeded = 1;
        } else {
            const int32_t sh = min_i32(ECG_FT_TPL_SHIFT, bit_length(ft->tpl_n));
            for (int k = 0; k < ECG_WIN; ++k) {
                ft->tpl[k] += ((int32_t)win[k] * 16 - ft->tpl[k]) >> sh;
            }
        }
        ft->tpl_n = min_i32(ft->tpl_n + 1, ECG_FT_COUNT_MAX);
        ft->miss = 0;
        ft->normal_n = min_i32(ft->normal_n + 1, ECG_FT_COUNT_MAX);
        const int32_t sh = min_i32(ECG_FT_NORMAL_SHIFT, bit_length(ft->normal_n));
        ft->normal += ((pre << 4) - ft->normal) >> sh;
    } else {
        ft->miss += 1;
        if (ft->miss >= ECG_FT_RESEED) { /* lost the patient's beat: warm up again, */
            ft->tpl_n = 0;               /* comparing with the old template meanwhile */
            ft->miss = 0;
        }
    }
    ft->rr[ft->ri] = pre;
    ft->ri = (ft->ri + 1) % n;
    ft->count = min_i32(ft->count + 1, ECG_FT_COUNT_MAX);
    const int32_t sh = min_i32(ECG_FT_VLONG_SHIFT, bit_length(ft->count));
    ft->vlong += ((pre << 4) - ft->vlong) >> sh;
}

void ecg_features_quantize(const ecg_beat_t *beat, const int16_t diff[ECG_WIN],
                           const int32_t extra[ECG_FT_N_EXTRA], const ecg_requant_t *wave_rq,
                           const ecg_requant_t *rr_rq, int channels, int n_feat, int8_t *wave, int8_t *rr)
{
    for (int k = 0; k < ECG_WIN; ++k) {
        wave[k * channels] = ecg_requant_apply(wave_rq, beat->window[k]);
        if (channels > 1) {
            wave[k * channels + 1] = ecg_requant_apply(wave_rq, diff[k]);
        }
    }
    for (int k = 0; k < n_feat; ++k) {
        rr[k] = ecg_requant_apply(rr_rq, k < ECG_N_FEAT ? beat->feats[k] : extra[k - ECG_N_FEAT]);
    }
}
