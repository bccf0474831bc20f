"""Protocol v1 on the device: PING, INFO, every malformed-frame class, garbage."""

import random

import pytest

from tinyecg import firmware, protocol
from tinyecg.protocol import ErrorCode, Msg

from .conftest import close_dut, open_dut


def expect_error(dut, code: ErrorCode, ref_type: int | None = None):
    frame = dut.recv(timeout=5)
    while frame.type == Msg.BOOT:
        frame = dut.recv(timeout=5)
    assert frame.is_error, f"expected ERROR {code.name}, got {frame}"
    got, got_type, text = frame.error()
    assert got == code, f"expected {code.name}, got {got} ({text})"
    if ref_type is not None:
        assert got_type == ref_type
    assert text  # every error says which problem in words too
    return frame


def test_ping_echoes_payload(dut):
    for payload in (b"", b"\x00", b"hello", bytes(range(256)) * 4):
        assert dut.ping(payload) == payload


def test_info_names_the_board(dut):
    info = dut.info()
    assert info["protocol"] == str(protocol.VERSION)
    assert info["board"] == firmware.board_of(dut.env)
    assert info["counter"] in ("cycles", "instructions")
    assert int(info["clock_hz"]) > 0
    assert len(info["build"]) == 16
    assert int(info["max_body"]) == protocol.MAX_BODY


def test_bad_crc(dut):
    raw = bytearray(protocol.pack_frame(Msg.PING, 7, b"abc"))
    raw[-1] ^= 0x5A
    dut.write(protocol.cobs_encode(bytes(raw)) + b"\x00")
    expect_error(dut, ErrorCode.BAD_CRC, Msg.PING)
    assert dut.ping(b"next") == b"next"


def test_truncated(dut):
    raw = protocol.pack_frame(Msg.PING, 8, b"abcdef")
    dut.write(protocol.cobs_encode(raw[:-3]) + b"\x00")
    expect_error(dut, ErrorCode.TRUNCATED, Msg.PING)
    dut.write(protocol.cobs_encode(b"\x01\x01") + b"\x00")  # shorter than a header
    expect_error(dut, ErrorCode.TRUNCATED)
    assert dut.ping(b"next") == b"next"


def test_too_long_for_header(dut):
    raw = protocol.pack_frame(Msg.PING, 9, b"abc") + b"extra"
    dut.write(protocol.cobs_encode(raw) + b"\x00")
    expect_error(dut, ErrorCode.BAD_LENGTH, Msg.PING)
    assert dut.ping(b"next") == b"next"


def test_oversize(dut):
    # length field over the maximum
    raw = protocol.HEADER.pack(1, Msg.PING, 10, protocol.MAX_BODY + 1) + b"x" * 4
    dut.write(protocol.cobs_encode(raw) + b"\x00")
    expect_error(dut, ErrorCode.OVERSIZE)
    # more bytes than any frame may have, before a delimiter
    dut.write(b"\x55" * (protocol.MAX_ENCODED + 100) + b"\x00")
    expect_error(dut, ErrorCode.OVERSIZE)
    assert dut.ping(b"next") == b"next"


def test_unknown_type(dut):
    seq = dut.send(0x6B, b"")
    frame = expect_error(dut, ErrorCode.UNKNOWN_TYPE, 0x6B)
    assert frame.seq == seq
    assert dut.ping(b"next") == b"next"


def test_wrong_version(dut):
    dut.write(protocol.cobs_encode(protocol.pack_frame(Msg.PING, 11, b"v", version=2)) + b"\x00")
    expect_error(dut, ErrorCode.BAD_VERSION, Msg.PING)
    assert dut.ping(b"next") == b"next"


def test_bad_framing(dut):
    dut.write(b"\x09abc\x00")  # COBS block claims 8 bytes, has 3
    expect_error(dut, ErrorCode.BAD_FRAMING)
    assert dut.ping(b"next") == b"next"


def test_command_body_length_checked(dut):
    frame = dut.request(Msg.INFO, b"unexpected", allow_error=True)
    assert frame.error()[0] == ErrorCode.BAD_LENGTH
    assert dut.ping(b"next") == b"next"


def test_thousand_garbage_bursts_then_ping(dut):
    rng = random.Random(2026)
    bursts = 1000
    errors = 0
    for start in range(0, bursts, 50):
        blob = b"".join(bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 200))) + b"\x00"
                        for _ in range(50))
        dut.write(blob)
        for _ in range(50):
            frame = dut.recv(timeout=5)
            assert frame.is_error, frame
            errors += 1
    assert errors == bursts
    assert dut.ping(b"still alive") == b"still alive"


def test_random_bytes_stream_then_ping(dut):
    rng = random.Random(7)
    dut.write(bytes(rng.randrange(256) for _ in range(20000)) + b"\x00")
    dut.sync()  # ERROR frames for the garbage arrive first; PING still answers
    assert dut.ping(b"ok") == b"ok"


def test_fault_is_reported_and_device_recovers(request, qemu_only):
    d = open_dut(request.config)
    try:
        d.wait_for(Msg.BOOT, timeout=5)
        d.send(Msg.TEST_FAULT)
        fault = d.wait_for(Msg.FAULT, timeout=5).kv()
        assert fault["fault"] in ("BusFault", "HardFault")
        assert int(fault["pc"], 16) > 0
        d.wait_for(Msg.BOOT, timeout=5)  # the device reset itself
        assert d.ping(b"back") == b"back"
    finally:
        close_dut(d)


@pytest.mark.parametrize("env", [e for e in firmware.envs() if firmware.is_qemu(e)])
def test_every_qemu_env_boots_and_answers(request, qemu_only, env):
    d = open_dut(request.config, env)
    try:
        boot = d.wait_for(Msg.BOOT, timeout=5).kv()
        assert boot["board"] == firmware.board_of(env)
        assert d.info() == boot
        assert d.ping(b"x" * protocol.MAX_BODY) == b"x" * protocol.MAX_BODY
    finally:
        close_dut(d)
