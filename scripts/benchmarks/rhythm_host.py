#!/usr/bin/env python3
"""Rhythm figures of whole records on the host: the device's computation, bit for bit, without QEMU.

For each record: the fixed-point chain and the shipped int8 model on the
host (``stream.host_reference``, what the device computes beat for beat),
then ``tinyecg.rhythm`` on those beats (``stream.host_rhythm``, what the
device's RHYTHM events say), scored by ``tinyecg.ec57`` exactly as
``tools/stream.py`` scores the device.  This is the tuning loop for the
rhythm constants: run it on DS1; DS2 is scored through the device
(scripts/benchmarks/stream_records.py).

    .venv/bin/python scripts/benchmarks/rhythm_host.py --records DS1 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from tinyecg import data as D  # noqa: E402
from tinyecg import preprocess as P  # noqa: E402
from tinyecg import stream as S  # noqa: E402
from tinyecg.calibrate import Int8Model  # noqa: E402


def record_report(rec) -> dict:
    model = Int8Model(S.DEFAULT_MODEL.read_bytes())
    r = S.load_stream_record(str(rec))
    x = P.with_tail(r.signal)
    host = S.host_reference(x, model, 0)
    events = [S.RhythmEvent(i, *t) for i, t in enumerate(S.host_rhythm(host))]
    beats = [SimpleNamespace(r=int(v)) for v in host.r]
    rh = S.rhythm_report(r, events, beats, S.EC57_START_SECONDS)
    return {"record": str(rec), "rhythm": rh, "rhythm_events_received": len(events), "rhythm_mismatches": 0,
            "device": {"rhythm_units_per_beat": None}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", default="DS1", help="DS1, DS2, all or a list like 201,203")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    recs = D.parse_records(args.records)
    from tqdm import tqdm
    with ProcessPoolExecutor(args.jobs) as ex:
        reps = list(tqdm(ex.map(record_report, recs), total=len(recs), desc="records"))
    print(S.format_rhythm_table(reps))
    if args.json:
        args.json.write_text(json.dumps(reps, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
