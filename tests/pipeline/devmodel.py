"""A stand-in beat classifier for pipeline tests: the project's architecture
(tinyecg.model.build_model) with random weights, converted to int8 with a
representative set from one DS1 record.  Never shipped: it only gives the
firmware a model of the pipeline's input shapes (128x1 waveform + 8 RR
features, 4 class scores) so the stream path can be exercised before, or
independently of, the trained model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_dev_model(out: Path, seed: int = 7, rep_record: int = 101) -> Path:
    """Write a random-weight int8 .tflite of the pipeline's shape to `out`."""
    import keras

    from tinyecg import preprocess as P
    from tinyecg.calibrate import reference_beats
    from tinyecg.model import build_model
    from tinyecg.quantize import quantize_keras

    keras.utils.set_random_seed(seed)
    model = build_model()
    b, _ = reference_beats(rep_record)
    xw, xf = P.to_float(b["windows"][:500], b["feats"][:500])
    blob = quantize_keras(model, (xw, xf), n_samples=300, seed=seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(blob)
    return out


if __name__ == "__main__":
    import sys
    print(make_dev_model(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tinyecg-dev/dev_model.tflite")))
