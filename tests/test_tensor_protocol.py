"""The engine's protocol commands on the host: firmware/src/cmd_model.c,
commands.c and protocol.c compiled with host gcc together with a generated
model, driven through the real host client (tinyecg.device.Device) byte for
byte as over a serial port.

The main model has two inputs and two outputs, the larger of each spanning
three frames: every chunked inference equals tflite_micro, and every misuse
of TENSOR_WRITE / INVOKE / TENSOR_READ gets the ERROR that names it and
changes nothing. A small model shows INFER and the chunked path agree; a
build without a model answers every engine command with NO_MODEL.
(The same commands on QEMU: tests/hil/test_infer.py.)"""

from __future__ import annotations

import ctypes
import subprocess

import pytest

import tensor_checks as tc
from engine import fb_build
from tinyecg import codegen
from tinyecg.device import Device
from tinyecg.firmware import ROOT
from tinyecg.protocol import MAX_CHUNK, ErrorCode, Msg, tensor_read_body, tensor_write_body

S = fb_build.S
SRC = ROOT / "firmware" / "src"
TINYNN = ROOT / "firmware" / "lib" / "tinynn"

HARNESS = r"""
#include <string.h>
#include "board.h"
#include "commands.h"
#include "protocol.h"
#include "stream.h"

static uint8_t out_buf[1 << 16];
static size_t out_len;
static uint32_t ticks;

void board_uart_write(const uint8_t *d, size_t n)
{
    if (out_len + n <= sizeof out_buf) { memcpy(out_buf + out_len, d, n); }
    out_len += n; /* an overflow shows as a length the caller rejects */
}
uint32_t board_counter_read(void) { return ticks += 40u; }
const char *board_counter_unit(void) { return "instructions"; }

/* The stream commands are not under test here. */
static proto_error_t no_stream(reply_t *reply) { return reply_error(reply, ERR_BAD_REQUEST, "no stream in this harness"); }
proto_error_t cmd_stream_start(const frame_t *q, reply_t *r) { (void)q; return no_stream(r); }
proto_error_t cmd_stream_data(const frame_t *q, reply_t *r) { (void)q; return no_stream(r); }
proto_error_t cmd_stream_data8(const frame_t *q, reply_t *r) { (void)q; return no_stream(r); }
proto_error_t cmd_stream_stop(const frame_t *q, reply_t *r) { (void)q; return no_stream(r); }
proto_error_t cmd_stream_status(const frame_t *q, reply_t *r) { (void)q; return no_stream(r); }

static proto_rx_t rx;

/* main.c's receive loop: the device's answer to the bytes in wire. */
size_t exchange(const uint8_t *wire, size_t n, uint8_t *dst, size_t cap)
{
    out_len = 0;
    for (size_t i = 0; i < n; ++i) {
        frame_t f;
        proto_error_t e = ERR_NONE;
        switch (proto_rx_feed(&rx, wire[i], &f, &e)) {
        case PROTO_RX_FRAME: commands_dispatch(&f); break;
        case PROTO_RX_ERROR: proto_send_error(f.seq, e, f.type, "malformed frame"); break;
        default: break;
        }
    }
    if (out_len > cap || out_len > sizeof out_buf) { return 0; }
    memcpy(dst, out_buf, out_len);
    return out_len;
}
"""


def requantize_model(in_shapes, s_in=0.05, zp_in=3, s_out=0.1, zp_out=-7) -> bytes:
    """One QUANTIZE (int8 -> int8 rescale) per input: as many outputs as inputs, same shapes."""
    mb = fb_build.ModelBuilder()
    ins, outs = [], []
    for k, shape in enumerate(in_shapes):
        x = mb.tensor(shape, scale=s_in * (k + 1), zp=zp_in + k)
        y = mb.tensor(shape, scale=s_out / (k + 1), zp=zp_out - k)
        mb.op(S.BuiltinOperator.QUANTIZE, [x], [y], S.BuiltinOptions.QuantizeOptions, S.QuantizeOptionsT())
        ins.append(x)
        outs.append(y)
    return mb.build(ins, outs)


class HostDevice(Device):
    """A Device whose far end is the host-compiled firmware: each write runs
    the device's receive loop and puts its answer on a pyserial loop:// port."""

    def __init__(self, lib: ctypes.CDLL):
        super().__init__("loop://", timeout=2.0)
        self.lib = lib
        self.buf = ctypes.create_string_buffer(1 << 16)

    def write(self, data: bytes) -> None:
        n = self.lib.exchange(data, len(data), self.buf, len(self.buf))
        self.port.write(self.buf.raw[:n])


def build_host_firmware(workdir, m: tc.Model | None) -> HostDevice:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "harness.c").write_text(HARNESS)
    srcs = [SRC / "protocol.c", SRC / "commands.c", SRC / "cmd_model.c", workdir / "harness.c"]
    flags = ["-DTINYECG_BOARD=\"host\"", "-DTINYECG_CPU=\"host\"", "-DTINYECG_CLOCK_HZ=1",
             "-DTINYECG_BUILD_ID=\"0000000000000000\""]
    if m is not None:
        codegen.generate(m.graph, workdir / "gen")
        srcs += sorted((workdir / "gen").glob("*.c")) + sorted((TINYNN / "src").glob("*.c"))
        flags += ["-DTINYECG_HAVE_MODEL=1", "-DTNN_PORTABLE", f"-I{workdir / 'gen'}", f"-I{TINYNN / 'include'}"]
    lib = workdir / "libfirmware.so"
    proc = subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                           f"-I{SRC}", f"-I{ROOT / 'firmware' / 'include'}", *flags, *map(str, srcs), "-o", str(lib)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return HostDevice(ctypes.CDLL(str(lib)))


BIG = [[1, 2100], [1, 7]]  # input 0 and output 0 span three chunks (1,015 + 1,015 + 70 bytes)
SMALL = [[1, 16], [1, 7]]  # fits INFER


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    m = tc.Model(requantize_model(BIG))
    with build_host_firmware(tmp_path_factory.mktemp("big"), m) as dev:
        yield dev, m


def test_chunked_inference_equals_tflite_micro(big):
    dev, m = big
    assert m.in_sizes[0] > 2 * MAX_CHUNK and m.out_sizes[0] > 2 * MAX_CHUNK
    info = dev.model_info()
    assert (info["inputs"], info["input_shapes"], info["input_bytes"]) == ("2", "1x2100;1x7", "2107")
    assert (info["outputs"], info["output_shapes"], info["output_bytes"]) == ("2", "1x2100;1x7", "2107")
    assert min(tc.check_parity(dev, m, 12, seed=1)) > 0  # the counter was read around model_invoke


def test_tensor_write_errors(big):
    tc.check_write_errors(*big)


def test_invoke_errors(big):
    tc.check_invoke_errors(*big)


def test_tensor_read_errors(big):
    tc.check_read_errors(*big)


def test_infer_refused_for_tensors_over_one_frame(big):
    tc.check_infer(*big)


def test_resent_and_overlapping_chunks_are_accepted(big):
    """A host that lost a reply resends; chunks may overlap and need not be of one size."""
    dev, m = big
    row = m.rows(1, seed=2)[0]
    a, b = m.inputs(row)
    for off, n, written in [(0, 1015, 1015), (0, 1015, 1015), (500, 1015, 1515), (1515, 585, 2100), (2099, 1, 2100)]:
        reply = dev.request(Msg.TENSOR_WRITE, tensor_write_body(0, 2100, off, a[off:off + n]))
        assert reply.body == written.to_bytes(4, "little")
    dev.write_tensor(1, b)
    dev.invoke()
    assert dev.read_tensor(0, 2100) + dev.read_tensor(1, 7) == m.reference(row[None])[0].tobytes()


def test_small_model_infer_and_chunked_path_agree(tmp_path):
    m = tc.Model(requantize_model(SMALL))
    with build_host_firmware(tmp_path, m) as dev:
        tc.check_parity(dev, m, 6, seed=5)
        tc.check_infer(dev, m)
        tc.check_write_errors(dev, m)


def test_no_model_build_answers_no_model(tmp_path):
    with build_host_firmware(tmp_path, None) as dev:
        assert dev.info()["model"] == "none"
        for msg_type, body in [(Msg.MODEL_INFO, b""), (Msg.INFER, b"\x00"), (Msg.INVOKE, b""),
                               (Msg.TENSOR_WRITE, tensor_write_body(0, 1, 0, b"\x00")),
                               (Msg.TENSOR_READ, tensor_read_body(0, 1, 0, 1))]:
            tc.expect(dev, ErrorCode.NO_MODEL, "firmware built without a model", msg_type, body)
