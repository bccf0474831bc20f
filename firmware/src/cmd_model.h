/*
 * cmd_model.h - the engine's protocol commands (table entries in commands.c).
 *
 * MODEL_INFO (0x03): empty body; reply "key=value\n" text: model id, input and
 *   output shapes / zero points / byte counts, arena bytes, MACs, class names,
 *   stack_peak (most stack bytes any INFER since boot used, by stack painting).
 * INFER (0x04): body = MODEL_INPUT_BYTES int8 (all inputs concatenated);
 *   reply = MODEL_OUTPUT_BYTES int8 outputs + u32 LE counter units
 *   (instructions on QEMU, cycles on boards) spent in model_invoke.
 *   A body of any other length gets ERROR BAD_LENGTH.
 */
#ifndef TINYECG_CMD_MODEL_H
#define TINYECG_CMD_MODEL_H

#include "commands.h"

proto_error_t cmd_model_info(const frame_t *req, reply_t *reply);
proto_error_t cmd_infer(const frame_t *req, reply_t *reply);

#endif
