"""The chunked tensor commands' contract (docs/protocol.md, "Running the
model"), as checks any connected device must pass: the host-compiled firmware
(tests/test_tensor_protocol.py) and QEMU or a board (tests/hil/test_infer.py).

Each check takes a Device running the model `model` (its .tflite bytes) and
derives every size and expected error text from the model's graph."""

from __future__ import annotations

import numpy as np
import pytest

from tinyecg import bench, tflite_import
from tinyecg.device import DeviceError
from tinyecg.protocol import MAX_BODY, MAX_CHUNK, ErrorCode, Msg, tensor_read_body, tensor_write_body


class Model:
    """A .tflite and what the checks need to know of it."""

    def __init__(self, data: bytes):
        self.data = data
        self.graph = tflite_import.parse(data, "model.tflite")
        self.in_sizes, self.out_sizes = bench.io_sizes(self.graph)

    def rows(self, n: int, seed: int) -> np.ndarray:
        """n seeded random int8 input rows (all inputs concatenated), then all -128, then all 127."""
        width = sum(self.in_sizes)
        rows = np.random.default_rng(seed).integers(-128, 128, size=(n, width), dtype=np.int8)
        return np.concatenate([rows, np.full((1, width), -128, np.int8), np.full((1, width), 127, np.int8)])

    def inputs(self, row: np.ndarray) -> list[bytes]:
        return [part.tobytes() for part in np.split(row, np.cumsum(self.in_sizes)[:-1])]

    def reference(self, rows: np.ndarray) -> np.ndarray:
        return bench.reference_outputs(self.data, self.graph, rows)

    @property
    def infer_fits(self) -> bool:
        return sum(self.in_sizes) <= MAX_BODY and sum(self.out_sizes) + 4 <= MAX_BODY


def expect(dev, code: ErrorCode, words: str, msg_type: int, body: bytes = b"") -> str:
    """The request gets ERROR `code` about `msg_type` whose text contains `words`."""
    with pytest.raises(DeviceError) as e:
        dev.request(msg_type, body)
    assert e.value.code == code and e.value.ref_type == msg_type, e.value
    assert words in e.value.text, e.value.text
    return e.value.text


def check_parity(dev, m: Model, n_random: int, seed: int) -> list[int]:
    """Chunked inferences equal tflite_micro; returns the counter units of each."""
    x = m.rows(n_random, seed)
    got, counts = bench.run_vectors(dev, x, m.graph)
    assert np.array_equal(got, m.reference(x)), f"{int((got != m.reference(x)).any(axis=1).sum())} rows differ"
    return counts


def _result(dev, m: Model) -> bytes:
    return b"".join(dev.read_tensor(k, n) for k, n in enumerate(m.out_sizes))


def check_write_errors(dev, m: Model, seed: int = 11) -> None:
    """Every malformed or misplaced chunk is refused with its reason and writes nothing."""
    row = m.rows(1, seed)[0]
    ins = m.inputs(row)
    n_in, size0 = len(m.in_sizes), m.in_sizes[0]
    w = Msg.TENSOR_WRITE
    dev.run_model(ins, m.out_sizes)  # a completed invoke: every input is unwritten now
    expect(dev, ErrorCode.BAD_LENGTH, "TENSOR_WRITE body is index:u8 total:u32 offset:u32", w,
           tensor_write_body(0, size0, 0, b""))
    expect(dev, ErrorCode.BAD_LENGTH, "TENSOR_WRITE body is", w, b"\x00\x01")
    expect(dev, ErrorCode.BAD_REQUEST, f"input index {n_in} out of range: the model has {n_in} inputs", w,
           tensor_write_body(n_in, size0, 0, ins[0][:1]))
    expect(dev, ErrorCode.BAD_REQUEST, f"wrong total: input 0 has {size0} bytes, not {size0 + 1}", w,
           tensor_write_body(0, size0 + 1, 0, ins[0][:1]))
    expect(dev, ErrorCode.BAD_REQUEST, f"chunk out of range: bytes {size0 - 1}+2 of input 0 ({size0} bytes)", w,
           tensor_write_body(0, size0, size0 - 1, b"\x01\x02"))
    expect(dev, ErrorCode.BAD_REQUEST, "chunk out of range: bytes 4294967295+1 of input 0", w,
           tensor_write_body(0, size0, 0xFFFFFFFF, b"\x01"))  # offset + n does not wrap around
    if size0 > 1:
        expect(dev, ErrorCode.BAD_REQUEST, "chunk leaves a gap: offset 1, input 0 written up to 0", w,
               tensor_write_body(0, size0, 1, ins[0][1:2]))
    # none of it was written: the next complete inference is right
    got, _ = dev.run_model(ins, m.out_sizes)
    assert b"".join(got) == m.reference(row[None])[0].tobytes()


def check_invoke_errors(dev, m: Model, seed: int = 12) -> None:
    """INVOKE runs only on inputs written in full since the last invoke."""
    row = m.rows(1, seed)[0]
    ins = m.inputs(row)
    last, size_last = len(m.in_sizes) - 1, m.in_sizes[-1]
    expect(dev, ErrorCode.BAD_LENGTH, "INVOKE takes an empty body", Msg.INVOKE, b"\x00")
    dev.run_model(ins, m.out_sizes)
    expect(dev, ErrorCode.BAD_REQUEST, f"INVOKE before input 0 is complete: 0 of {m.in_sizes[0]} bytes written "
           "since the last invoke", Msg.INVOKE)
    for k in range(last):
        dev.write_tensor(k, ins[k])
    half = size_last // 2
    if half:
        dev.request(Msg.TENSOR_WRITE, tensor_write_body(last, size_last, 0, ins[last][:half]))
    expect(dev, ErrorCode.BAD_REQUEST, f"INVOKE before input {last} is complete: {half} of {size_last} bytes",
           Msg.INVOKE)
    dev.request(Msg.TENSOR_WRITE, tensor_write_body(last, size_last, half, ins[last][half:]))
    dev.invoke()
    assert _result(dev, m) == m.reference(row[None])[0].tobytes()


def check_read_errors(dev, m: Model, seed: int = 13) -> None:
    """TENSOR_READ returns only the result of a completed invoke, as chunks in range."""
    row = m.rows(1, seed)[0]
    ins = m.inputs(row)
    n_out, last, size_last = len(m.out_sizes), len(m.out_sizes) - 1, m.out_sizes[-1]
    r = Msg.TENSOR_READ
    for k, data in enumerate(ins):
        dev.write_tensor(k, data)
    expect(dev, ErrorCode.BAD_REQUEST, "no result: TENSOR_READ before a completed INVOKE", r,
           tensor_read_body(0, m.out_sizes[0], 0, 1))
    dev.invoke()
    expect(dev, ErrorCode.BAD_LENGTH, "TENSOR_READ body is index:u8 total:u32 offset:u32 length:u16", r,
           tensor_read_body(0, m.out_sizes[0], 0, 1)[:-1])
    expect(dev, ErrorCode.BAD_REQUEST, f"output index {n_out} out of range: the model has {n_out} outputs", r,
           tensor_read_body(n_out, m.out_sizes[0], 0, 1))
    expect(dev, ErrorCode.BAD_REQUEST, f"wrong total: output {last} has {size_last} bytes, not {size_last - 1}", r,
           tensor_read_body(last, size_last - 1, 0, 1))
    expect(dev, ErrorCode.BAD_REQUEST, f"chunk out of range: bytes {size_last}+1 of output {last} ({size_last} bytes)",
           r, tensor_read_body(last, size_last, size_last, 1))
    expect(dev, ErrorCode.BAD_REQUEST, f"TENSOR_READ length 0 not in 1..{MAX_CHUNK}", r,
           tensor_read_body(0, m.out_sizes[0], 0, 0))
    expect(dev, ErrorCode.BAD_REQUEST, f"TENSOR_READ length {MAX_CHUNK + 1} not in 1..{MAX_CHUNK}", r,
           tensor_read_body(0, m.out_sizes[0], 0, MAX_CHUNK + 1))
    # the result stands until the next write: in any order, as often as wanted
    ref = m.reference(row[None])[0].tobytes()
    assert b"".join(reversed([dev.read_tensor(k, n) for k, n in enumerate(m.out_sizes)])) == \
        b"".join(reversed([ref[a:a + n] for a, n in zip(np.cumsum([0] + m.out_sizes[:-1]), m.out_sizes)]))
    tail = dev.request(r, tensor_read_body(last, size_last, size_last - 1, 1)).body
    assert tail == tensor_write_body(last, size_last, size_last - 1, ref[-1:])  # the reply is a chunk
    dev.request(Msg.TENSOR_WRITE, tensor_write_body(0, m.in_sizes[0], 0, ins[0][:1]))
    expect(dev, ErrorCode.BAD_REQUEST, "no result", r, tensor_read_body(0, m.out_sizes[0], 0, 1))


def check_infer(dev, m: Model, seed: int = 14) -> None:
    """INFER (one frame each way) equals the chunked path where the tensors fit a
    frame and is refused, pointing to the chunked commands, where they do not."""
    if not m.infer_fits:
        expect(dev, ErrorCode.BAD_REQUEST, "model tensors exceed one frame: use TENSOR_WRITE, INVOKE, TENSOR_READ",
               Msg.INFER, bytes(min(sum(m.in_sizes), MAX_BODY)))
        return
    x = m.rows(2, seed)
    n_in, n_out = sum(m.in_sizes), sum(m.out_sizes)
    for row, want in zip(x, m.reference(x)):
        body = dev.request(Msg.INFER, row.tobytes()).body
        assert len(body) == n_out + 4 and body[:n_out] == want.tobytes()
        # INFER = write every input, INVOKE, read every output: the result reads back, the inputs are consumed
        assert _result(dev, m) == want.tobytes()
        expect(dev, ErrorCode.BAD_REQUEST, "INVOKE before input 0 is complete", Msg.INVOKE)
    for n in (0, n_in - 1, n_in + 1):
        expect(dev, ErrorCode.BAD_LENGTH, f"INFER expects {n_in} input bytes, got {n}", Msg.INFER, bytes(n))
