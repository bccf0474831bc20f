"""Differential fuzzing of the converter (tinyecg.fuzz.converter, docs/hardening.md).

Every defect the fuzzer found is rebuilt here in the shipped model, by editing
one flatbuffer field, and must be refused with one line naming it; then a
bounded, seeded random run: every mutant refused with one line or converted to
C that equals tflite_micro bit for bit.  The long run is
tools/fuzz_convert.py --mutants 100000."""

from __future__ import annotations

import math
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

from tinyecg import convert, tflite_import
from tinyecg.errors import TinyEcgError
from tinyecg.firmware import ROOT
from tinyecg.fuzz import converter as C

SHIPPED = ROOT / "models" / "arrhythmia" / "model_int8.tflite"
# shipped model: op 0 FULLY_CONNECTED (t1, weights t18, bias t17) -> t19; op 2 CONV_2D (t20, t16, t15) -> t21;
# op 4 CONV_2D; op 15 SOFTMAX t33 -> t34; input t0 (wave), t1 (rr)
MUTANTS = 150


def edited(edit) -> bytes:
    m = S.ModelT.InitFromPackedBuf(bytearray(SHIPPED.read_bytes()), 0)
    edit(m, m.subgraphs[0])
    b = flatbuffers.Builder(1 << 16)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _set(obj, **kw):
    for k, v in kw.items():
        setattr(obj, k, v)


def _swap_ops(sg, i, j):
    sg.operators[i], sg.operators[j] = sg.operators[j], sg.operators[i]


# (what the fuzzer found, the edit, words the one-line refusal must contain)
FOUND = [
    ("negative scale: OverflowError packing the channel table",
     lambda m, sg: _set(sg.tensors[16].quantization, scale=[-float(s) for s in sg.tensors[16].quantization.scale]),
     "scale -"),
    ("fewer zero points than scales: IndexError",
     lambda m, sg: _set(sg.tensors[16].quantization, zeroPoint=[]), "zero points"),
    ("zero point -129: generated C did not compile",
     lambda m, sg: _set(sg.tensors[21].quantization, zeroPoint=[-129]), "zero point -129"),
    ("operators out of order: output differed from tflite_micro",
     lambda m, sg: _swap_ops(sg, 2, 4), "before any operator writes it"),
    ("softmax beta inf: UB (1 << 31) in the kernel",
     lambda m, sg: _set(sg.operators[15].builtinOptions, beta=math.inf), "too large"),
    ("scale x 1e30: multiplier shift 62, UB in the kernel",
     lambda m, sg: _set(sg.tensors[21].quantization, scale=[1e-30]), "(operator #2): requantization multiplier"),
    ("dilation 2^31-1: int overflow in the kernel",
     lambda m, sg: _set(sg.operators[4].builtinOptions, dilationWFactor=(1 << 31) - 1), "dilation"),
    ("bias 2^31-1: int32 accumulator overflow (UB) in the kernel",
     lambda m, sg: _set(m.buffers[sg.tensors[15].buffer], data=list(np.full(8, 2**31 - 1, "<i4").tobytes())),
     "beyond int32"),
    ("isVariable set on the output: tflite_micro keeps it as state, outputs differed",
     lambda m, sg: _set(sg.tensors[34], isVariable=True), "variable"),
    ("FC output [1, units, 1]: tflite_micro computed units batches of one unit, outputs differed",
     lambda m, sg: _set(sg.tensors[19], shape=[int(d) for d in sg.tensors[19].shape] + [1]),
     "does not end in the weights'"),
    ("RESHAPE's code changed to PAD: paddings of shape [3] made a ValueError traceback",
     lambda m, sg: _as_pad(m, sg.operators[10]), "paddings of shape [3] do not fit rank 4"),
    ("control characters in a tensor name: a multi-line error",
     lambda m, sg: _set(sg.tensors[21], name=b"conv\n\tout", quantization=_zp(sg.tensors[21], 1000)), "\\x0a"),
]


def _as_pad(m, op):
    """op alone becomes a PAD (a new operator code): op 10's second input is RESHAPE's shape [3]."""
    code = S.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = S.BuiltinOperator.PAD
    code.version = 1
    m.operatorCodes.append(code)
    op.opcodeIndex = len(m.operatorCodes) - 1
    op.builtinOptionsType, op.builtinOptions = S.BuiltinOptions.NONE, None


def _zp(t, zp):
    t.quantization.zeroPoint = [zp]
    return t.quantization


@pytest.mark.parametrize("what,edit,words", FOUND, ids=[f[0].split(":")[0] for f in FOUND])
def test_defects_the_fuzzer_found_are_refused_in_one_line(what, edit, words, tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(edited(edit))
    with pytest.raises(TinyEcgError) as e:
        convert.convert(model, "mps2_an386", tmp_path / "out", measure_tflm=False)
    msg = str(e.value)
    assert "\n" not in msg and words in msg, msg
    assert not (tmp_path / "out").exists()


def test_comment_markers_in_a_name_still_compile(tmp_path):
    """Found: a tensor named '*/ int x; /*' made generated C that gcc -Werror refused
    (a nested comment); now it converts and equals tflite_micro."""
    mutant = C.Mutant("shipped", "tensor 21 name", edited(lambda m, sg: _set(sg.tensors[21], name=b"*/ int x; /*")))
    fz = C.ConverterFuzzer(tmp_path, {"shipped": SHIPPED.read_bytes()})
    try:
        s = C.Summary()
        assert fz.check(mutant, s) == "equal", s.findings
    finally:
        fz.close()


def test_unedited_model_still_converts():
    tflite_import.parse(edited(lambda m, sg: None), "same.tflite")


def test_bounded_differential_run(tmp_path):
    seeds = C.seed_models(C.engine_test_models(tmp_path / "seeds", with_tf=False))
    fz = C.ConverterFuzzer(tmp_path / "work", seeds, seed=2026)
    try:
        s = fz.run(MUTANTS)
    finally:
        fz.close()
    assert s.bugs == 0, "\n".join(f"{k}: {how} -> {path}: {detail}" for k, path, how, detail in s.findings)
    assert s.mutants == MUTANTS and s.counts["refused"] > 0 and s.counts["equal"] > 0
