/*
 * ecg_qrs.h - the integer QRS detector, on the device.
 *
 * C mirror of tools/tinyecg/qrs.py (Detector), specified in
 * docs/preprocessing.md section 3.  Fed the baseline-removed 180 Hz signal w
 * of the chain (ecg_preprocess.h) one sample at a time; reports each R
 * position exactly ECG_LAT samples after it.  C99, no malloc, no float.
 *
 *   Python                     C
 *   Detector.push(w)           ecg_detector_push(&det, w, &r)
 */
#ifndef ECG_QRS_H
#define ECG_QRS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ECG_DER_SHIFT 4
#define ECG_E_MAX 4095
#define ECG_INT_N 27             /* moving integration, 150 ms */
#define ECG_PEAK_K 36            /* candidate: strict max over +-200 ms */
#define ECG_PEAK_RING (2 * ECG_PEAK_K + 1)
#define ECG_LEARN 360            /* 2 s learning */
#define ECG_SPK_INIT_SHIFT 1
#define ECG_NPK_INIT_SHIFT 4
#define ECG_THR_SHIFT 3
#define ECG_TIMEOUT 360
#define ECG_AVG_SHIFT 3
#define ECG_R_SEARCH_A 30
#define ECG_R_SEARCH_B 2
#define ECG_SLOPE_N 28           /* candidate slope: max e over its integration window */
#define ECG_TWAVE 65             /* T-wave rule: < 361 ms after a QRS ... */
#define ECG_TWAVE_SHIFT 1        /* ... and slope < half that QRS's */
#define ECG_RR_AVG_N 8           /* search-back: mean of the last 8 RR (power of two) */
#define ECG_RR_MAX 4095
#define ECG_SB_RR_Q5 53          /* search back after a gap > 53/32 = 1.66 mean RR */
#define ECG_SB_THR_SHIFT 1       /* largest noise peak in the gap, if > THR >> 1 */
#define ECG_SB_SPK_SHIFT 2
#define ECG_SB_LOOK 200          /* at most 200 samples before the new QRS */

/* An R at j is reported when w[j + LAT] arrives (1.48 s): late enough for a
 * searched-back peak SB_LOOK before a QRS that is decided PEAK_K after it. */
#define ECG_LAT (ECG_SB_LOOK + ECG_PEAK_K + ECG_R_SEARCH_A)
#define ECG_W_RING 512           /* power of two, > LAT + 48 */
#define ECG_R_QUEUE 16           /* power of two, > LAT / 37 */

/* Integer Pan-Tompkins-like QRS detector (Python: Detector + _Decisions). */
typedef struct {
    int16_t wr[ECG_W_RING];      /* w history, w[j<0] = 0 */
    int32_t qr[ECG_INT_N];       /* squared slopes */
    int32_t qi;
    int32_t isum;
    int32_t ir[ECG_PEAK_RING];   /* integrated signal history */
    int32_t j;
    int32_t learn_max;
    int32_t spk;
    int32_t npk;
    int32_t last;                /* p of the last QRS or timeout */
    int32_t last_qrs;            /* p of the last QRS, -1 before the first */
    int32_t last_slope;
    int32_t rr[ECG_RR_AVG_N];    /* the last RR intervals between QRS peaks */
    int32_t rr_i;
    int32_t rr_n;
    int32_t rr_sum;
    int32_t nb_c;                /* largest noise peak since the last QRS, -1: none */
    int32_t nb_p;
    int32_t queue[ECG_R_QUEUE];  /* R positions waiting for j == R + LAT */
    int32_t q_head;
    int32_t q_len;
    int32_t n_qrs;
    int32_t n_noise;
} ecg_detector_t;

void ecg_detector_init(ecg_detector_t *det);
/* Returns 1 and stores the R position reported at this sample in *r, else 0. */
int ecg_detector_push(ecg_detector_t *det, int16_t w, int32_t *r);

#ifdef __cplusplus
}
#endif

#endif /* ECG_QRS_H */
