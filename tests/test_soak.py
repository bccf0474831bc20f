"""tools/soak.py's per-stream verdict (the soak itself takes ~1 h: docs/hardening.md)."""

import importlib.util

from tinyecg.firmware import ROOT

_spec = importlib.util.spec_from_file_location("soak", ROOT / "tools" / "soak.py")
soak = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(soak)


def _report(beats, rhythm, device_events, **device):
    return {"samples_sent": 650_738, "events_received": beats, "rhythm_events_received": rhythm,
            "lost_events": 0, "host_device_mismatches": 0,
            "device": {"stream_samples": 650_738, "stream_events": device_events, "rx_overruns": 0, **device}}


def test_rhythm_events_count_with_the_beats():
    # regression: the device's STOP counts BEAT and RHYTHM events (one sequence); the soak compared
    # that with the BEAT events alone and failed every record once the rhythm events came in
    assert soak.record_problems(_report(2268, 186, 2268 + 186)) == []


def test_a_missing_event_or_sample_or_overrun_is_a_problem():
    assert "2453 received" in soak.record_problems(_report(2268, 185, 2454))[0]
    assert soak.record_problems(_report(10, 0, 10, rx_overruns=1)) == ["1 receive overruns"]
    bad = _report(10, 0, 10)
    bad["device"]["stream_samples"] -= 1
    assert "samples of 650738 sent" in soak.record_problems(bad)[0]
