/*
 * ecg_qrs.c - the integer QRS detector (docs/preprocessing.md, section 3).
 *
 * A line-for-line port of Detector in tools/tinyecg/qrs.py: the same state,
 * the same statements in the same order.
 */
#include "ecg_qrs.h"

#include <string.h>

#define WRI(j) ((uint32_t)(j) & (ECG_W_RING - 1u))

void ecg_detector_init(ecg_detector_t *det)
{
    memset(det, 0, sizeof *det);
    det->last = ECG_LEARN;
    det->last_qrs = -1;
    det->nb_c = -1;
}

/* max e[k], k = p - SLOPE_N + 1 .. p, recomputed from the w ring */
static int32_t slope_at(const int16_t *wm, int32_t p)
{
    int32_t best = 0;
    for (int32_t k = p - ECG_SLOPE_N + 1; k <= p; ++k) {
        const int32_t d = 2 * (int32_t)wm[WRI(k)] + wm[WRI(k - 1)] - wm[WRI(k - 3)] - 2 * (int32_t)wm[WRI(k - 4)];
        const int32_t e = (d >= 0 ? d : -d) >> ECG_DER_SHIFT;
        if (e > best) {
            best = e;
        }
    }
    return best <= ECG_E_MAX ? best : ECG_E_MAX;
}

/* R = argmax |w[k]| over k = p - A .. p - B (first maximum wins) */
static int32_t r_search(const int16_t *wm, int32_t p)
{
    int32_t best = -1, bj = p - ECG_R_SEARCH_A;
    for (int32_t jj = p - ECG_R_SEARCH_A; jj <= p - ECG_R_SEARCH_B; ++jj) {
        int32_t a = wm[WRI(jj)];
        a = a >= 0 ? a : -a;
        if (a > best) {
            best = a;
            bj = jj;
        }
    }
    return bj;
}

static void noise_peak(ecg_detector_t *det, int32_t c)
{
    det->npk += (c - det->npk) >> ECG_AVG_SHIFT;
    det->n_noise += 1;
}

static void qrs_peak(ecg_detector_t *det, int32_t p, int spk_shift, int32_t c)
{
    det->spk += (c - det->spk) >> spk_shift;
    det->n_qrs += 1;
    if (det->last_qrs >= 0) {
        int32_t rr = p - det->last_qrs;
        if (rr > ECG_RR_MAX) {
            rr = ECG_RR_MAX;
        }
        det->rr_sum += rr - det->rr[det->rr_i];
        det->rr[det->rr_i] = rr;
        det->rr_i = (det->rr_i + 1) & (ECG_RR_AVG_N - 1);
        if (det->rr_n < ECG_RR_AVG_N) {
            det->rr_n += 1;
        }
    }
    det->last_qrs = p;
    det->nb_c = -1;
    if (det->q_len < ECG_R_QUEUE) {
        det->queue[(det->q_head + det->q_len) & (ECG_R_QUEUE - 1)] = r_search(det->wr, p);
        det->q_len += 1;
    }
}

/* What a peak candidate p of value c is: noise, a T wave, or a QRS (after a
 * possible searched-back one).  Python: _Decisions.candidate. */
static void candidate(ecg_detector_t *det, int32_t p, int32_t c)
{
    const int32_t thr = det->npk + ((det->spk - det->npk) >> ECG_THR_SHIFT);
    if (c <= thr) {
        noise_peak(det, c);
        if (c > det->nb_c) {
            det->nb_c = c;
            det->nb_p = p;
        }
        return;
    }
    const int32_t slope = slope_at(det->wr, p);
    if (det->last_qrs >= 0 && p - det->last_qrs < ECG_TWAVE && slope < (det->last_slope >> ECG_TWAVE_SHIFT)) {
        noise_peak(det, c); /* a T wave: steep enough for THR, not for a QRS */
        return;
    }
    if (det->rr_n > 0 && det->nb_c > (thr >> ECG_SB_THR_SHIFT) && p - det->nb_p <= ECG_SB_LOOK) {
        int32_t gap = p - det->last_qrs;
        if (gap > ECG_RR_MAX) {
            gap = ECG_RR_MAX;
        }
        if (gap * 32 * det->rr_n > ECG_SB_RR_Q5 * det->rr_sum) {
            qrs_peak(det, det->nb_p, ECG_SB_SPK_SHIFT, det->nb_c); /* a beat missed before this one */
        }
    }
    det->last = p;
    det->last_slope = slope;
    qrs_peak(det, p, ECG_AVG_SHIFT, c);
}

int ecg_detector_push(ecg_detector_t *det, int16_t w, int32_t *r)
{
    const int32_t j = det->j;
    det->j += 1;
    det->wr[WRI(j)] = w;
    const int16_t *wm = det->wr;
    const int32_t d = 2 * (int32_t)w + wm[WRI(j - 1)] - wm[WRI(j - 3)] - 2 * (int32_t)wm[WRI(j - 4)];
    int32_t e = (d >= 0 ? d : -d) >> ECG_DER_SHIFT;
    if (e > ECG_E_MAX) {
        e = ECG_E_MAX;
    }
    const int32_t q = e * e;
    det->isum += q - det->qr[det->qi];
    det->qr[det->qi] = q;
    det->qi = det->qi + 1 < ECG_INT_N ? det->qi + 1 : 0;
    const int32_t i = det->isum;
    det->ir[j % ECG_PEAK_RING] = i;
    if (j < ECG_LEARN) {
        if (i > det->learn_max) {
            det->learn_max = i;
        }
        if (j == ECG_LEARN - 1) {
            det->spk = det->learn_max >> ECG_SPK_INIT_SHIFT;
            det->npk = det->learn_max >> ECG_NPK_INIT_SHIFT;
        }
    }
    /* candidate decided now: p = j - K */
    const int32_t p = j - ECG_PEAK_K;
    if (p >= ECG_LEARN) {
        if (p - det->last > ECG_TIMEOUT) {
            det->spk >>= 1;
            det->npk >>= 1;
            det->last += ECG_TIMEOUT;
        }
        const int32_t c = det->ir[p % ECG_PEAK_RING];
        int ok = 1;
        for (int32_t k = 1; k <= ECG_PEAK_K; ++k) {
            if (det->ir[(p - k) % ECG_PEAK_RING] >= c || det->ir[(p + k) % ECG_PEAK_RING] > c) {
                ok = 0;
                break;
            }
        }
        if (ok) {
            candidate(det, p, c);
        }
    }
    if (det->q_len > 0 && det->queue[det->q_head] + ECG_LAT == j) {
        *r = det->queue[det->q_head];
        det->q_head = (det->q_head + 1) & (ECG_R_QUEUE - 1);
        det->q_len -= 1;
        return 1;
    }
    return 0;
}
