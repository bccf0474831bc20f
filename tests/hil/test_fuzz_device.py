"""Device-level fuzzing (tinyecg.fuzz.device, docs/hardening.md): structure-aware
hostile frames of every type but TEST_FAULT -- valid CRC with hostile bodies,
bit flips, truncations, wrong headers, garbage, over-long runs, stream chunks
out of order, duplicated and malformed -- in batches; every answer predicted,
PING answered after each batch, no FAULT, no BOOT, no malformed frame, no
receive overrun.  A bounded, seeded run here; the long one is
tools/fuzz_device.py --frames 100000."""

from tinyecg.fuzz.device import DeviceFuzzer, Finding

FRAMES = 1000


def test_hostile_frames_every_answer_predicted(dut):
    dut.sync()
    fz = DeviceFuzzer(dut.device, seed=12)
    try:
        stats = fz.run(FRAMES)
    except Finding as exc:
        raise AssertionError(f"after {fz.stats.frames} frames: {exc}") from None
    assert stats.frames >= FRAMES
    # the run reached the deep paths: replies, refusals, and beats classified mid-fuzz
    assert stats.answers["reply"] > 0 and stats.answers["error"] > 0 and stats.beats > 0
    assert stats.answers["rhythm events"] > 0
    # ... and inferences run by INFER and by chunks + INVOKE, their results read back
    assert stats.answers["reply 0x04"] > 0 and stats.answers["reply 0x06"] > 0 and stats.answers["reply 0x07"] > 0
    assert dut.ping(b"still alive") == b"still alive"
