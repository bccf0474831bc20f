/*
 * stream.h - the beat pipeline over the serial protocol (docs/protocol.md,
 * "Streaming").  Raw ECG samples in, one BEAT event per beat out.
 *
 * STREAM_START  (0x10): body flags:u8 (or empty).  Resets the chain and the
 *   counters.  Reply 0x90: version:u8 credits:u8 max_samples:u16 fs:u16
 *   n_classes:u8 uncertain_below:u8 input_bytes:u16 max_delta_samples:u16.
 * STREAM_DATA   (0x11): body first:u32 samples:int16le[n], 1 <= n <= max_samples.
 *   The BEAT events the chunk produced are sent first, then the ACK 0x91:
 *   status:u8 (0 accepted, 1 gap, 2 duplicate) next:u32 events:u32.
 * STREAM_DATA8  (0x14): body first:u32 count:u16 delta8[...]: the same samples,
 *   each a signed byte d (x = previous + d) or 0x80 followed by int16le x;
 *   1 <= count <= max_delta_samples.  About 1 byte per ECG sample instead of 2.
 * STREAM_STOP   (0x12): empty.  Reply 0x92 = statistics (below); stream ends.
 * STREAM_STATUS (0x13): empty.  Reply 0x93 = statistics; stream goes on.
 * BEAT          (0x98): device -> host, seq 0xFFFF.
 * RHYTHM        (0x99): device -> host, seq 0xFFFF: eseq:u32 kind:u8 t:u32 a..f:i32
 *   (heart rate, VEB/SVEB run, AF onset/offset, 5-minute HRV; docs/rhythm.md).
 *   BEAT and RHYTHM events share one sequence number (eseq).
 *
 * Without a model of the pipeline's shape (inputs 128x1 + 8, or no
 * ecg_pipeline_config.h in the model dir) START answers NO_MODEL / BAD_REQUEST.
 */
#ifndef TINYECG_STREAM_H
#define TINYECG_STREAM_H

#include "commands.h"

enum {
    MSG_STREAM_START = 0x10,
    MSG_STREAM_DATA = 0x11,
    MSG_STREAM_STOP = 0x12,
    MSG_STREAM_STATUS = 0x13,
    MSG_STREAM_DATA8 = 0x14,
    MSG_STREAM_BEAT = 0x98,   /* event, device -> host */
    MSG_STREAM_RHYTHM = 0x99, /* event, device -> host */
};

#define STREAM_VERSION 2u
#define STREAM_MAX_SAMPLES 500u   /* 4 + 2 * 500 = 1004 body bytes <= PROTO_MAX_BODY */
#define STREAM_MAX_DELTA_SAMPLES 1018u /* 6 + 1018 = PROTO_MAX_BODY */
#define STREAM_DELTA_ESCAPE 0x80u
/* Chunks the host may have unanswered: 3 max-size frames (3 * 1017 encoded
 * bytes) fit the 4 KiB RX ring with ~1 KiB to spare for other frames. */
#define STREAM_CREDITS 3u

#define STREAM_FLAG_INPUTS 0x01u  /* START flag: append the model's int8 inputs to each BEAT */
#define STREAM_BEAT_UNCERTAIN 0x01u

proto_error_t cmd_stream_start(const frame_t *req, reply_t *reply);
proto_error_t cmd_stream_data(const frame_t *req, reply_t *reply);
proto_error_t cmd_stream_data8(const frame_t *req, reply_t *reply);
proto_error_t cmd_stream_stop(const frame_t *req, reply_t *reply);
proto_error_t cmd_stream_status(const frame_t *req, reply_t *reply);

/* The STREAM_DATA8 sample decoder: `count` samples from the n_bytes delta
 * bytes at p, starting from `prev` (the last accepted sample).  Returns
 * ERR_NONE with out[0 .. count) written; ERR_BAD_REQUEST when a delta steps
 * outside the int16 range; ERR_BAD_LENGTH when the bytes do not decode to
 * exactly `count` samples.  out may be written to on failure. */
proto_error_t stream_delta8_decode(const uint8_t *p, size_t n_bytes, uint32_t count, int16_t prev,
                                   int16_t *out);

#endif
