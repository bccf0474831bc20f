#!/usr/bin/env python3
"""`make demo`: the main job end to end on the emulated Cortex-M4F board.

1. convert the shipped int8 model (models/arrhythmia/model_int8.tflite) to C
   in firmware/model and write its pipeline config (DS1-calibrated threshold);
2. build the default env (pio run -e mps2_an386);
3. boot it in QEMU mps2-an386 (-icount shift=0: the counter counts instructions);
4. stream a whole DS2 record through the device's beat pipeline and print the
   EC57-scored summary, host/device agreement and the power estimate.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tinyecg import calibrate, convert, firmware, qemu, report  # noqa: E402
from tinyecg import data as D  # noqa: E402
from tinyecg import stream as S  # noqa: E402
from tinyecg.cli import run_main  # noqa: E402
from tinyecg.protocol import Msg  # noqa: E402

ROOT = firmware.ROOT
SHIPPED = ROOT / "models" / "arrhythmia" / "model_int8.tflite"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default=firmware.DEFAULT_ENV, help="QEMU env to run (default %(default)s)")
    ap.add_argument("--record", default="200", help="DS2 record to stream (default %(default)s)")
    ap.add_argument("--out", default=str(ROOT / "build" / "demo"), help="report directory (default build/demo)")
    ap.add_argument("--data-dir", default=None, help="MIT-BIH directory (default: TINYECG_DATA or ../shared/data/mitdb)")
    args = ap.parse_args()
    firmware.qemu_machine(args.env)

    model_dir = None
    if SHIPPED.is_file():
        model = SHIPPED
        print(f"[1/4] converting {model.relative_to(ROOT)} for {args.env} into firmware/model")
        names = list(D.CLASSES) if calibrate.Int8Model(model.read_bytes()).n_classes == len(D.CLASSES) else None
        prog, fit, _ = convert.convert(model, args.env, ROOT / "firmware" / "model", names, measure_tflm=False)
        cfg = calibrate.pipeline_config(model.read_bytes(), data_dir=args.data_dir, progress=True)
        calibrate.write_header(cfg, ROOT / "firmware" / "model")
        print(f"      {prog.macs} MACs, {prog.weight_bytes} B weights, {prog.arena_bytes} B arena; "
              f"uncertain below confidence {cfg.uncertain_below}/256 (calibrated on DS1)")
        base = None
    else:
        # Before the trained model exists: an untrained stand-in of the same shape,
        # so the pipeline still runs end to end (its class figures mean nothing).
        print(f"[1/4] {SHIPPED.relative_to(ROOT)} not found (train it: python tools/train.py); "
              "using an UNTRAINED stand-in of the same shape -- class figures are meaningless")
        import importlib.util
        spec = importlib.util.spec_from_file_location("devmodel", ROOT / "tests" / "pipeline" / "devmodel.py")
        devmodel = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(devmodel)
        tmp = Path(tempfile.mkdtemp(prefix="tinyecg-demo-"))
        model = devmodel.make_dev_model(tmp / "standin.tflite")
        convert.convert(model, args.env, tmp / "model", measure_tflm=False)
        calibrate.write_header(calibrate.pipeline_config(model.read_bytes(), threshold=128), tmp / "model")
        model_dir, base = tmp / "model", tmp / "build"

    print(f"[2/4] building firmware for {args.env} (pio run -e {args.env})")
    t0 = time.monotonic()
    elf = firmware.build(args.env, model_dir, base)
    size = firmware.image_size(elf)
    print(f"      flash {size['flash_bytes']} B, RAM {size['ram_bytes']} B "
          f"(+{size['stack_reserve_bytes']} B stack) in {time.monotonic() - t0:.1f} s")

    print(f"[3/4] booting it in QEMU {firmware.qemu_machine(args.env)} (-icount shift=0)")
    with qemu.boot(args.env, elf) as dev:
        boot = dev.wait_for(Msg.BOOT, timeout=10).kv()
        dev.sync()
        print(f"      {boot.get('board')} {boot.get('cpu')} @ {int(boot.get('clock_hz', 0)) / 1e6:g} MHz, "
              f"model {boot.get('model')}, counter: {boot.get('counter')}")
        out = Path(args.out)
        print(f"[4/4] streaming record {args.record} (30 min of raw ECG) through the device's beat pipeline")
        rep = S.run(args.record, dev, model, data_dir=args.data_dir, progress=True, ann_base=out / args.record)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.record}.json").write_text(json.dumps(rep, indent=1) + "\n")
    print()
    for line in S.summary_lines(rep):
        print("  " + line)
    strip = report.ecg_strip(args.record, Path(rep["annotations"]), out / f"{args.record}_strip.png",
                             data_dir=args.data_dir)
    print(f"  report: {out / (args.record + '.json')}, annotations: {rep['annotations']}")
    print(f"  ECG strip (300-310 s, reference vs device labels): {strip.path}")
    return 0 if rep["lost_events"] == 0 and rep["host_device_mismatches"] == 0 else 1


if __name__ == "__main__":
    run_main(main)
