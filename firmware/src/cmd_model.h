/*
 * cmd_model.h - the engine's protocol commands (table entries in commands.c;
 * specified in docs/protocol.md, "Running the model").
 *
 * MODEL_INFO (0x03): empty body; reply "key=value\n" text: model id, input and
 *   output shapes / zero points / byte counts, arena bytes, MACs, class names,
 *   stack_peak (most stack bytes any invoke since boot used, by stack painting).
 * TENSOR_WRITE (0x05): index:u8 total:u32 offset:u32 data[1..1015] -> one
 *   chunk of input `index` (of `total` bytes); chunks go in order, resends of
 *   earlier bytes are fine; reply = written:u32 (input bytes [0, written) since
 *   the last invoke).
 * INVOKE (0x06): empty body; every input written in full since the last
 *   invoke; reply = u32 counter units (instructions on QEMU, cycles on
 *   boards) spent in model_invoke.
 * TENSOR_READ (0x07): index:u8 total:u32 offset:u32 length:u16 -> reply is
 *   the chunk index:u8 total:u32 offset:u32 data[length] of output `index`
 *   of the last completed invoke (none after a write or a failed invoke).
 * INFER (0x04): body = MODEL_INPUT_BYTES int8 (all inputs concatenated);
 *   reply = MODEL_OUTPUT_BYTES int8 outputs + u32 counter units; the same as
 *   writing every input, INVOKE, reading every output. Only for models whose
 *   tensors fit one frame; a body of any other length gets BAD_LENGTH.
 * Firmware built without a model answers all of them with ERROR NO_MODEL.
 */
#ifndef TINYECG_CMD_MODEL_H
#define TINYECG_CMD_MODEL_H

#include "commands.h"

proto_error_t cmd_model_info(const frame_t *req, reply_t *reply);
proto_error_t cmd_infer(const frame_t *req, reply_t *reply);
proto_error_t cmd_tensor_write(const frame_t *req, reply_t *reply);
proto_error_t cmd_invoke(const frame_t *req, reply_t *reply);
proto_error_t cmd_tensor_read(const frame_t *req, reply_t *reply);

#endif
