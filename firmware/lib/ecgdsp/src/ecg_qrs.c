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
            const int32_t thr = det->npk + ((det->spk - det->npk) >> ECG_THR_SHIFT);
            if (c > thr) {
                det->spk += (c - det->spk) >> ECG_AVG_SHIFT;
                det->last = p;
                det->n_qrs += 1;
                int32_t best = -1, bj = p - ECG_R_SEARCH_A;
                for (int32_t jj = p - ECG_R_SEARCH_A; jj <= p - ECG_R_SEARCH_B; ++jj) {
                    int32_t a = wm[WRI(jj)];
                    a = a >= 0 ? a : -a;
                    if (a > best) {
                        best = a;
                        bj = jj;
                    }
                }
                if (det->q_len < ECG_R_QUEUE) {
                    det->queue[(det->q_head + det->q_len) & (ECG_R_QUEUE - 1)] = bj;
                    det->q_len += 1;
                }
            } else {
                det->npk += (c - det->npk) >> ECG_AVG_SHIFT;
                det->n_noise += 1;
            }
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
