/*
 * fuzz_ecgdsp.c - libFuzzer target: the fixed-point signal chain
 * (firmware/lib/ecgdsp) fed arbitrary sample streams.
 *
 * Besides the sanitizers (no undefined behaviour: no signed overflow, no
 * out-of-bounds ring index), after every sample the state must be inside the
 * ranges docs/preprocessing.md specifies, and its running sums must equal the
 * sums of their rings:
 *   section 2: S1 = sum of the 128 v, S2 = sum of the 64 b1; ring indices in range;
 *   section 3: q = e*e <= 16,769,025, i = sum of the last 27 q <= 452,763,675,
 *              SPK, NPK, learn_max, the held noise peak in 0 .. 452,763,675;
 *              slopes <= 4095; the search-back RR ring holds 0 .. 4095 and
 *              sums to rr_sum; the report queue holds at most LAT / 37 + 1
 *              R positions; an R is reported exactly LAT samples after it;
 *              reported R positions increase;
 *   section 4: every beat is recomputed here from the spec with 64-bit
 *              arithmetic (R, pre, post, the 8 RR features in 0 .. 1023, the
 *              128-sample window of w with zeros before j = 0), hist holds
 *              the clamped pre-RR values, hsum their sum, long >= 16;
 *   section 5: each beat's int8 inputs equal the requantization formula in
 *              128-bit arithmetic, for requantizers taken from the input.
 * ecg_chain_push must emit exactly the beats of the stages run one by one.
 *
 * Input: mode byte, then raw int16 samples (mode 0), runs of
 * (sample, repeat) (mode 1), or a spike train with the rest of the input as
 * perturbations (mode 2: long streams with many beats from a few bytes).
 */
#include "ecg_preprocess.h"
#include "fuzz_util.h"

#define MAX_SAMPLES (1u << 15) /* 91 s of ECG: learning and dozens of beats */
#define I_MAX 452763675
#define Q_MAX 16769025

static int16_t xs[MAX_SAMPLES];
static int16_t ws[MAX_SAMPLES / 2 + 1]; /* every w the frontend produced, w[j] at ws[j] */
static ecg_frontend_t fe;
static ecg_detector_t det;
static ecg_assembler_t as;
static ecg_chain_t chain;

/* the spec's assembler state (section 4), kept here independently */
static struct {
    int have_prev, have_cur;
    int64_t prev_r, cur_r;
    int64_t hist[ECG_RR_HIST];
    int hi;
    int64_t hsum, long_q4, count;
} ref;

static size_t make_samples(fuzz_in_t *in)
{
    const uint8_t mode = in_u8(in) % 3u;
    size_t n = 0;
    if (mode == 0) {
        while (in->n >= 2 && n < MAX_SAMPLES) {
            xs[n++] = (int16_t)in_u16(in);
        }
    } else if (mode == 1) {
        while (in->n >= 3 && n < MAX_SAMPLES) {
            const int16_t v = (int16_t)in_u16(in);
            for (uint32_t r = 0, k = 1u + 4u * in_u8(in); r < k && n < MAX_SAMPLES; ++r) {
                xs[n++] = v;
            }
        }
    } else {
        const uint32_t period = 100u + 3u * in_u8(in);
        const int32_t amp = 128 * (int32_t)(int8_t)in_u8(in);
        const int32_t base = (int16_t)in_u16(in);
        n = 1u + in_u16(in) % MAX_SAMPLES;
        for (size_t i = 0; i < n; ++i) {
            const uint32_t t = (uint32_t)(i % period);
            int32_t v = base + (t < 5 ? amp * (int32_t)t / 5 : (t < 10 ? amp * (int32_t)(10 - t) / 5 : 0));
            xs[i] = (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
        }
        while (in->n >= 3) { /* perturbations: sample index, new value */
            const size_t at = in_u16(in) * 2u % n;
            xs[at] = (int16_t)((int8_t)in_u8(in) * 256);
        }
    }
    return n;
}

static void check_frontend(void)
{
    int64_t s1 = 0, s2 = 0;
    for (int k = 0; k < ECG_BL1; ++k) {
        s1 += fe.vr[k];
    }
    for (int k = 0; k < ECG_BL2; ++k) {
        s2 += fe.br[k];
    }
    FUZZ_CHECK(s1 == fe.s1 && s2 == fe.s2, "running sums %d/%d, rings sum to %lld/%lld", fe.s1, fe.s2,
               (long long)s1, (long long)s2);
    FUZZ_CHECK(fe.vi >= 0 && fe.vi < ECG_BL1 && fe.bi >= 0 && fe.bi < ECG_BL2, "ring index %d/%d", fe.vi, fe.bi);
    FUZZ_CHECK(fe.m == fe.n / 2, "%d v samples from %d raw", fe.m, fe.n);
}

static void check_detector(int rings)
{
    if (rings) {
        int64_t isum = 0;
        for (int k = 0; k < ECG_INT_N; ++k) {
            FUZZ_CHECK(det.qr[k] >= 0 && det.qr[k] <= Q_MAX, "q = %d", det.qr[k]);
            isum += det.qr[k];
        }
        FUZZ_CHECK(isum == det.isum, "i = %d, q ring sums to %lld", det.isum, (long long)isum);
        for (int k = 0; k < ECG_PEAK_RING; ++k) {
            FUZZ_CHECK(det.ir[k] >= 0 && det.ir[k] <= I_MAX, "i history %d", det.ir[k]);
        }
    }
    FUZZ_CHECK(det.isum >= 0 && det.isum <= I_MAX, "i = %d", det.isum);
    FUZZ_CHECK(det.qi >= 0 && det.qi < ECG_INT_N, "q index %d", det.qi);
    FUZZ_CHECK(det.learn_max >= 0 && det.learn_max <= I_MAX && det.spk >= 0 && det.spk <= I_MAX && det.npk >= 0 &&
                   det.npk <= I_MAX,
               "learn_max/SPK/NPK %d/%d/%d", det.learn_max, det.spk, det.npk);
    FUZZ_CHECK(det.q_len >= 0 && det.q_len <= ECG_LAT / 37 + 1, "report queue holds %d (spec: at most %d)",
               det.q_len, ECG_LAT / 37 + 1);
    FUZZ_CHECK(det.q_head >= 0 && det.q_head < ECG_R_QUEUE, "queue head %d", det.q_head);
    FUZZ_CHECK(det.last >= ECG_LEARN && (det.last <= det.j || det.last == ECG_LEARN), "last QRS %d at j %d", det.last,
               det.j);
    FUZZ_CHECK(det.last_qrs >= -1 && det.last_qrs < det.j && det.last_slope >= 0 && det.last_slope <= ECG_E_MAX,
               "last_qrs %d, last_slope %d at j %d", det.last_qrs, det.last_slope, det.j);
    FUZZ_CHECK(det.nb_c >= -1 && det.nb_c <= I_MAX, "held noise peak %d", det.nb_c);
    int64_t rr_sum = 0;
    for (int k = 0; k < ECG_RR_AVG_N; ++k) {
        FUZZ_CHECK(det.rr[k] >= 0 && det.rr[k] <= ECG_RR_MAX, "RR %d in the search-back ring", det.rr[k]);
        rr_sum += det.rr[k];
    }
    FUZZ_CHECK(rr_sum == det.rr_sum && det.rr_n >= 0 && det.rr_n <= ECG_RR_AVG_N && det.rr_i >= 0 &&
                   det.rr_i < ECG_RR_AVG_N,
               "RR ring sum %d (ring %lld), n %d, index %d", det.rr_sum, (long long)rr_sum, det.rr_n, det.rr_i);
}

static void check_beat(const ecg_beat_t *b, int64_t r_next)
{
    int64_t pre = ref.cur_r - ref.prev_r, post = r_next - ref.cur_r;
    pre = pre > ECG_RR_CLAMP ? ECG_RR_CLAMP : pre;
    post = post > ECG_RR_CLAMP ? ECG_RR_CLAMP : post;
    FUZZ_CHECK(pre >= 1 && post >= 1, "RR %lld/%lld: R positions must increase", (long long)pre, (long long)post);
    if (ref.count == 0) {
        for (int k = 0; k < ECG_RR_HIST; ++k) {
            ref.hist[k] = pre;
        }
        ref.hsum = 8 * pre;
        ref.long_q4 = pre << 4;
    }
    const int64_t f[ECG_N_FEAT] = {(pre << 11) / ref.hsum,    (post << 11) / ref.hsum, (pre << 12) / ref.long_q4,
                                   (post << 12) / ref.long_q4, (ref.hsum << 9) / ref.long_q4,
                                   (pre << 8) / 180,           (post << 8) / 180,       (post << 8) / pre};
    FUZZ_CHECK(b->r == ref.cur_r && b->pre == pre && b->post == post, "beat R/pre/post %d/%d/%d, spec %lld/%lld/%lld",
               b->r, b->pre, b->post, (long long)ref.cur_r, (long long)pre, (long long)post);
    for (int k = 0; k < ECG_N_FEAT; ++k) {
        const int64_t want = f[k] > ECG_FEAT_MAX ? ECG_FEAT_MAX : f[k];
        FUZZ_CHECK(b->feats[k] == want && want >= 0, "feature %d = %d, spec %lld", k, b->feats[k], (long long)want);
    }
    for (int k = 0; k < ECG_WIN; ++k) {
        const int64_t j = ref.cur_r - ECG_PRE + k;
        FUZZ_CHECK(b->window[k] == (j < 0 ? 0 : ws[j]), "window[%d] = %d, w[%lld] = %d", k, b->window[k],
                   (long long)j, j < 0 ? 0 : ws[j]);
    }
    ref.hsum += pre - ref.hist[ref.hi];
    ref.hist[ref.hi] = pre;
    ref.hi = (ref.hi + 1) & 7;
    ref.count += 1;
    int64_t s = 0;
    for (int64_t c = ref.count; c > 0; c >>= 1) {
        s++;
    }
    s = s > 8 ? 8 : s;
    ref.long_q4 += ((pre << 4) - ref.long_q4) >> s;
    FUZZ_CHECK(as.hsum == ref.hsum && as.long_q4 == ref.long_q4 && as.count == ref.count, "assembler averages");
    FUZZ_CHECK(ref.long_q4 >= 16 && ref.long_q4 <= 16 * ECG_RR_CLAMP, "long = %lld", (long long)ref.long_q4);
}

/* requantizer from the input: mult in [2^30, 2^31), shift 1..62, zp int8 */
static void check_requant(const ecg_beat_t *b, fuzz_in_t *in)
{
    const ecg_requant_t rq = {(int32_t)(0x40000000u | (in_u32(in) & 0x3FFFFFFFu)), 1 + in_u8(in) % 62,
                              (int8_t)in_u8(in)};
    int8_t wave[ECG_WIN], rr[ECG_N_FEAT];
    ecg_beat_quantize(b, &rq, &rq, wave, rr);
    for (int k = 0; k < ECG_WIN + ECG_N_FEAT; ++k) {
        const __int128 x = k < ECG_WIN ? b->window[k] : b->feats[k - ECG_WIN];
        __int128 num = x * rq.mult + ((__int128)1 << (rq.shift - 1));
        __int128 q = num >> rq.shift; /* arithmetic: floor */
        q += rq.zp;
        q = q < -128 ? -128 : (q > 127 ? 127 : q);
        const int8_t got = k < ECG_WIN ? wave[k] : rr[k - ECG_WIN];
        FUZZ_CHECK(got == (int8_t)q, "input %d requantized to %d, formula %d", k, got, (int)q);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = {data, size};
    const size_t n = make_samples(&in);
    fuzz_in_t rq_in = {data, size}; /* requantizers: reuse the input bytes */
    ecg_frontend_init(&fe);
    ecg_detector_init(&det);
    ecg_assembler_init(&as);
    ecg_chain_init(&chain);
    memset(&ref, 0, sizeof ref);
    int32_t nw = 0, last_reported = -1;
    for (size_t i = 0; i < n; ++i) {
        ecg_beat_t stage_beat, chain_beat;
        int16_t w;
        const int got_w = ecg_frontend_push(&fe, xs[i], &w);
        /* whole rings every 16 samples (a q lives 54 raw samples in its ring, a
         * running sum once wrong stays wrong); the scalars after every sample */
        if ((i & 15u) == 0) {
            check_frontend();
        }
        FUZZ_CHECK(got_w == ((fe.n % 2) == 0 && fe.m > ECG_BL_DELAY), "w produced at raw sample %zu: %d", i, got_w);
        const int chain_beats = ecg_chain_push(&chain, xs[i], &chain_beat);
        int stage_beats = 0;
        if (got_w) {
            ws[nw++] = w;
            int32_t r = -1;
            const int n_r = ecg_detector_push(&det, w, &r);
            check_detector((nw & 15) == 0);
            if (n_r) {
                FUZZ_CHECK(r + ECG_LAT == det.j - 1, "R %d reported at j %d, not R + %d", r, det.j - 1, ECG_LAT);
                FUZZ_CHECK(r > last_reported, "R %d reported after R %d", r, last_reported);
                last_reported = r;
            }
            stage_beats = ecg_assembler_push(&as, w, &r, n_r, &stage_beat);
            FUZZ_CHECK(stage_beats == (n_r && ref.have_cur && ref.have_prev), "assembler emitted %d beats",
                       stage_beats);
            if (stage_beats) {
                check_beat(&stage_beat, r);
                check_requant(&stage_beat, &rq_in);
            }
            if (n_r) {
                ref.prev_r = ref.cur_r;
                ref.have_prev = ref.have_cur;
                ref.cur_r = r;
                ref.have_cur = 1;
            }
        }
        FUZZ_CHECK(chain_beats == stage_beats, "chain emitted %d beats, the stages %d", chain_beats, stage_beats);
        if (chain_beats) {
            FUZZ_CHECK(memcmp(&chain_beat, &stage_beat, sizeof chain_beat) == 0, "chain beat differs from the stages'");
        }
    }
    return 0;
}
