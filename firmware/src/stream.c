/*
 * stream.c - the on-device beat pipeline: STREAM_* commands and BEAT events.
 *
 * Samples arrive in STREAM_DATA chunks; each goes through the fixed-point
 * chain (firmware/lib/ecgdsp, bit-exact with tools/tinyecg/preprocess.py);
 * every emitted beat gets the patient-adaptive inputs (ecg_features.c, bit-exact
 * with tools/tinyecg/features.py), is requantized to the model's int8 inputs, classified
 * with the generated model and reported in one BEAT event with a sequence
 * number, followed by the RHYTHM events the rhythm stage (firmware/lib/ecgdsp,
 * ecg_rhythm.c) draws from it, numbered in the same sequence.  Flow control: the host keeps at most STREAM_CREDITS chunks
 * unanswered, each answered by an ACK after its events, so the 4 KiB RX ring
 * cannot overflow however fast the host sends.  A chunk that does not start
 * at the next expected sample (one before it was lost to a malformed frame)
 * is answered with status "gap" and the host resends from `next`.
 *
 * Counter units (instructions on QEMU, cycles on boards) are accumulated
 * separately for the signal chain, for the classification of each beat, in
 * total and asleep (WFI), for the duty cycle and power estimate.
 */
#include "stream.h"

#include <string.h>

#include "board.h"
#include "ecg_features.h"
#include "ecg_preprocess.h"
#include "ecg_rhythm.h"

#ifdef TINYECG_HAVE_MODEL
#include "model.h"
#include "model_config.h"
#if defined(__has_include)
#if __has_include("ecg_pipeline_config.h")
#include "ecg_pipeline_config.h"
#define STREAM_HAVE_CONFIG 1
#endif
#endif
#endif

/* The model fits the pipeline: two inputs (waveform 128 x 1 or 2 channels -- the beat, and
 * the beat minus the patient's template --, 8 or 16 features), one output of N class
 * scores, in the order the pipeline config says. */
#if defined(STREAM_HAVE_CONFIG)
#define STREAM_WAVE_BYTES (ECG_WIN * ECG_PIPELINE_WAVE_CHANNELS)
#endif
#if defined(STREAM_HAVE_CONFIG) && MODEL_NUM_INPUTS == 2 && MODEL_NUM_OUTPUTS == 1 && \
    (ECG_PIPELINE_WAVE_CHANNELS == 1 || ECG_PIPELINE_WAVE_CHANNELS == 2) && \
    (ECG_PIPELINE_N_FEAT == ECG_N_FEAT || ECG_PIPELINE_N_FEAT == ECG_FT_N_FEAT) && \
    MODEL_INPUT_BYTES == STREAM_WAVE_BYTES + ECG_PIPELINE_N_FEAT && MODEL_OUTPUT_BYTES == ECG_PIPELINE_NUM_CLASSES && \
    ((ECG_PIPELINE_WAVE_OFFSET == 0 && ECG_PIPELINE_RR_OFFSET == STREAM_WAVE_BYTES && \
      MODEL_INPUT0_BYTES == STREAM_WAVE_BYTES) || \
     (ECG_PIPELINE_RR_OFFSET == 0 && ECG_PIPELINE_WAVE_OFFSET == ECG_PIPELINE_N_FEAT && \
      MODEL_INPUT0_BYTES == ECG_PIPELINE_N_FEAT))
#define STREAM_MODEL_OK 1
#define STREAM_N_CLASSES ECG_PIPELINE_NUM_CLASSES
#define STREAM_INPUT_BYTES MODEL_INPUT_BYTES
#else
#define STREAM_MODEL_OK 0
#define STREAM_N_CLASSES 1
#define STREAM_INPUT_BYTES 1
#endif

enum { ACK_ACCEPTED = 0, ACK_GAP = 1, ACK_DUPLICATE = 2 };

typedef struct {
    int active;
    uint8_t flags;
    uint32_t next;          /* raw index of the next expected sample */
    uint32_t events;        /* BEAT events sent (= next event sequence number) */
    uint32_t gaps, dups;
    uint32_t overruns0;     /* board_uart_overruns() at START */
    uint32_t max_beat_units;
    uint64_t dsp_units;     /* in the chain, per sample */
    uint64_t beat_units;    /* requantize + model + argmax, per beat */
    uint64_t rhythm_units;  /* the rhythm stage, per beat */
    uint64_t elapsed_units; /* since START (accumulated: the 32-bit counter wraps) */
    uint64_t asleep_units;
    uint32_t last_counter, last_asleep;
    int16_t last_x;         /* last accepted sample: base of the next delta chunk */
} stream_state_t;

static stream_state_t st;
static ecg_chain_t chain;
static ecg_features_t features;   /* the patient's template and long RR averages */
static ecg_rhythm_t rhythm;
static int16_t samples[STREAM_MAX_DELTA_SAMPLES];

#if STREAM_MODEL_OK
static ecg_beat_t beat;
static int16_t beat_diff[ECG_WIN];
static int32_t beat_extra[ECG_FT_N_EXTRA];
static const ecg_requant_t wave_rq = {ECG_PIPELINE_WAVE_MULT, ECG_PIPELINE_WAVE_SHIFT, ECG_PIPELINE_WAVE_ZP};
static const ecg_requant_t rr_rq = {ECG_PIPELINE_RR_MULT, ECG_PIPELINE_RR_SHIFT, ECG_PIPELINE_RR_ZP};
static int8_t model_in[MODEL_INPUT_BYTES];
static int8_t model_out[MODEL_OUTPUT_BYTES];
#endif

static void reply_put_u64(reply_t *reply, uint64_t v)
{
    reply_put_u32(reply, (uint32_t)v);
    reply_put_u32(reply, (uint32_t)(v >> 32));
}

/* Fold the wrapping 32-bit counters into the 64-bit totals. */
static void accumulate_time(void)
{
    const uint32_t now = board_counter_read(), asleep = board_counter_asleep();
    st.elapsed_units += (uint32_t)(now - st.last_counter);
    st.asleep_units += (uint32_t)(asleep - st.last_asleep);
    st.last_counter = now;
    st.last_asleep = asleep;
}

/* Why the firmware cannot stream, or 0. */
static proto_error_t model_check(reply_t *reply)
{
#if !defined(TINYECG_HAVE_MODEL)
    return reply_error(reply, ERR_NO_MODEL, "firmware built without a model: no beat classification");
#elif !defined(STREAM_HAVE_CONFIG)
    return reply_error(reply, ERR_NO_MODEL,
                       "model dir has no ecg_pipeline_config.h (python -m tinyecg.calibrate --out DIR)");
#elif !STREAM_MODEL_OK
    return reply_error(reply, ERR_BAD_REQUEST,
                       "model " MODEL_ID " is not a beat classifier: needs inputs 128x1|2 + 8|16, scores out");
#else
    if (strcmp(MODEL_ID, ECG_PIPELINE_MODEL_ID) != 0) {
        return reply_error(reply, ERR_BAD_REQUEST,
                           "ecg_pipeline_config.h is for model " ECG_PIPELINE_MODEL_ID ", firmware has " MODEL_ID);
    }
    return ERR_NONE;
#endif
}

proto_error_t cmd_stream_start(const frame_t *req, reply_t *reply)
{
    if (req->len > 1) {
        return reply_error(reply, ERR_BAD_LENGTH, "STREAM_START takes one flags byte");
    }
    const uint8_t flags = req->len ? req->body[0] : 0u;
    if (flags & (uint8_t)~STREAM_FLAG_INPUTS) {
        return reply_error(reply, ERR_BAD_REQUEST, "unknown STREAM_START flags");
    }
    proto_error_t err = model_check(reply);
    if (err != ERR_NONE) {
        return err;
    }
    memset(&st, 0, sizeof st);
    ecg_chain_init(&chain);
    ecg_features_init(&features);
    ecg_rhythm_init(&rhythm);
    st.active = 1;
    st.flags = flags;
    st.overruns0 = board_uart_overruns();
    st.last_counter = board_counter_read();
    st.last_asleep = board_counter_asleep();
    reply_put_bytes(reply, (const uint8_t[]){STREAM_VERSION, STREAM_CREDITS}, 2);
    reply_put_u16(reply, STREAM_MAX_SAMPLES);
    reply_put_u16(reply, ECG_FS_IN);
#if STREAM_MODEL_OK
    reply_put_bytes(reply, (const uint8_t[]){STREAM_N_CLASSES, ECG_PIPELINE_UNCERTAIN_BELOW}, 2);
#endif
    reply_put_u16(reply, STREAM_INPUT_BYTES);
    reply_put_u16(reply, STREAM_MAX_DELTA_SAMPLES);
    return ERR_NONE;
}

#if STREAM_MODEL_OK
static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    put_u16(p, (uint16_t)v);
    put_u16(p + 2, (uint16_t)(v >> 16));
}

/* Times on the wire are raw sample indices, as for BEAT (j = 0, the first
 * HRV window's start, is raw sample 0, not -2). */
static uint32_t wire_time(int32_t j)
{
    return j > 0 ? (uint32_t)ecg_j_to_raw(j) : 0u;
}

/* The rhythm stage on the beat just classified; one RHYTHM event per result,
 * numbered in the same sequence as BEAT events. */
static void rhythm_and_send(int cls)
{
    const uint32_t t0 = board_counter_read();
    ecg_rhythm_event_t ev[ECG_RH_MAX_EVENTS];
    const int n_ev = ecg_rhythm_push(&rhythm, beat.r, cls, beat.pre, ev);
    st.rhythm_units += (uint32_t)(board_counter_read() - t0);
    for (int k = 0; k < n_ev; ++k) {
        const ecg_rhythm_event_t *e = &ev[k];
        uint8_t *b = proto_tx_body();
        uint16_t n = 0;
        put_u32(b + n, st.events);
        n += 4;
        b[n++] = (uint8_t)e->kind;
        put_u32(b + n, wire_time(e->t));
        n += 4;
        const int32_t fields[6] = {e->a, e->kind == ECG_RH_RUN ? (int32_t)wire_time(e->b) : e->b, e->c, e->d, e->e, e->f};
        for (int f = 0; f < 6; ++f) {
            put_u32(b + n, (uint32_t)fields[f]);
            n += 4;
        }
        proto_send_tx(MSG_STREAM_RHYTHM, PROTO_SEQ_NONE, n);
        st.events += 1;
    }
}

/* Classify the beat in `beat` and send its BEAT event, then its rhythm events. */
static void classify_and_send(void)
{
    const uint32_t t0 = board_counter_read();
    ecg_features_push(&features, &beat, beat_diff, beat_extra);
    ecg_features_quantize(&beat, beat_diff, beat_extra, &wave_rq, &rr_rq, ECG_PIPELINE_WAVE_CHANNELS,
                          ECG_PIPELINE_N_FEAT, model_in + ECG_PIPELINE_WAVE_OFFSET, model_in + ECG_PIPELINE_RR_OFFSET);
    const int rc = model_invoke(model_in, model_out);
    int best = 0;
    for (int k = 1; k < STREAM_N_CLASSES; ++k) {
        if (model_out[k] > model_out[best]) { /* first maximum wins, as np.argmax */
            best = k;
        }
    }
    const int32_t conf = (int32_t)model_out[best] - (ECG_PIPELINE_SCORE_ZP);
    /* the reported class: no S calls inside an AF episode (ecg_rhythm.h); the scores and the
     * confidence stay the model's */
    const int cls = (int)ecg_rhythm_reported_class(&rhythm, best);
    const uint32_t units = board_counter_read() - t0;
    st.beat_units += units;
    if (units > st.max_beat_units) {
        st.max_beat_units = units;
    }

    uint8_t *b = proto_tx_body();
    uint16_t n = 0;
    put_u32(b + n, st.events);
    n += 4;
    put_u32(b + n, (uint32_t)ecg_j_to_raw(beat.r));
    n += 4;
    b[n++] = rc == 0 ? (uint8_t)cls : 0xFFu;
    b[n++] = (uint8_t)(conf < 0 ? 0 : (conf > 255 ? 255 : conf));
    b[n++] = (uint8_t)(conf < ECG_PIPELINE_UNCERTAIN_BELOW || rc != 0 ? STREAM_BEAT_UNCERTAIN : 0u);
    b[n++] = STREAM_N_CLASSES;
    memcpy(b + n, model_out, STREAM_N_CLASSES);
    n += STREAM_N_CLASSES;
    put_u32(b + n, units);
    n += 4;
    put_u16(b + n, (uint16_t)beat.pre);
    n += 2;
    put_u16(b + n, (uint16_t)beat.post);
    n += 2;
    if (st.flags & STREAM_FLAG_INPUTS) {
        memcpy(b + n, model_in, MODEL_INPUT_BYTES);
        n += MODEL_INPUT_BYTES;
    }
    proto_send_tx(MSG_STREAM_BEAT, PROTO_SEQ_NONE, n);
    st.events += 1;
    rhythm_and_send(rc == 0 ? cls : 0xFF);
}
#endif

/* Run decoded samples through the chain; every beat is classified and reported. */
static void process_samples(const int16_t *x, uint32_t n)
{
#if STREAM_MODEL_OK
    uint32_t t0 = board_counter_read();
    for (uint32_t i = 0; i < n; ++i) {
        if (ecg_chain_push(&chain, x[i], &beat)) {
            st.dsp_units += (uint32_t)(board_counter_read() - t0);
            classify_and_send();
            t0 = board_counter_read();
        }
    }
    st.dsp_units += (uint32_t)(board_counter_read() - t0);
#endif
    st.last_x = x[n - 1];
    st.next += n;
}

/* Accepted, gap or duplicate: only a chunk starting at st.next is processed. */
static uint8_t chunk_status(uint32_t first)
{
    if (first > st.next) {
        st.gaps += 1; /* an earlier chunk was lost: the host resends from st.next */
        return ACK_GAP;
    }
    if (first < st.next) {
        st.dups += 1; /* already have it (a resend): ignore */
        return ACK_DUPLICATE;
    }
    return ACK_ACCEPTED;
}

static proto_error_t ack(reply_t *reply, uint8_t status)
{
    accumulate_time();
    /* events went out through the TX buffer: the ACK body is written after them */
    reply->len = 0;
    reply_put_bytes(reply, &status, 1);
    reply_put_u32(reply, st.next);
    reply_put_u32(reply, st.events);
    return ERR_NONE;
}

proto_error_t cmd_stream_data(const frame_t *req, reply_t *reply)
{
    if (!st.active) {
        return reply_error(reply, ERR_BAD_REQUEST, "no stream: send STREAM_START first");
    }
    if (req->len < 6 || (req->len & 1u) != 0 || (uint32_t)(req->len - 4u) / 2u > STREAM_MAX_SAMPLES) {
        return reply_error(reply, ERR_BAD_LENGTH, "STREAM_DATA body is first:u32 + 1..500 int16 samples");
    }
    const uint32_t n = (uint32_t)(req->len - 4u) / 2u;
    const uint8_t status = chunk_status(proto_get_u32(req->body));
    if (status == ACK_ACCEPTED) {
        const uint8_t *p = req->body + 4;
        for (uint32_t i = 0; i < n; ++i) {
            samples[i] = (int16_t)(uint16_t)((uint16_t)p[2 * i] | ((uint16_t)p[2 * i + 1] << 8));
        }
        process_samples(samples, n);
    }
    return ack(reply, status);
}

proto_error_t stream_delta8_decode(const uint8_t *p, size_t n_bytes, uint32_t count, int16_t prev,
                                   int16_t *out)
{
    const uint8_t *end = p + n_bytes;
    int32_t x = prev;
    uint32_t i = 0;
    while (i < count && p < end) {
        if (*p == STREAM_DELTA_ESCAPE) {
            if (end - p < 3) {
                break;
            }
            x = (int16_t)(uint16_t)((uint16_t)p[1] | ((uint16_t)p[2] << 8));
            p += 3;
        } else {
            x += (int8_t)*p;
            p += 1;
            if (x < -32768 || x > 32767) {
                return ERR_BAD_REQUEST;
            }
        }
        out[i++] = (int16_t)x;
    }
    return i == count && p == end ? ERR_NONE : ERR_BAD_LENGTH;
}

proto_error_t cmd_stream_data8(const frame_t *req, reply_t *reply)
{
    if (!st.active) {
        return reply_error(reply, ERR_BAD_REQUEST, "no stream: send STREAM_START first");
    }
    if (req->len < 7) {
        return reply_error(reply, ERR_BAD_LENGTH, "STREAM_DATA8 body is first:u32 count:u16 + deltas");
    }
    const uint32_t n = (uint32_t)req->body[4] | ((uint32_t)req->body[5] << 8);
    if (n == 0 || n > STREAM_MAX_DELTA_SAMPLES) {
        return reply_error(reply, ERR_BAD_LENGTH, "STREAM_DATA8 count must be 1..1018");
    }
    const uint8_t status = chunk_status(proto_get_u32(req->body));
    if (status != ACK_ACCEPTED) {
        return ack(reply, status);
    }
    /* decode all of it before touching the chain: a bad chunk changes nothing */
    switch (stream_delta8_decode(req->body + 6, (size_t)req->len - 6u, n, st.last_x, samples)) {
    case ERR_NONE:
        break;
    case ERR_BAD_REQUEST:
        return reply_error(reply, ERR_BAD_REQUEST, "STREAM_DATA8 delta leaves the int16 range");
    default:
        return reply_error(reply, ERR_BAD_LENGTH, "STREAM_DATA8 deltas do not decode to count samples");
    }
    process_samples(samples, n);
    return ack(reply, ACK_ACCEPTED);
}

static void put_stats(reply_t *reply)
{
    accumulate_time();
    reply_put_bytes(reply, (const uint8_t[]){(uint8_t)st.active, st.flags, STREAM_N_CLASSES, 0}, 4);
    reply_put_u32(reply, st.next);
    reply_put_u32(reply, st.events);
    reply_put_u32(reply, st.gaps);
    reply_put_u32(reply, st.dups);
    reply_put_u32(reply, board_uart_overruns() - st.overruns0);
    reply_put_u32(reply, st.max_beat_units);
    reply_put_u64(reply, st.dsp_units);
    reply_put_u64(reply, st.beat_units);
    reply_put_u64(reply, st.elapsed_units);
    reply_put_u64(reply, st.asleep_units);
    reply_put_u64(reply, st.rhythm_units);
}

proto_error_t cmd_stream_stop(const frame_t *req, reply_t *reply)
{
    if (req->len != 0) {
        return reply_error(reply, ERR_BAD_LENGTH, "STREAM_STOP takes an empty body");
    }
    if (!st.active) {
        return reply_error(reply, ERR_BAD_REQUEST, "no stream to stop");
    }
    put_stats(reply);
    st.active = 0;
    return ERR_NONE;
}

proto_error_t cmd_stream_status(const frame_t *req, reply_t *reply)
{
    if (req->len != 0) {
        return reply_error(reply, ERR_BAD_LENGTH, "STREAM_STATUS takes an empty body");
    }
    put_stats(reply);
    return ERR_NONE;
}
