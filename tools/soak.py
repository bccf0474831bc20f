#!/usr/bin/env python3
"""Soak: every non-paced MIT-BIH record streamed back to back through ONE boot
of the firmware, no reset in between (docs/hardening.md).

    python tools/soak.py --json out/soak.json                 # the 44 records on QEMU mps2_an386
    python tools/soak.py --records 100,101 --env netduinoplus2

Each record is one stream (STREAM_START ... STREAM_STOP, tinyecg.stream):
right after START the device's statistics must be back at zero (samples,
events, gaps, duplicates, overruns); every BEAT event must arrive, numbered
0, 1, 2, ... afresh in each stream, and equal the host's chain + tflite_micro
beat for beat (class, scores, confidence, RR intervals and the int8 model
inputs); STOP must count exactly the samples sent and the events received,
with no receive overrun; and the device must never send BOOT or FAULT.
Prints a table per record and the totals; exit status 1 if anything failed.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg import data as D  # noqa: E402
from tinyecg import firmware, qemu  # noqa: E402
from tinyecg import stream as S  # noqa: E402
from tinyecg.cli import run_main  # noqa: E402
from tinyecg.device import Device  # noqa: E402
from tinyecg.errors import TinyEcgError  # noqa: E402
from tinyecg.protocol import Msg  # noqa: E402

NON_PACED = tuple(sorted(D.DS1 + D.DS2))


def fresh_counters(problems: list):
    """inject callback: right after STREAM_START the statistics are all zero."""
    def check(dev: Device):
        st = S.parse_stats(dev.request(S.STREAM_STATUS).body)
        nonzero = {k: st[k] for k in ("samples", "events", "gaps", "duplicates", "rx_overruns", "max_beat_units",
                                      "beat_units", "rhythm_units") if st[k]}
        if not st["active"] or nonzero:
            problems.append(f"after STREAM_START: active {st['active']}, not reset: {nonzero}")
    return check


def record_problems(rep: dict) -> list[str]:
    """What is wrong with one stream of the soak (a report of tinyecg.stream.run)."""
    d, problems = rep["device"], []
    if rep["lost_events"]:
        problems.append(f"{rep['lost_events']} events lost or out of order")
    if rep["host_device_mismatches"]:
        problems.append(f"{rep['host_device_mismatches']} events differ from the host")
    if d["rx_overruns"]:
        problems.append(f"{d['rx_overruns']} receive overruns")
    if d["stream_samples"] != rep["samples_sent"]:
        problems.append(f"STOP counts {d['stream_samples']} samples of {rep['samples_sent']} sent")
    # the device counts BEAT and RHYTHM events alike (one sequence)
    received = rep["events_received"] + rep["rhythm_events_received"]
    if d["stream_events"] != received:
        problems.append(f"STOP counts {d['stream_events']} events, {received} received "
                        f"({rep['events_received']} BEAT + {rep['rhythm_events_received']} RHYTHM)")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", default=",".join(map(str, NON_PACED)),
                    help="comma-separated MIT-BIH records (default: the 44 non-paced ones)")
    ap.add_argument("--env", default=firmware.DEFAULT_ENV, help="QEMU env (default %(default)s)")
    ap.add_argument("--port", default=None, help="serial port of a flashed board instead of QEMU")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--no-build", action="store_true", help="boot the env's existing image")
    ap.add_argument("--build-dir", default=None, help="PlatformIO build dir (default .pio/build)")
    ap.add_argument("--data-dir", default=None, help="MIT-BIH directory")
    ap.add_argument("--json", default=None, help="write every record's report and the totals here")
    args = ap.parse_args()
    records = [r.strip() for r in args.records.split(",") if r.strip()]
    ddir = D.resolve_data_dir(args.data_dir)
    for r in records:
        if not (ddir / f"{r}.hea").is_file():
            raise TinyEcgError(f"record {r}: no {r}.hea in {ddir}")
    board = None
    if args.port:
        dev = Device(args.port, baud=args.baud)
        dev.sync()
    else:
        base = Path(args.build_dir) if args.build_dir else None
        elf = firmware.elf_path(args.env, base) if args.no_build else firmware.build(args.env, base=base)
        board = qemu.boot(args.env, elf)
        dev = board.start()
        dev.wait_for(Msg.BOOT)  # the one boot of the soak
    reports, failures = [], []
    t0 = time.monotonic()
    print(f"{'record':>6} {'samples':>9} {'beats':>7} {'rhythm':>6} {'lost':>5} {'mism':>5} {'ovr':>4} {'gaps':>5} "
          f"{'dups':>5} {'resent':>7} {'QRS Se':>7} {'QRS +P':>7} {'wall s':>7}", flush=True)
    try:
        for rec in records:
            problems: list[str] = []
            # a long stall guard: a loaded host may starve QEMU for seconds (a STATUS probe is harmless,
            # but two silent periods in a row end the stream)
            rep = S.run(rec, dev, check_inputs=True, data_dir=args.data_dir, inject=(0, fresh_counters(problems)),
                        stall_timeout=30.0)
            d = rep["device"]
            problems += record_problems(rep)
            rep["soak_problems"] = problems
            reports.append(rep)
            failures += [f"{rec}: {p}" for p in problems]
            q = rep["qrs"]
            print(f"{rec:>6} {rep['samples_sent']:>9} {rep['events_received']:>7} {rep['rhythm_events_received']:>6} "
                  f"{rep['lost_events']:>5} "
                  f"{rep['host_device_mismatches']:>5} {d['rx_overruns']:>4} {d['gaps']:>5} {d['duplicates']:>5} "
                  f"{d['resent_samples']:>7} {q['se'] or 0:>7.2f} {q['ppv'] or 0:>7.2f} {rep['seconds']:>7.1f}"
                  + (f"  FAIL: {'; '.join(problems)}" if problems else ""), flush=True)
        # no reset: a BOOT or FAULT frame stops a stream (tinyecg.stream raises); between streams it
        # would sit among the unsolicited frames
        if any(f.type in (Msg.BOOT, Msg.FAULT) for f in dev.unsolicited):
            failures.append("the device reset between streams")
    finally:
        if board is not None:
            board.close()
        else:
            dev.close()
    wall = time.monotonic() - t0
    g = S.gross(reports)
    tot = {k: sum(r[k] for r in reports) for k in ("samples_sent", "events_received", "rhythm_events_received",
                                                   "lost_events", "host_device_mismatches")}
    tot.update({k: sum(r["device"][k] for r in reports) for k in ("rx_overruns", "gaps", "duplicates",
                                                                  "resent_samples")})
    hours = tot["samples_sent"] / D.FS_IN / 3600
    print(f"total: {len(reports)} records, {tot['samples_sent']} samples ({hours:.1f} h of ECG) in one boot, "
          f"{tot['events_received']} BEAT + {tot['rhythm_events_received']} RHYTHM events, {tot['lost_events']} lost, {tot['host_device_mismatches']} mismatches, "
          f"{tot['rx_overruns']} RX overruns; gross QRS Se {g['qrs']['se']} +P {g['qrs']['ppv']} (from 5 min); "
          f"{wall:.0f} s wall")
    for f in failures:
        print(f"FAIL {f}", file=sys.stderr)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"env": args.env, "records": records, "totals": tot,
                                               "hours_of_ecg": round(hours, 2), "gross": g, "wall_seconds": round(wall),
                                               "failures": failures, "reports": reports}, indent=2) + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    run_main(main)
