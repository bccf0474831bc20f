/* Host harness for parity tests: reads MODEL_INPUT_BYTES-byte records from
 * stdin, runs model_invoke on each, writes MODEL_OUTPUT_BYTES-byte records to
 * stdout. Exit status 3 if the model reports an error. */
#include <stdint.h>
#include <stdio.h>

#include "model.h"
#include "model_config.h"

int main(void)
{
    static int8_t in[MODEL_INPUT_BYTES];
    static int8_t out[MODEL_OUTPUT_BYTES];
    while (fread(in, 1, sizeof in, stdin) == sizeof in) {
        if (model_invoke(in, out) != 0) {
            return 3;
        }
        if (fwrite(out, 1, sizeof out, stdout) != sizeof out) {
            return 4;
        }
    }
    return 0;
}
