/*
 * ecg_rhythm.h - rhythm from the beat stream, on the device.
 *
 * C mirror of tools/tinyecg/rhythm.py, specified in docs/rhythm.md.  Fed one
 * classified beat at a time (R position at 180 Hz, class, pre-RR); emits
 * heart-rate measurements, VEB/SVEB runs, atrial fibrillation onsets and
 * offsets and 5-minute HRV figures.  Bit-exact with the Python
 * (tests/pipeline/test_rhythm_parity.py).  C99, no malloc, no float.
 *
 *   Python                     C
 *   Rhythm.push(r, cls, pre)   ecg_rhythm_push(&rh, r, cls, pre, events)
 *   Rhythm.reported_class(cls) ecg_rhythm_reported_class(&rh, cls)
 *   isqrt(v)                   ecg_isqrt64(v)
 */
#ifndef ECG_RHYTHM_H
#define ECG_RHYTHM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ECG_RH_FS 180
enum { ECG_RH_HR = 1, ECG_RH_RUN = 2, ECG_RH_AF_ON = 3, ECG_RH_AF_OFF = 4, ECG_RH_HRV = 5 };
#define ECG_RH_CLS_N 0
#define ECG_RH_CLS_S 1
#define ECG_RH_CLS_V 2

#define ECG_RH_HR_N 8                       /* mean of the last 8 RR (power of two) */
#define ECG_RH_HR_PERIOD (10 * ECG_RH_FS)   /* one HR measurement per 10 s */
#define ECG_RH_HR_X10 (10 * 60 * ECG_RH_FS)
#define ECG_RH_AF_D_MAX 256
#define ECG_RH_AF_MED_N 8
#define ECG_RH_AF_MED_K 4
#define ECG_RH_AF_N 32
#define ECG_RH_AF_ON_Q8 32
#define ECG_RH_AF_OFF_Q8 24
#define ECG_RH_AF_PAUSE_X16 24              /* RR > 1.5 x mean of the last 8 RR: a pause */
#define ECG_RH_REG_LAGS 3                   /* regularity veto: RR(n) vs RR(n-1..3) ... */
#define ECG_RH_REG_W 32                     /* ... over the last 32 beats (one 32-bit word) ... */
#define ECG_RH_REG_TOL_Q8 16                /* ... within 1/16 of their mean ... */
#define ECG_RH_REG_MIN 14                   /* ... in at least 14 of them */
#define ECG_RH_HRV_WINDOW (300 * ECG_RH_FS)
#define ECG_RH_NN50 9
#define ECG_RH_HRV_MIN_NN 2
#define ECG_RH_MAX_EVENTS 4                 /* per beat: HR, RUN, HRV, AF */

/* One rhythm event (Python: Event); the meaning of a..f depends on kind. */
typedef struct {
    int32_t kind;
    int32_t t;
    int32_t a, b, c, d, e, f;
} ecg_rhythm_event_t;

typedef struct {
    int32_t hr_rr[ECG_RH_HR_N];
    int32_t hr_i, hr_n, hr_sum, hr_next;
    int32_t run_cls, run_len, run_start, run_end;
    int32_t prev_rr, prev_cls, af_prev_nn;
    int32_t reg_rr[ECG_RH_REG_LAGS];  /* the last RR of every beat, newest first */
    int32_t reg_n;
    uint32_t reg_bits[ECG_RH_REG_LAGS]; /* per lag: match history, bit 0 = newest */
    int32_t reg_cnt[ECG_RH_REG_LAGS];
    int32_t regular;
    int32_t med[ECG_RH_AF_MED_N];
    int32_t med_i, med_n;
    int32_t af_m[ECG_RH_AF_N];
    int32_t af_t[ECG_RH_AF_N];
    int32_t af_i, af_n, af_sum, af;
    int32_t hrv_win, nn_n, prev_nn, dd_n, nn50;
    int64_t nn_s1, nn_s2, dd_s2;
    int32_t count;
} ecg_rhythm_t;

void ecg_rhythm_init(ecg_rhythm_t *rh);
/* One classified beat (r: chain index j, cls: 0 N 1 S 2 V 3 F, other: none,
 * pre: RR before it, 1..4095).  Writes up to ECG_RH_MAX_EVENTS events, returns
 * how many. */
int ecg_rhythm_push(ecg_rhythm_t *rh, int32_t r, int32_t cls, int32_t pre, ecg_rhythm_event_t *events);

/* The class to report for the next beat, which the classifier called cls:
 * S (1) becomes N (0) while an AF episode is on -- in AF there is no sinus
 * rhythm for an atrial beat to be premature to (docs/rhythm.md).  Ask before
 * ecg_rhythm_push, and push the reported class. */
int32_t ecg_rhythm_reported_class(const ecg_rhythm_t *rh, int32_t cls);

/* floor(sqrt(v)) */
uint32_t ecg_isqrt64(uint64_t v);

#ifdef __cplusplus
}
#endif

#endif /* ECG_RHYTHM_H */
