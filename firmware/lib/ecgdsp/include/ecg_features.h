/*
 * ecg_features.h - patient-adaptive beat inputs, on the device.
 *
 * C mirror of tools/tinyecg/features.py (emlearn style: this header <-> that
 * module), specified in docs/preprocessing.md section 5.  Runs once per beat
 * the chain (ecg_preprocess.h) emits and adds what this patient's normal
 * looks like: a running template of the patient's regular beats, the beat
 * minus that template (a second waveform channel), RR intervals relative to
 * longer-horizon averages, the recent rhythm's irregularity, and the QRS's
 * distance and amplitude relative to the template.
 *
 *   Python                         C
 *   FeatureSpec / SPEC             ECG_FT_* constants
 *   Features.push(window, pre,     ecg_features_push(&ft, &beat, diff, extra)
 *                 post, feats)
 *   InputQuant.apply(*inputs(...)) ecg_features_quantize(&beat, diff, extra, ...)
 *
 * Bit-exact with the Python (tests/pipeline/test_features_parity.py).  C99,
 * no malloc, no floating point; about 0.6 KiB of state.
 */
#ifndef ECG_FEATURES_H
#define ECG_FEATURES_H

#include <stdint.h>

#include "ecg_preprocess.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECG_FT_TPL_SHIFT 5       /* template: running average, weight 1/32 after warm-up */
#define ECG_FT_TPL_BOOT 8        /* the first 8 template beats need only a regular RR */
#define ECG_FT_REG_LO 218        /* regular: pre/local and post/local (Q8) in [0.85, 1.2] */
#define ECG_FT_REG_HI 307
#define ECG_FT_MATCH_MAX 128     /* after warm-up a template beat must match: QRS distance <= 0.5 */
#define ECG_FT_RESEED 64         /* 64 beats in a row without a template update: warm up again */
#define ECG_FT_QRS_A 9           /* QRS region: window indices PRE - 9 .. PRE + 13 (50 / 72 ms) */
#define ECG_FT_QRS_B 13
#define ECG_FT_VLONG_SHIFT 11    /* very long RR average: weight 1/2048 after warm-up */
#define ECG_FT_NORMAL_SHIFT 5    /* normal RR: average pre-RR of template beats, weight 1/32 */
#define ECG_FT_IRR_N 8           /* irregularity and local mean over the last 8 RR intervals */
#define ECG_FT_COUNT_MAX 65535   /* beat counters saturate (far above every 2^shift they feed) */
#define ECG_FT_N_EXTRA 8         /* extra Q8 features, after the chain's 8 */
#define ECG_FT_N_FEAT (ECG_N_FEAT + ECG_FT_N_EXTRA)

typedef struct {
    int32_t tpl[ECG_WIN];        /* template, Q4 (x16) */
    int32_t seeded;              /* a template exists */
    int32_t tpl_n;               /* template updates since (re)seeding */
    int32_t miss;                /* beats in a row without a template update */
    int32_t rr[ECG_FT_IRR_N + 1];  /* the last 9 pre-RR values (ring, rr[ri] = oldest) */
    int32_t ri;
    int32_t count;               /* beats seen */
    int32_t vlong;               /* very long RR average, Q4 */
    int32_t normal;              /* normal RR average, Q4 */
    int32_t normal_n;
} ecg_features_t;

void ecg_features_init(ecg_features_t *ft);

/* For the beat the chain just emitted: diff[k] = window[k] - template[k]
 * (saturated to int16) and the 8 extra Q8 features (0..1023) in the order of
 * features.EXTRA_NAMES; then the template and averages learn from the beat. */
void ecg_features_push(ecg_features_t *ft, const ecg_beat_t *beat, int16_t diff[ECG_WIN],
                       int32_t extra[ECG_FT_N_EXTRA]);

/* The model's two int8 inputs for a beat (Python: InputQuant.apply(*features.inputs(...))):
 * wave[k * channels + c] for channel c = 0 (the beat window) and, when channels is 2,
 * c = 1 (diff); rr[0..7] the chain's features and, when n_feat is 16, rr[8..15] extra. */
void ecg_features_quantize(const ecg_beat_t *beat, const int16_t diff[ECG_WIN],
                           const int32_t extra[ECG_FT_N_EXTRA], const ecg_requant_t *wave_rq,
                           const ecg_requant_t *rr_rq, int channels, int n_feat, int8_t *wave, int8_t *rr);

#ifdef __cplusplus
}
#endif

#endif /* ECG_FEATURES_H */
