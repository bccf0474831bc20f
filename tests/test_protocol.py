"""Protocol v1: encode/decode round trips and every error class, on the host
Python implementation and on the device's C implementation (firmware/src/
protocol.c compiled with the host gcc), which must agree frame for frame."""

import ctypes
import random
import subprocess

import pytest

from tinyecg import protocol
from tinyecg.protocol import ErrorCode, FrameError, Msg

from tinyecg.firmware import ROOT


def test_crc16_check_value():
    assert protocol.crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE catalogue value


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x00\x00", b"\x11\x00\x22", bytes(range(1, 255)),
                                  bytes(range(1, 256)), b"\x01" * 254 + b"\x00" + b"\x02" * 300])
def test_cobs_round_trip_edge_cases(data):
    enc = protocol.cobs_encode(data)
    assert 0 not in enc
    assert len(enc) <= len(data) + len(data) // 254 + 1
    assert protocol.cobs_decode(enc) == data


def test_cobs_round_trip_random():
    rng = random.Random(1)
    for _ in range(500):
        data = bytes(rng.choice([0, rng.randrange(256)]) for _ in range(rng.randrange(0, 1100)))
        assert protocol.cobs_decode(protocol.cobs_encode(data)) == data


def test_frame_round_trip():
    rng = random.Random(2)
    for _ in range(200):
        body = rng.randbytes(rng.randrange(protocol.MAX_BODY + 1))
        t, seq = rng.randrange(256), rng.randrange(0x10000)
        wire = protocol.encode(t, seq, body)
        assert wire.endswith(b"\x00") and wire.count(0) == 1
        assert protocol.decode(wire[:-1]) == protocol.Frame(t, seq, body)


def test_encode_refuses_oversize_body():
    with pytest.raises(ValueError, match="exceeds"):
        protocol.encode(Msg.PING, 1, b"x" * (protocol.MAX_BODY + 1))


def test_tensor_chunk_encoding():
    """TENSOR_WRITE / TENSOR_READ bodies, byte by byte as docs/protocol.md draws them."""
    assert protocol.CHUNK_HEADER.size == 9 and protocol.MAX_CHUNK == protocol.MAX_BODY - 9 == 1015
    assert protocol.tensor_write_body(1, 3072, 2030, b"\xaa\xbb") == \
        b"\x01" + b"\x00\x0c\x00\x00" + b"\xee\x07\x00\x00" + b"\xaa\xbb"
    assert protocol.tensor_read_body(2, 0x01020304, 1015, 0x3F7) == \
        b"\x02" + b"\x04\x03\x02\x01" + b"\xf7\x03\x00\x00" + b"\xf7\x03"
    body = protocol.tensor_write_body(0, 4096, 1015, bytes(range(200)))
    assert protocol.parse_chunk(body) == protocol.Chunk(0, 4096, 1015, bytes(range(200)))
    assert len(protocol.encode(Msg.TENSOR_WRITE, 1, protocol.tensor_write_body(0, 1, 0, b"x" * protocol.MAX_CHUNK))) \
        <= protocol.MAX_ENCODED + 1  # a full chunk is one frame
    with pytest.raises(FrameError) as e:
        protocol.parse_chunk(b"\x00" * 8)
    assert e.value.code == ErrorCode.BAD_LENGTH


@pytest.mark.parametrize("total,spans", [
    (1, [(0, 1)]), (1015, [(0, 1015)]), (1016, [(0, 1015), (1015, 1)]),
    (3072, [(0, 1015), (1015, 1015), (2030, 1015), (3045, 27)]),
    (2030, [(0, 1015), (1015, 1015)]),
])
def test_chunk_spans_cover_the_tensor_in_order(total, spans):
    assert protocol.chunk_spans(total) == spans


def test_chunk_spans_of_large_tensors():
    for total in (27_648, 100_000, 1 << 20):
        spans = protocol.chunk_spans(total)
        assert spans[0][0] == 0 and all(0 < n <= protocol.MAX_CHUNK for _, n in spans)
        assert all(a + n == b for (a, n), (b, _) in zip(spans, spans[1:]))
        assert spans[-1][0] + spans[-1][1] == total and len(spans) == -(-total // protocol.MAX_CHUNK)
    with pytest.raises(ValueError):
        protocol.chunk_spans(0)


def bad_frames():
    """(name, encoded bytes without delimiter, expected error) for every class."""
    good = protocol.pack_frame(Msg.PING, 3, b"hello")
    flipped = bytearray(good)
    flipped[-2] ^= 1
    return [
        ("bad_crc", protocol.cobs_encode(bytes(flipped)), ErrorCode.BAD_CRC),
        ("truncated", protocol.cobs_encode(good[:-1]), ErrorCode.TRUNCATED),
        ("short", protocol.cobs_encode(b"\x01\x02\x03"), ErrorCode.TRUNCATED),
        ("too_long", protocol.cobs_encode(good + b"\x00"), ErrorCode.BAD_LENGTH),
        ("len_oversize", protocol.cobs_encode(protocol.HEADER.pack(1, 1, 1, 2000) + b"ab"),
         ErrorCode.OVERSIZE),
        ("encoded_oversize", b"\x07" * (protocol.MAX_ENCODED + 1), ErrorCode.OVERSIZE),
        ("version", protocol.cobs_encode(protocol.pack_frame(Msg.PING, 3, b"x", version=9)),
         ErrorCode.BAD_VERSION),
        ("framing", b"\x05ab", ErrorCode.BAD_FRAMING),
        # 1,034 encoded bytes decode to 1,033 zeros: longer than any frame, but a
        # valid COBS block, so the length fields decide (found by tests/fuzz)
        ("decodes_past_max_frame", b"\x01" * 1034, ErrorCode.BAD_LENGTH),
    ]


@pytest.mark.parametrize("name,encoded,code", bad_frames(), ids=[b[0] for b in bad_frames()])
def test_python_decoder_names_each_defect(name, encoded, code):
    with pytest.raises(FrameError) as exc:
        protocol.decode(encoded)
    assert exc.value.code == code


def test_reader_resynchronises_after_garbage():
    reader = protocol.FrameReader()
    stream = b"\x13\x37garbage" + b"\x00" + protocol.encode(Msg.PING, 1, b"a") + b"\xff\xfe\x00" \
        + protocol.encode(Msg.INFO, 2)
    got = []
    for i in range(0, len(stream), 3):  # arrives in small pieces
        got += reader.feed(stream[i:i + 3])
    frames = [g for g in got if isinstance(g, protocol.Frame)]
    assert [(f.type, f.seq) for f in frames] == [(Msg.PING, 1), (Msg.INFO, 2)]
    assert sum(isinstance(g, FrameError) for g in got) == 2


# --- the device's C implementation, compiled for the host --------------------

HARNESS = r"""
#include <string.h>
#include "board_host.h"
#include "protocol.h"
static proto_rx_t rx;
/* Feed bytes; returns 0 none, 1 frame, 2 error; fills type/seq/len/err of the last event. */
int feed(const uint8_t *d, size_t n, int *type, int *seq, int *len, int *err) {
    int last = 0;
    for (size_t i = 0; i < n; ++i) {
        frame_t f; proto_error_t e = ERR_NONE;
        proto_rx_result_t r = proto_rx_feed(&rx, d[i], &f, &e);
        if (r != PROTO_RX_NONE) { last = (int)r; *type = f.type; *seq = f.seq; *len = f.len; *err = (int)e; }
    }
    return last;
}
size_t send(int type, int seq, const uint8_t *body, int len, uint8_t *dst) {
    host_tx_clear(); proto_send((uint8_t)type, (uint16_t)seq, body, (uint16_t)len);
    memcpy(dst, host_tx, host_tx_len); return host_tx_len;
}
"""
# the board.h shim the libFuzzer targets use too (transmit captured in host_tx)
BOARD_HOST = ROOT / "tests" / "fuzz" / "board_host.c"


@pytest.fixture(scope="module")
def cproto(tmp_path_factory):
    d = tmp_path_factory.mktemp("cproto")
    (d / "harness.c").write_text(HARNESS)
    lib = d / "libproto.so"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-O1", "-shared", "-fPIC",
                    "-I", str(ROOT / "firmware/src"), "-I", str(ROOT / "firmware/include"),
                    "-I", str(BOARD_HOST.parent), str(ROOT / "firmware/src/protocol.c"), str(BOARD_HOST),
                    str(d / "harness.c"), "-o", str(lib)],
                   check=True)
    return ctypes.CDLL(str(lib))


def c_feed(cproto, data: bytes):
    t, s, n, e = (ctypes.c_int() for _ in range(4))
    r = cproto.feed(data, len(data), ctypes.byref(t), ctypes.byref(s), ctypes.byref(n), ctypes.byref(e))
    return r, t.value, s.value, n.value, e.value


@pytest.mark.parametrize("name,encoded,code", bad_frames(), ids=[b[0] for b in bad_frames()])
def test_c_decoder_agrees_on_each_defect(cproto, name, encoded, code):
    r, _, _, _, err = c_feed(cproto, encoded + b"\x00")
    assert (r, err) == (2, code)


def test_c_encoder_matches_python(cproto):
    rng = random.Random(3)
    dst = ctypes.create_string_buffer(4096)
    for _ in range(200):
        body = bytes(rng.choice([0, rng.randrange(256)]) for _ in range(rng.randrange(0, 1025)))
        t, seq = rng.randrange(256), rng.randrange(0x10000)
        n = cproto.send(t, seq, body, len(body), dst)
        assert dst.raw[:n] == protocol.encode(t, seq, body)
        assert c_feed(cproto, dst.raw[:n]) == (1, t, seq, len(body), 0)


def test_c_decoder_survives_random_garbage(cproto):
    rng = random.Random(4)
    for _ in range(200):
        junk = rng.randbytes(rng.randrange(1, 3000))
        c_feed(cproto, junk + b"\x00")
        assert c_feed(cproto, protocol.encode(Msg.PING, 5, b"ok"))[:3] == (1, Msg.PING, 5)
