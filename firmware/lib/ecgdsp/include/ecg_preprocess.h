/*
 * ecg_preprocess.h - the tinyecg fixed-point signal chain, on the device.
 *
 * C mirror of tools/tinyecg/preprocess.py (emlearn style: this header <->
 * that module), specified in docs/preprocessing.md.  Raw ADC samples (int16,
 * 360 Hz, 200 adu/mV) go in one at a time; beats (R position, RR features,
 * a 128-sample window) come out.  Bit-exact with the Python streaming
 * reference (tests/pipeline/test_ecgdsp_parity.py holds them equal).
 *
 *   Python                     C
 *   Frontend.push(x)           ecg_frontend_push(&fe, x, &w)
 *   Detector.push(w)           ecg_detector_push(&det, w, &r)   (ecg_qrs.h)
 *   Assembler.push(w, r_list)  ecg_assembler_push(&as, w, r_list, n, &beat)
 *   Chain.push(x)              ecg_chain_push(&chain, x, &beat)
 *   rr_features(...)           ecg_rr_features(...)
 *   Requant.apply_one(x)       ecg_requant_apply(&rq, x)
 *
 * C99, no malloc, no floating point.  All state lives in the structs (about
 * 2.2 KiB for a whole chain); every buffer is a bounded ring.  Counters are
 * int32: a stream may run 2^31 samples at 180 Hz (138 days) before they wrap.
 * `>>` on negative signed values is an arithmetic shift (floor), as GCC and
 * Clang do on every target tinyecg builds for.
 */
#ifndef ECG_PREPROCESS_H
#define ECG_PREPROCESS_H

#include <stdint.h>

#include "ecg_qrs.h"   /* the QRS detector (section 3): ecg_detector_t, ECG_LAT, ECG_W_RING */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- constants */
#define ECG_FS_IN 360            /* raw input rate (Hz) */
#define ECG_DECIM 2
#define ECG_FS (ECG_FS_IN / ECG_DECIM)   /* 180 Hz: v, w, detector, windows */
#define ECG_LP_TAPS 7            /* (1,2,2,2,2,2,1), gain 12 */
#define ECG_LP_GAIN 12
#define ECG_BL1_LOG2 7           /* baseline box 1: 128 samples */
#define ECG_BL2_LOG2 6           /* baseline box 2: 64 samples */
#define ECG_BL1 (1 << ECG_BL1_LOG2)
#define ECG_BL2 (1 << ECG_BL2_LOG2)
#define ECG_BL_DELAY 95
#define ECG_W_MIN (-32768)
#define ECG_W_MAX 32767

#define ECG_PRE 48
#define ECG_POST 79
#define ECG_WIN (ECG_PRE + 1 + ECG_POST)   /* 128 */
#define ECG_EXT_LAT 80           /* external R (annotations) reach the assembler at R + 80 */

#define ECG_RR_HIST 8            /* power of two */
#define ECG_LONG_MAX_SHIFT 8
#define ECG_RR_CLAMP 4095
#define ECG_FEAT_MAX 1023
#define ECG_N_FEAT 8

/* ------------------------------------------------------------------- types */

/* Low-pass + decimate + baseline removal (Python: Frontend). */
typedef struct {
    int32_t started;
    int16_t xr[ECG_LP_TAPS];     /* xr[k] = x[n-k] */
    int32_t vr[ECG_BL1];         /* v ring (also the 95-sample delay line) */
    int32_t vi;
    int32_t s1;
    int32_t br[ECG_BL2];         /* b1 ring */
    int32_t bi;
    int32_t s2;
    int32_t n;                   /* raw samples seen */
    int32_t m;                   /* v samples produced */
} ecg_frontend_t;

/* One beat, emitted when the next R arrives (Python: Beat). */
typedef struct {
    int32_t r;                   /* chain index j of the R peak (raw sample 2r - 2) */
    int32_t pre;                 /* RR before, samples at 180 Hz (clamped) */
    int32_t post;                /* RR after */
    int32_t feats[ECG_N_FEAT];   /* Q8 RR features, 0..1023 */
    int16_t window[ECG_WIN];     /* w[r - PRE .. r + POST] */
} ecg_beat_t;

/* Beat windows + RR features (Python: Assembler). */
typedef struct {
    int16_t wr[ECG_W_RING];
    int32_t j;
    int32_t have_prev;
    int32_t have_cur;
    int32_t prev_r;
    int32_t cur_r;
    int16_t pending[ECG_WIN];
    int32_t hist[ECG_RR_HIST];
    int32_t hi;
    int32_t hsum;
    int32_t long_q4;
    int32_t count;
} ecg_assembler_t;

/* The whole device chain (Python: Chain without external R positions). */
typedef struct {
    ecg_frontend_t fe;
    ecg_detector_t det;
    ecg_assembler_t as;
    int32_t j;                   /* w samples produced */
} ecg_chain_t;

/* q = clamp(((x * mult + (1 << (shift - 1))) >> shift) + zp, -128, 127)
 * (Python: Requant). */
typedef struct {
    int32_t mult;
    int32_t shift;               /* 1 .. 62 */
    int32_t zp;
} ecg_requant_t;

/* --------------------------------------------------------------- functions */

void ecg_frontend_init(ecg_frontend_t *fe);
/* Returns 1 and stores w in *w when this sample completes one, else 0. */
int ecg_frontend_push(ecg_frontend_t *fe, int16_t x, int16_t *w);

void ecg_assembler_init(ecg_assembler_t *as);
/* r_list: the n_r R positions reported at this sample (n_r <= 1 from the
 * detector).  Returns the number of beats written to beats[] (<= n_r). */
int ecg_assembler_push(ecg_assembler_t *as, int16_t w, const int32_t *r_list, int n_r,
                       ecg_beat_t *beats);

void ecg_chain_init(ecg_chain_t *chain);
/* Returns 1 when a beat is emitted at this sample (stored in *beat), else 0. */
int ecg_chain_push(ecg_chain_t *chain, int16_t x, ecg_beat_t *beat);

/* The 8 Q8 RR features (docs/preprocessing.md, "RR features"). */
void ecg_rr_features(int32_t pre, int32_t post, int32_t hsum, int32_t long_q4,
                     int32_t feats[ECG_N_FEAT]);

int8_t ecg_requant_apply(const ecg_requant_t *rq, int32_t x);

/* The model's two int8 inputs for a beat: wave[128] and rr[8]. */
void ecg_beat_quantize(const ecg_beat_t *beat, const ecg_requant_t *wave_rq,
                       const ecg_requant_t *rr_rq, int8_t *wave, int8_t *rr);

/* Raw 360 Hz sample index <-> 180 Hz chain index (Python: raw_to_j/j_to_raw). */
static inline int32_t ecg_raw_to_j(int32_t r) { return (r + 3) >> 1; }
static inline int32_t ecg_j_to_raw(int32_t j) { return 2 * j - 2; }

#ifdef __cplusplus
}
#endif

#endif /* ECG_PREPROCESS_H */
