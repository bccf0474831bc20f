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

#define ECG_LAT 80               /* an R at j is reported when w[j + LAT] arrives */
#define ECG_W_RING 256           /* power of two */
#define ECG_R_QUEUE 8            /* power of two */

/* Integer Pan-Tompkins-like QRS detector (Python: Detector). */
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
    int32_t queue[ECG_R_QUEUE];  /* R positions waiting for j == R + LAT */
    int32_t q_head;
    int32_t q_len;
    int32_t last;
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
