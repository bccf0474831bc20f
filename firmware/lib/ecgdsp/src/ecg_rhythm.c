/*
 * ecg_rhythm.c - rhythm from the beat stream (docs/rhythm.md).
 *
 * A statement-for-statement port of tools/tinyecg/rhythm.py: the same state,
 * the same order of operations, so the two can be read side by side.
 */
#include "ecg_rhythm.h"

#include <string.h>

/* the regularity history of a lag is one uint32_t word: its shift drops the bit that leaves */
typedef char ecg_rh_reg_w_is_one_word[(ECG_RH_REG_W == 32) ? 1 : -1];

static ecg_rhythm_event_t *emit(ecg_rhythm_event_t *ev, int *n, int32_t kind, int32_t t)
{
    ecg_rhythm_event_t *e = &ev[(*n)++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->t = t;
    return e;
}

uint32_t ecg_isqrt64(uint64_t v)
{
    uint64_t res = 0, bit = (uint64_t)1 << 62;
    while (bit > v) {
        bit >>= 2;
    }
    while (bit) {
        if (v >= res + bit) {
            v -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)res;
}

void ecg_rhythm_init(ecg_rhythm_t *rh)
{
    memset(rh, 0, sizeof *rh);
    rh->hr_next = ECG_RH_HR_PERIOD;
    rh->run_cls = -1;
    rh->prev_cls = -1;
    rh->hrv_win = -1;
}

static void heart_rate(ecg_rhythm_t *rh, int32_t r, int32_t pre, ecg_rhythm_event_t *ev, int *n)
{
    rh->hr_sum += pre - rh->hr_rr[rh->hr_i];
    rh->hr_rr[rh->hr_i] = pre;
    rh->hr_i = (rh->hr_i + 1) & (ECG_RH_HR_N - 1);
    if (rh->hr_n < ECG_RH_HR_N) {
        rh->hr_n += 1;
    }
    if (r >= rh->hr_next) {
        ecg_rhythm_event_t *e = emit(ev, n, ECG_RH_HR, r);
        e->a = (ECG_RH_HR_X10 * rh->hr_n + (rh->hr_sum >> 1)) / rh->hr_sum;
        e->b = rh->hr_n;
        while (rh->hr_next <= r) {
            rh->hr_next += ECG_RH_HR_PERIOD;
        }
    }
}

static void runs(ecg_rhythm_t *rh, int32_t r, int32_t cls, ecg_rhythm_event_t *ev, int *n)
{
    if (cls == rh->run_cls) {
        rh->run_len += 1;
        rh->run_end = r;
        return;
    }
    if (rh->run_len >= 2) {
        ecg_rhythm_event_t *e = emit(ev, n, ECG_RH_RUN, rh->run_start);
        e->a = rh->run_cls;
        e->b = rh->run_end;
        e->c = rh->run_len;
    }
    if (cls == ECG_RH_CLS_S || cls == ECG_RH_CLS_V) {
        rh->run_cls = cls;
        rh->run_len = 1;
        rh->run_start = r;
        rh->run_end = r;
    } else {
        rh->run_cls = -1;
        rh->run_len = 0;
    }
}

static void af_median(ecg_rhythm_t *rh, int32_t r, ecg_rhythm_event_t *ev, int *n)
{
    int32_t srt[ECG_RH_AF_MED_N];
    memcpy(srt, rh->med, sizeof srt);
    for (int k = 1; k < ECG_RH_AF_MED_N; ++k) { /* insertion sort of 8 values */
        const int32_t v = srt[k];
        int i = k - 1;
        while (i >= 0 && srt[i] > v) {
            srt[i + 1] = srt[i];
            i -= 1;
        }
        srt[i + 1] = v;
    }
    const int32_t m = srt[ECG_RH_AF_MED_K];
    rh->af_sum += m - rh->af_m[rh->af_i];
    rh->af_m[rh->af_i] = m;
    rh->af_t[rh->af_i] = r;
    rh->af_i = (rh->af_i + 1) & (ECG_RH_AF_N - 1);
    if (rh->af_n < ECG_RH_AF_N) {
        rh->af_n += 1;
    }
    if (rh->af_n == ECG_RH_AF_N) {
        /* the episode edge is placed mid-window: the oldest half was before the change */
        const int32_t t_mid = rh->af_t[(rh->af_i + ECG_RH_AF_N / 2) & (ECG_RH_AF_N - 1)];
        /* a repeating pattern (bigeminy, trigeminy, group beating) is regularly irregular: not AF */
        if (!rh->af && rh->af_sum > ECG_RH_AF_ON_Q8 * ECG_RH_AF_N && !rh->regular) {
            rh->af = 1;
            emit(ev, n, ECG_RH_AF_ON, t_mid);
        } else if (rh->af && (rh->af_sum < ECG_RH_AF_OFF_Q8 * ECG_RH_AF_N || rh->regular)) {
            rh->af = 0;
            emit(ev, n, ECG_RH_AF_OFF, t_mid);
        }
    }
}

/* every beat: does this RR repeat one of the last three (a rhythm with a period of 1-3 beats)? */
static void regularity(ecg_rhythm_t *rh, int32_t pre)
{
    rh->regular = 0;
    for (int k = 0; k < ECG_RH_REG_LAGS; ++k) {
        int32_t bit = 0;
        if (k < rh->reg_n) {
            const int32_t q = rh->reg_rr[k];
            int32_t diff = pre - q;
            diff = diff >= 0 ? diff : -diff;
            if ((diff << 9) / (pre + q) <= ECG_RH_REG_TOL_Q8) {
                bit = 1;
            }
        }
        rh->reg_cnt[k] += bit - (int32_t)((rh->reg_bits[k] >> (ECG_RH_REG_W - 1)) & 1u);
        rh->reg_bits[k] = (rh->reg_bits[k] << 1) | (uint32_t)bit;
        if (rh->reg_cnt[k] >= ECG_RH_REG_MIN) {
            rh->regular = 1;
        }
    }
    for (int k = ECG_RH_REG_LAGS - 1; k > 0; --k) {
        rh->reg_rr[k] = rh->reg_rr[k - 1];
    }
    rh->reg_rr[0] = pre;
    if (rh->reg_n < ECG_RH_REG_LAGS) {
        rh->reg_n += 1;
    }
}

static void atrial_fibrillation(ecg_rhythm_t *rh, int32_t r, int32_t cls, int32_t pre, ecg_rhythm_event_t *ev,
                                int *n)
{
    regularity(rh, pre);
    /* an N-N interval: this beat and the previous are N (ectopic beats and the classifier's
     * S calls never enter) and it is not a pause (block, arrest, a missed beat):
     * pre <= 1.5 x hr_sum / 8, the mean of the last 8 RR this one included */
    const int nn = rh->count > 0 && cls == ECG_RH_CLS_N && rh->prev_cls == ECG_RH_CLS_N &&
                   (pre << 7) <= ECG_RH_AF_PAUSE_X16 * rh->hr_sum;
    if (nn && rh->af_prev_nn) {
        int32_t diff = pre - rh->prev_rr;
        diff = diff >= 0 ? diff : -diff;
        int32_t d = (diff << 9) / (pre + rh->prev_rr); /* |dRR| / mean RR, Q8 */
        if (d > ECG_RH_AF_D_MAX) {
            d = ECG_RH_AF_D_MAX;
        }
        rh->med[rh->med_i] = d;
        rh->med_i = (rh->med_i + 1) & (ECG_RH_AF_MED_N - 1);
        if (rh->med_n < ECG_RH_AF_MED_N) {
            rh->med_n += 1;
        }
        if (rh->med_n == ECG_RH_AF_MED_N) {
            af_median(rh, r, ev, n);
        }
    }
    rh->af_prev_nn = nn;
    rh->prev_rr = pre;
    rh->prev_cls = cls;
}

static void hrv_flush(ecg_rhythm_t *rh, ecg_rhythm_event_t *ev, int *n)
{
    if (rh->nn_n >= ECG_RH_HRV_MIN_NN) {
        const int64_t nn = rh->nn_n;
        ecg_rhythm_event_t *e = emit(ev, n, ECG_RH_HRV, rh->hrv_win * ECG_RH_HRV_WINDOW);
        e->a = rh->hrv_win;
        e->b = rh->nn_n;
        e->c = (int32_t)((rh->nn_s1 << 8) / nn);
        e->d = (int32_t)ecg_isqrt64((uint64_t)(((nn * rh->nn_s2 - rh->nn_s1 * rh->nn_s1) << 16) / (nn * (nn - 1))));
        e->e = rh->dd_n ? (int32_t)ecg_isqrt64((uint64_t)((rh->dd_s2 << 16) / rh->dd_n)) : 0;
        e->f = rh->dd_n ? (rh->nn50 * 1000) / rh->dd_n : 0;
    }
    rh->nn_n = 0;
    rh->nn_s1 = 0;
    rh->nn_s2 = 0;
    rh->dd_n = 0;
    rh->dd_s2 = 0;
    rh->nn50 = 0;
}

static void hrv(ecg_rhythm_t *rh, int32_t r, int32_t cls, int32_t pre, ecg_rhythm_event_t *ev, int *n)
{
    const int32_t win = r / ECG_RH_HRV_WINDOW;
    if (win != rh->hrv_win) {
        if (rh->hrv_win >= 0) {
            hrv_flush(rh, ev, n);
        }
        rh->hrv_win = win;
    }
    if (rh->count > 0 && cls == ECG_RH_CLS_N && rh->prev_cls == ECG_RH_CLS_N) {
        if (rh->nn_n > 0) {
            const int32_t dd = pre - rh->prev_nn;
            rh->dd_s2 += (int64_t)dd * dd;
            rh->dd_n += 1;
            if (dd > ECG_RH_NN50 || dd < -ECG_RH_NN50) {
                rh->nn50 += 1;
            }
        }
        rh->nn_n += 1;
        rh->nn_s1 += pre;
        rh->nn_s2 += (int64_t)pre * pre;
        rh->prev_nn = pre;
    }
}

int32_t ecg_rhythm_reported_class(const ecg_rhythm_t *rh, int32_t cls)
{
    return (rh->af && cls == ECG_RH_CLS_S) ? ECG_RH_CLS_N : cls;
}

int ecg_rhythm_push(ecg_rhythm_t *rh, int32_t r, int32_t cls, int32_t pre, ecg_rhythm_event_t *events)
{
    int n = 0;
    heart_rate(rh, r, pre, events, &n);
    runs(rh, r, cls, events, &n);
    hrv(rh, r, cls, pre, events, &n); /* uses prev_cls before the AF stage updates it */
    atrial_fibrillation(rh, r, cls, pre, events, &n);
    rh->count += 1;
    return n;
}
