"""tinyecg.data: AAMI mapping, the inter-patient split, finding and reading records."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyecg import data
from tinyecg.errors import TinyEcgError


def _mitdb_or_skip():
    try:
        return data.resolve_data_dir()
    except TinyEcgError as exc:
        pytest.skip(str(exc))


def test_aami_mapping_is_ec57():
    expected = {"N": "N", "L": "N", "R": "N", "e": "N", "j": "N",
                "A": "S", "a": "S", "J": "S", "S": "S",
                "V": "V", "E": "V", "F": "F",
                "/": "Q", "f": "Q", "Q": "Q"}
    assert data.AAMI == expected
    assert data.CLASSES == ("N", "S", "V", "F")
    # non-beat annotations are not beats
    for s in "+~|x!\"[]":
        assert s not in data.BEAT_SYMBOLS


def test_split_is_de_chazal():
    assert len(data.DS1) == 22 and len(data.DS2) == 22
    assert not set(data.DS1) & set(data.DS2)
    assert not set(data.PACED) & (set(data.DS1) | set(data.DS2))
    assert set(data.DS1) | set(data.DS2) | set(data.PACED) == set(data.ALL_RECORDS)
    assert len(data.ALL_RECORDS) == 48
    assert set(data.DS1_VALIDATION) <= set(data.DS1)


def test_parse_records():
    assert data.parse_records("DS2") == data.DS2
    assert data.parse_records("100, 101") == (100, 101)
    with pytest.raises(TinyEcgError, match="paced"):
        data.parse_records("102")
    with pytest.raises(TinyEcgError, match="not an MIT-BIH"):
        data.parse_records("999")
    with pytest.raises(TinyEcgError, match="bad record"):
        data.parse_records("DS3")


def test_data_dir_resolution(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        d.mkdir()
        (d / "100.hea").write_text("100 1 360 10\n")
    monkeypatch.setenv("TINYECG_DATA", str(b))
    assert data.resolve_data_dir(a) == a          # --data-dir wins
    assert data.resolve_data_dir() == b           # then the env var
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TinyEcgError) as ei:
        data.resolve_data_dir(empty)
    msg = str(ei.value)
    assert "\n" not in msg and "make data" in msg and str(empty) in msg


def test_missing_and_corrupt_record(tmp_path):
    src = _mitdb_or_skip()
    d = tmp_path / "db"
    d.mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.copy(src / f"100.{ext}", d / f"100.{ext}")
    shutil.copy(src / "101.hea", d / "101.hea")
    with pytest.raises(TinyEcgError, match=r"record 101: missing 101\.dat"):
        data.load_record(101, d)
    (d / "100.hea").write_text("this is not a header\n")
    with pytest.raises(TinyEcgError, match="record 100 .*corrupt"):
        data.load_record(100, d)


def test_published_beat_counts():
    """AAMI class counts must equal de Chazal 2004 (Table I) for both halves."""
    _mitdb_or_skip()
    want = {"DS1": {"N": 45866, "S": 944, "V": 3788, "F": 415, "Q": 8},
            "DS2": {"N": 44259, "S": 1837, "V": 3221, "F": 388, "Q": 7}}
    for name, recs in (("DS1", data.DS1), ("DS2", data.DS2)):
        counts = {c: 0 for c in "NSVFQ"}
        for r in recs:
            for c in data.load_record(r).aami:
                counts[str(c)] += 1
        assert counts == want[name]


def test_lead_is_mlii_even_when_swapped():
    _mitdb_or_skip()
    rec = data.load_record(114)        # 114 stores V5 first, MLII second
    assert rec.lead == "MLII"
    assert rec.signal.dtype == np.int16 and rec.signal.size == 650000


def test_resampling_other_rate(tmp_path):
    """A 250 Hz record at 1000 adu/mV comes back at 360 Hz, 200 adu/mV."""
    import wfdb
    fs, n = 250, 2500
    t = np.arange(n) / fs
    mv = np.sin(2 * np.pi * 5 * t)                      # 1 mV, 5 Hz
    wfdb.wrsamp("rs1", fs=fs, units=["mV"], sig_name=["MLII"], p_signal=mv[:, None],
                fmt=["16"], adc_gain=[1000.0], baseline=[0], write_dir=str(tmp_path))
    wfdb.wrann("rs1", "atr", np.array([250, 500]), symbol=["N", "V"], write_dir=str(tmp_path))
    rec = data.load_record("rs1", tmp_path)
    assert rec.signal.size == 3600
    assert list(rec.r_samples) == [360, 720]
    mid = rec.signal[400:3200].astype(float) - 1024
    assert abs(mid.max() - 200) <= 2 and abs(mid.min() + 200) <= 2
    # 5 Hz at 360 Hz: a period of 72 samples
    zc = np.flatnonzero((mid[:-1] < 0) & (mid[1:] >= 0))
    assert np.allclose(np.diff(zc), 72, atol=1)


def test_download_offline_is_one_line(tmp_path, monkeypatch):
    import urllib.request

    def boom(*a, **k):
        raise OSError("network unreachable")
    monkeypatch.setattr(urllib.request, "urlopen", boom)
    with pytest.raises(TinyEcgError) as ei:
        data.download(tmp_path / "mitdb")
    msg = str(ei.value)
    assert "\n" not in msg and str(tmp_path / "mitdb") in msg and "physionet" in msg.lower()


def test_verify_detects_corruption(tmp_path):
    src = _mitdb_or_skip()
    d = tmp_path / "db"
    d.mkdir()
    lines = [l for l in (src / "SHA256SUMS.txt").read_text().splitlines() if l.split()[-1].startswith("100.")]
    (d / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    for ext in ("hea", "dat", "atr"):
        shutil.copy(src / f"100.{ext}", d / f"100.{ext}")
    assert data.verify(d) == 3
    with open(d / "100.dat", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01")
    with pytest.raises(TinyEcgError, match="100.dat does not match"):
        data.verify(d)
