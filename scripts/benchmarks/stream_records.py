#!/usr/bin/env python3
"""Stream whole MIT-BIH records through the device (QEMU), one report per record, and the tables.

Builds the firmware once, boots one QEMU board, and runs ``tinyecg.stream.run``
on each record in turn (beats, rhythm events, host/device comparison, EC57
beat and rhythm scores).  Reports go to OUT/<record>.json, WFDB annotations
beside them; the beat table and the rhythm table are printed at the end
(the figures in docs/pipeline.md and docs/rhythm.md come from here).

    .venv/bin/python scripts/benchmarks/stream_records.py --records DS2 --out /tmp/ds2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from tinyecg import data as D  # noqa: E402
from tinyecg import firmware, qemu  # noqa: E402
from tinyecg import stream as S  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", default="DS2", help="DS1, DS2, all or a list like 100,201")
    ap.add_argument("--out", type=Path, required=True, help="directory for the reports")
    ap.add_argument("--env", default=firmware.DEFAULT_ENV)
    args = ap.parse_args(argv)
    recs = D.parse_records(args.records)
    args.out.mkdir(parents=True, exist_ok=True)
    elf = firmware.build(args.env)
    reports = []
    with qemu.boot(args.env, elf) as dev:
        dev.sync()
        for rec in recs:
            rep = S.run(str(rec), dev, progress=True, ann_base=args.out / str(rec))
            (args.out / f"{rec}.json").write_text(json.dumps(rep, indent=1) + "\n")
            reports.append(rep)
            print(f"{rec}: lost {rep['lost_events']}, mismatches {rep['host_device_mismatches']}, "
                  f"QRS {rep['qrs']}, HR MAE {rep['rhythm']['hr']['mean_abs_error_bpm']}, "
                  f"AF {rep['rhythm']['af']['duration_se']}/{rep['rhythm']['af']['duration_ppv']}", flush=True)
    print(S.format_table(reports))
    print()
    print(S.format_rhythm_table(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
