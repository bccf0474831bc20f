/*
 * fuzz_stream.c - libFuzzer target: the stream state machine (firmware/src/
 * stream.c) driven by sequences of STREAM_* frames, judged by a model of it
 * written from docs/protocol.md ("Streaming").
 *
 * The model keeps what the device must: active, flags, next, events, gaps,
 * duplicates, the last accepted sample (base of the next delta chunk), and
 * its own signal chain (firmware/lib/ecgdsp) fed with exactly the samples the
 * model accepts.  Every answer is predicted: which error, or the ACK's status,
 * next and event count; every BEAT event's sequence number, R position, RR
 * intervals, class scores (the generated model on the beat's int8 inputs),
 * class, confidence and flags; the RHYTHM events after each beat (the model's
 * own rhythm stage on the same beats), numbered in the same sequence; the
 * statistics of STOP / STATUS.  So a chunk
 * processed twice, a sample dropped at a gap, an event numbered wrongly or a
 * counter not restarted at STREAM_START all fail here.
 *
 * Input: a sequence of operations, one byte each selecting what follows:
 * START (flags), DATA / DATA8 with hostile bodies and a `first` at, before,
 * after or far from the expected sample, well-formed chunks of a synthetic
 * ECG (so beats are detected and classified), STOP, STATUS, raw STREAM_*
 * frames, and receive-buffer overruns (board_uart_overruns rising).
 */
#include "ecg_pipeline_config.h"
#include "ecg_preprocess.h"
#include "ecg_rhythm.h"
#include "fuzz_device.h"
#include "model.h"
#include "model_config.h"
#include "ref_delta8.h"
#include "stream.h"

typedef struct {
    int active;
    uint8_t flags;
    uint32_t next, events, gaps, dups;
    uint32_t overruns0;
    int16_t last_x;
    uint32_t max_units;
    uint64_t beat_units;
    ecg_chain_t chain;
    ecg_rhythm_t rhythm;
} model_t;

#define STATS_BYTES 68u

static model_t m;
static ref_frame_t frames[FUZZ_MAX_TX_FRAMES];
static uint16_t seq;

/* ------------------------------------------------------------ expectations */

static void expect_error(const ref_frame_t *f, size_t n, int code, const char *what)
{
    FUZZ_CHECK(n == 1, "%s: %zu frames, expected one ERROR", what, n);
    FUZZ_CHECK(f[0].type == MSG_ERROR && f[0].body[0] == code, "%s: answer 0x%02x code %d, expected ERROR %d", what,
               f[0].type, f[0].type == MSG_ERROR ? f[0].body[0] : -1, code);
}

/* Wire time of a chain index (stream.c: raw sample 2j - 2, j = 0 sent as 0). */
static uint32_t wire_time(int32_t j) { return j > 0 ? (uint32_t)ecg_j_to_raw(j) : 0u; }

/* The rhythm stage on the beat just classified: its RHYTHM events follow the
 * BEAT event, in the same sequence (docs/protocol.md, docs/rhythm.md). */
static void expect_rhythm(const ecg_beat_t *b, int cls, const ref_frame_t *f, size_t n, size_t *k)
{
    ecg_rhythm_event_t ev[ECG_RH_MAX_EVENTS];
    const int n_ev = ecg_rhythm_push(&m.rhythm, b->r, cls, b->pre, ev);
    FUZZ_CHECK(n_ev >= 0 && n_ev <= ECG_RH_MAX_EVENTS, "%d rhythm events for one beat", n_ev);
    for (int i = 0; i < n_ev; ++i) {
        FUZZ_CHECK(*k + 1 < n, "rhythm event %d of beat at R %d: no RHYTHM frame", i, b->r);
        const ref_frame_t *e = &f[(*k)++];
        FUZZ_CHECK(e->type == MSG_STREAM_RHYTHM && e->seq == PROTO_SEQ_NONE && e->len == 33,
                   "RHYTHM frame type 0x%02x seq %u len %u", e->type, e->seq, e->len);
        const int32_t want[6] = {ev[i].a, ev[i].kind == ECG_RH_RUN ? (int32_t)wire_time(ev[i].b) : ev[i].b,
                                 ev[i].c, ev[i].d, ev[i].e, ev[i].f};
        FUZZ_CHECK(get_le32(e->body) == m.events && e->body[4] == ev[i].kind &&
                       get_le32(e->body + 5) == wire_time(ev[i].t),
                   "RHYTHM eseq/kind/t %u/%u/%u, expected %u/%d/%u", get_le32(e->body), e->body[4],
                   get_le32(e->body + 5), m.events, ev[i].kind, wire_time(ev[i].t));
        for (int j = 0; j < 6; ++j) {
            FUZZ_CHECK((int32_t)get_le32(e->body + 9 + 4 * j) == want[j], "RHYTHM field %d", j);
        }
        m.events += 1;
    }
}

/* The beat the model's chain emitted: its BEAT event must be frames[*k]. */
static void expect_beat(const ecg_beat_t *b, const ref_frame_t *f, size_t n, size_t *k)
{
    static const ecg_requant_t wave_rq = {ECG_PIPELINE_WAVE_MULT, ECG_PIPELINE_WAVE_SHIFT, ECG_PIPELINE_WAVE_ZP};
    static const ecg_requant_t rr_rq = {ECG_PIPELINE_RR_MULT, ECG_PIPELINE_RR_SHIFT, ECG_PIPELINE_RR_ZP};
    int8_t in[MODEL_INPUT_BYTES], out[MODEL_OUTPUT_BYTES];
    ecg_beat_quantize(b, &wave_rq, &rr_rq, in + ECG_PIPELINE_WAVE_OFFSET, in + ECG_PIPELINE_RR_OFFSET);
    FUZZ_CHECK(model_invoke(in, out) == 0, "model_invoke failed");
    int best = 0;
    for (int c = 1; c < ECG_PIPELINE_NUM_CLASSES; ++c) {
        if (out[c] > out[best]) {
            best = c;
        }
    }
    int conf = out[best] - ECG_PIPELINE_SCORE_ZP;
    conf = conf < 0 ? 0 : (conf > 255 ? 255 : conf);

    FUZZ_CHECK(*k + 1 < n, "beat %u at R %d: no BEAT event (only %zu frames)", m.events, b->r, n);
    const ref_frame_t *e = &f[(*k)++];
    const uint16_t want_len = 20u + ECG_PIPELINE_NUM_CLASSES + ((m.flags & STREAM_FLAG_INPUTS) ? MODEL_INPUT_BYTES : 0);
    FUZZ_CHECK(e->type == MSG_STREAM_BEAT && e->seq == PROTO_SEQ_NONE && e->len == want_len,
               "BEAT frame type 0x%02x seq %u len %u", e->type, e->seq, e->len);
    const uint8_t *p = e->body;
    FUZZ_CHECK(get_le32(p) == m.events, "BEAT eseq %u, expected %u", get_le32(p), m.events);
    FUZZ_CHECK(get_le32(p + 4) == (uint32_t)ecg_j_to_raw(b->r), "BEAT r %u, expected %d", get_le32(p + 4),
               ecg_j_to_raw(b->r));
    FUZZ_CHECK(p[8] == best && p[9] == conf && p[10] == (conf < ECG_PIPELINE_UNCERTAIN_BELOW ? 1 : 0) &&
                   p[11] == ECG_PIPELINE_NUM_CLASSES,
               "BEAT class/confidence/flags/n %u/%u/%u/%u, expected %d/%d", p[8], p[9], p[10], p[11], best, conf);
    FUZZ_CHECK(memcmp(p + 12, out, ECG_PIPELINE_NUM_CLASSES) == 0, "BEAT scores differ from the model's");
    p += 12 + ECG_PIPELINE_NUM_CLASSES;
    const uint32_t units = get_le32(p);
    FUZZ_CHECK(get_le16(p + 4) == b->pre && get_le16(p + 6) == b->post, "BEAT RR %u/%u, expected %d/%d",
               get_le16(p + 4), get_le16(p + 6), b->pre, b->post);
    if (m.flags & STREAM_FLAG_INPUTS) {
        FUZZ_CHECK(memcmp(p + 8, in, MODEL_INPUT_BYTES) == 0, "BEAT inputs differ from the beat's requantization");
    }
    m.events += 1;
    m.beat_units += units;
    if (units > m.max_units) {
        m.max_units = units;
    }
    expect_rhythm(b, best, f, n, k);
}

/* Feed accepted samples to the model's chain, matching each beat to its event. */
static void expect_samples(const int16_t *x, uint32_t count, const ref_frame_t *f, size_t n, size_t *k)
{
    static ecg_beat_t b;
    for (uint32_t i = 0; i < count; ++i) {
        if (ecg_chain_push(&m.chain, x[i], &b)) {
            expect_beat(&b, f, n, k);
        }
    }
    m.last_x = x[count - 1];
    m.next += count;
}

static void expect_ack(const ref_frame_t *a, uint8_t status)
{
    FUZZ_CHECK(a->len == 9, "ACK of %u bytes", a->len);
    FUZZ_CHECK(a->body[0] == status && get_le32(a->body + 1) == m.next && get_le32(a->body + 5) == m.events,
               "ACK status/next/events %u/%u/%u, expected %u/%u/%u", a->body[0], get_le32(a->body + 1),
               get_le32(a->body + 5), status, m.next, m.events);
}

/* Where a chunk starting at `first` stands: 0 accepted, 1 gap, 2 duplicate. */
static uint8_t chunk_status(uint32_t first)
{
    if (first > m.next) {
        m.gaps += 1;
        return 1;
    }
    if (first < m.next) {
        m.dups += 1;
        return 2;
    }
    return 0;
}

static void expect_stats(const ref_frame_t *a)
{
    FUZZ_CHECK(a->len == STATS_BYTES, "statistics of %u bytes", a->len);
    const uint8_t *p = a->body;
    FUZZ_CHECK(p[0] == m.active && p[1] == m.flags && p[2] == ECG_PIPELINE_NUM_CLASSES && p[3] == 0,
               "statistics active/flags/n_classes %u/%u/%u", p[0], p[1], p[2]);
    FUZZ_CHECK(get_le32(p + 4) == m.next && get_le32(p + 8) == m.events && get_le32(p + 12) == m.gaps &&
                   get_le32(p + 16) == m.dups,
               "statistics samples/events/gaps/duplicates %u/%u/%u/%u, expected %u/%u/%u/%u", get_le32(p + 4),
               get_le32(p + 8), get_le32(p + 12), get_le32(p + 16), m.next, m.events, m.gaps, m.dups);
    FUZZ_CHECK(get_le32(p + 20) == host_uart_overruns - m.overruns0, "rx_overruns %u, expected %u",
               get_le32(p + 20), host_uart_overruns - m.overruns0);
    FUZZ_CHECK(get_le32(p + 24) == m.max_units, "max_beat_units %u, expected %u", get_le32(p + 24), m.max_units);
    const uint64_t dsp = get_le32(p + 28) | ((uint64_t)get_le32(p + 32) << 32);
    const uint64_t beat = get_le32(p + 36) | ((uint64_t)get_le32(p + 40) << 32);
    const uint64_t elapsed = get_le32(p + 44) | ((uint64_t)get_le32(p + 48) << 32);
    const uint64_t rhythm = get_le32(p + 60) | ((uint64_t)get_le32(p + 64) << 32);
    FUZZ_CHECK(beat == m.beat_units, "beat_units %llu, sum of the events' %llu", (unsigned long long)beat,
               (unsigned long long)m.beat_units);
    FUZZ_CHECK(dsp + beat + rhythm <= elapsed, "chain %llu + beats %llu + rhythm %llu units exceed the %llu elapsed",
               (unsigned long long)dsp, (unsigned long long)beat, (unsigned long long)rhythm,
               (unsigned long long)elapsed);
}

/* ------------------------------------------------------------- operations */

static void op_start(const uint8_t *body, uint16_t len)
{
    const size_t n = dispatch(MSG_STREAM_START, ++seq, body, len, frames);
    if (len > 1) {
        expect_error(frames, n, ERR_BAD_LENGTH, "START body");
        return;
    }
    const uint8_t fl = len ? body[0] : 0;
    if (fl & (uint8_t)~STREAM_FLAG_INPUTS) {
        expect_error(frames, n, ERR_BAD_REQUEST, "START flags");
        return;
    }
    FUZZ_CHECK(n == 1 && frames[0].type == (MSG_STREAM_START | MSG_REPLY) && frames[0].len == 12, "START reply");
    const uint8_t *p = frames[0].body;
    FUZZ_CHECK(p[0] == STREAM_VERSION && p[1] == STREAM_CREDITS && get_le16(p + 2) == STREAM_MAX_SAMPLES &&
                   get_le16(p + 4) == ECG_FS_IN && p[6] == ECG_PIPELINE_NUM_CLASSES &&
                   p[7] == ECG_PIPELINE_UNCERTAIN_BELOW && get_le16(p + 8) == MODEL_INPUT_BYTES &&
                   get_le16(p + 10) == STREAM_MAX_DELTA_SAMPLES,
               "START reply fields");
    memset(&m, 0, sizeof m);
    ecg_chain_init(&m.chain);
    ecg_rhythm_init(&m.rhythm);
    m.active = 1;
    m.flags = fl;
    m.overruns0 = host_uart_overruns;
}

/* STREAM_DATA with the given body (first:u32 + samples, any length). */
static void op_data(const uint8_t *body, uint16_t len)
{
    static int16_t x[PROTO_MAX_BODY];
    const size_t n = dispatch(MSG_STREAM_DATA, ++seq, body, len, frames);
    if (!m.active) {
        expect_error(frames, n, ERR_BAD_REQUEST, "DATA before START");
        return;
    }
    if (len < 6 || (len & 1u) || (len - 4u) / 2u > STREAM_MAX_SAMPLES) {
        expect_error(frames, n, ERR_BAD_LENGTH, "DATA length");
        return;
    }
    const uint8_t status = chunk_status(get_le32(body));
    size_t k = 0;
    if (status == 0) {
        const uint32_t count = (len - 4u) / 2u;
        for (uint32_t i = 0; i < count; ++i) {
            x[i] = (int16_t)get_le16(body + 4 + 2 * i);
        }
        expect_samples(x, count, frames, n, &k);
    }
    FUZZ_CHECK(k + 1 == n, "DATA: %zu frames, %zu predicted", n, k + 1);
    expect_ack(&frames[n - 1], status);
}

/* STREAM_DATA8 with the given body (first:u32 count:u16 deltas, any length). */
static void op_data8(const uint8_t *body, uint16_t len)
{
    static int16_t x[PROTO_MAX_BODY];
    const size_t n = dispatch(MSG_STREAM_DATA8, ++seq, body, len, frames);
    if (!m.active) {
        expect_error(frames, n, ERR_BAD_REQUEST, "DATA8 before START");
        return;
    }
    if (len < 7) {
        expect_error(frames, n, ERR_BAD_LENGTH, "DATA8 length");
        return;
    }
    const uint32_t count = get_le16(body + 4);
    if (count == 0 || count > STREAM_MAX_DELTA_SAMPLES) {
        expect_error(frames, n, ERR_BAD_LENGTH, "DATA8 count");
        return;
    }
    const uint8_t status = chunk_status(get_le32(body));
    size_t k = 0;
    if (status == 0) {
        const int r = ref_delta8_decode(body + 6, len - 6u, count, m.last_x, x);
        if (r != REF_D8_OK) {
            expect_error(frames, n, r == REF_D8_RANGE ? ERR_BAD_REQUEST : ERR_BAD_LENGTH, "DATA8 deltas");
            return;
        }
        expect_samples(x, count, frames, n, &k);
    }
    FUZZ_CHECK(k + 1 == n, "DATA8: %zu frames, %zu predicted", n, k + 1);
    expect_ack(&frames[n - 1], status);
}

static void op_stats(uint8_t type, uint16_t len, const uint8_t *body)
{
    const size_t n = dispatch(type, ++seq, body, len, frames);
    if (len != 0) {
        expect_error(frames, n, ERR_BAD_LENGTH, "STOP/STATUS body");
        return;
    }
    if (type == MSG_STREAM_STOP && !m.active) {
        expect_error(frames, n, ERR_BAD_REQUEST, "STOP without a stream");
        return;
    }
    FUZZ_CHECK(n == 1, "STOP/STATUS: %zu frames", n);
    expect_stats(&frames[0]);
    if (type == MSG_STREAM_STOP) {
        m.active = 0;
    }
}

/* `first` of a chunk: at, just before, just after or far from the expected sample. */
static uint32_t pick_first(fuzz_in_t *in)
{
    const uint8_t mode = in_u8(in);
    switch (mode & 3u) {
    case 0: return m.next;
    case 1: return m.next - (uint32_t)(mode >> 2) - 1u; /* a duplicate (or a wrap below 0) */
    case 2: return m.next + (uint32_t)(mode >> 2) + 1u; /* a gap */
    default: return in_u32(in);
    }
}

/* n samples of a synthetic ECG: a sharp spike every `period` samples over a
 * slow baseline and noise, all from the input's parameters. */
static void synth(fuzz_in_t *in, int16_t *x, uint32_t n)
{
    const uint32_t period = 150u + 2u * in_u8(in);          /* 0.42 .. 1.8 s at 360 Hz */
    const int32_t amp = 64 * (int32_t)in_u8(in);
    const int32_t noise = in_u8(in);
    const int32_t base = (int16_t)in_u16(in) / 4;
    uint32_t lcg = in_u32(in);
    for (uint32_t i = 0; i < n; ++i) {
        const uint32_t t = (m.next + i) % period;
        int32_t v = base + (t < 6 ? amp * (int32_t)t / 6 : (t < 12 ? amp * (int32_t)(12 - t) / 6 : 0));
        lcg = lcg * 1664525u + 1013904223u;
        v += noise ? (int32_t)(lcg >> 16) % (noise + 1) - noise / 2 : 0;
        x[i] = (int16_t)(v < -32768 ? -32768 : (v > 32767 ? 32767 : v));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t body[PROTO_MAX_BODY + 8];
    static int16_t x[STREAM_MAX_DELTA_SAMPLES];
    static uint8_t enc[3 * STREAM_MAX_DELTA_SAMPLES];
    fuzz_in_t in = {data, size};
    host_counter_reset();
    host_uart_overruns = 0;
    /* every input starts from the same device state: a stream started and stopped */
    op_start(NULL, 0);
    op_stats(MSG_STREAM_STOP, 0, NULL);
    while (in.n > 0) {
        const uint8_t op = in_u8(&in);
        switch (op % 9u) {
        case 0: { /* START, mostly with valid flags */
            body[0] = in_u8(&in);
            body[1] = in_u8(&in);
            if (!(op & 0x80u)) {
                body[0] &= STREAM_FLAG_INPUTS;
            }
            op_start(body, (uint16_t)(((op >> 4) & 3u) % 3u));
            break;
        }
        case 1: { /* DATA, hostile: any first, any length, samples from the input */
            put_le32(body, pick_first(&in));
            const uint16_t len = (uint16_t)(4u + in_bytes(&in, body + 4, in_u16(&in) % (PROTO_MAX_BODY - 3u)));
            op_data(body, len);
            break;
        }
        case 2: { /* DATA8, hostile: any first, count and delta bytes */
            put_le32(body, pick_first(&in));
            put_le16(body + 4, in_u16(&in));
            const uint16_t len = (uint16_t)(6u + in_bytes(&in, body + 6, in_u16(&in) % (PROTO_MAX_BODY - 5u)));
            op_data8(body, len);
            break;
        }
        case 3: { /* DATA8, well-formed synthetic ECG (beats), maybe at the wrong place */
            uint32_t count = 1u + in_u16(&in) % STREAM_MAX_DELTA_SAMPLES;
            const uint32_t first = (op & 0x80u) ? pick_first(&in) : m.next;
            synth(&in, x, count);
            /* as the host does: as many samples as fit one frame */
            size_t nb = ref_delta8_encode(x, count, m.last_x, enc);
            while (nb > PROTO_MAX_BODY - 6u) {
                const long d = (long)x[count - 1] - (count > 1 ? x[count - 2] : m.last_x);
                nb -= (d >= -127 && d <= 127) ? 1u : 3u; /* the last sample's bytes */
                count -= 1;
            }
            put_le32(body, first);
            put_le16(body + 4, (uint16_t)count);
            memcpy(body + 6, enc, nb);
            op_data8(body, (uint16_t)(6u + nb));
            break;
        }
        case 4: { /* DATA, well-formed synthetic ECG */
            const uint32_t count = 1u + in_u16(&in) % STREAM_MAX_SAMPLES;
            put_le32(body, (op & 0x80u) ? pick_first(&in) : m.next);
            synth(&in, x, count);
            for (uint32_t i = 0; i < count; ++i) {
                put_le16(body + 4 + 2 * i, (uint16_t)x[i]);
            }
            op_data(body, (uint16_t)(4u + 2u * count));
            break;
        }
        case 5:
        case 6: { /* STOP / STATUS, mostly empty */
            const uint16_t len = (op & 0xC0u) == 0xC0u ? (uint16_t)in_bytes(&in, body, in_u8(&in) % 8u) : 0u;
            op_stats(op % 9u == 5u ? MSG_STREAM_STOP : MSG_STREAM_STATUS, len, body);
            break;
        }
        case 7: /* bytes lost in the receive ring */
            host_uart_overruns += in_u8(&in);
            break;
        default: { /* a raw STREAM_* frame of any body: must be answered and change nothing it should not */
            const uint8_t type = (uint8_t)(MSG_STREAM_START + in_u8(&in) % 5u);
            const uint16_t len = (uint16_t)in_bytes(&in, body, in_u16(&in) % (PROTO_MAX_BODY + 1u));
            if (type == MSG_STREAM_START) {
                op_start(body, len);
            } else if (type == MSG_STREAM_DATA) {
                op_data(body, len);
            } else if (type == MSG_STREAM_DATA8) {
                op_data8(body, len);
            } else {
                op_stats(type, len, body);
            }
            break;
        }
        }
    }
    return 0;
}
