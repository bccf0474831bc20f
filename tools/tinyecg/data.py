"""MIT-BIH records: where they are, how to read them, how beats map to AAMI classes.

Everything the rest of the project needs from the database goes through here:

* :func:`resolve_data_dir` -- ``--data-dir``, else ``$TINYECG_DATA``, else
  ``../shared/data/mitdb`` beside the repository; a one-line error otherwise.
* :func:`load_record` -- one record as the raw ADC stream the device sees
  (int16, :data:`FS_IN` Hz, :data:`ADC_GAIN` adu/mV, MLII lead) plus its beat
  annotations.  Records at another rate or gain are resampled/rescaled here,
  so every later stage sees the same units.
* :data:`AAMI` -- annotation symbol -> AAMI class (EC57 / de Chazal 2004).
* :data:`DS1` / :data:`DS2` -- the inter-patient split; paced records excluded.
* :func:`download` -- fetch the database from PhysioNet and check SHA256SUMS.

No record data is ever written inside the repository; caches live in
:func:`default_cache_dir` (``~/.cache/tinyecg`` or ``$TINYECG_CACHE``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import TinyEcgError

#: Sampling rate of the raw ADC stream the signal chain consumes (Hz).
FS_IN = 360
#: ADC gain of that stream, adu per mV (MIT-BIH: 200, 11-bit, zero at 1024).
ADC_GAIN = 200

#: AAMI EC57 classes in model-output order.  Q is mapped but not trained or
#: scored (13 beats in DS2 once paced records are excluded; de Chazal 2004 does the same).
CLASSES = ("N", "S", "V", "F")

#: Annotation symbol -> AAMI class.
AAMI: dict[str, str] = {
    **{s: "N" for s in "NLRej"},
    **{s: "S" for s in "AaJS"},
    **{s: "V" for s in "VE"},
    "F": "F",
    **{s: "Q" for s in "/fQ"},
}

#: Every WFDB symbol that marks a beat (used for RR intervals, whatever its class).
#: 'B', 'r', 'n', '?' do not occur in MIT-BIH but are beats in other databases.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")

DS1 = (101, 106, 108, 109, 112, 114, 115, 116, 118, 119, 122, 124,
       201, 203, 205, 207, 208, 209, 215, 220, 223, 230)
DS2 = (100, 103, 105, 111, 113, 117, 121, 123, 200, 202, 210, 212,
       213, 214, 219, 221, 222, 228, 231, 232, 233, 234)
PACED = (102, 104, 107, 217)
ALL_RECORDS = tuple(sorted(DS1 + DS2 + PACED))

#: Records with all three bands of beats used to validate during training
#: (patient-wise: these whole records are held out of the DS1 training set).
DS1_VALIDATION = (118, 124, 223)

PHYSIONET_URL = "https://physionet.org/files/mitdb/1.0.0/"

_FETCH_HINT = ("run `make data` (or `python tools/fetch_data.py --dir DIR`) to fetch it "
               "from PhysioNet, or point --data-dir / TINYECG_DATA at a directory "
               "holding the MIT-BIH .hea/.dat/.atr files")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_cache_dir() -> Path:
    env = os.environ.get("TINYECG_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "tinyecg"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """Find the MIT-BIH directory: argument, $TINYECG_DATA, ../shared/data/mitdb."""
    if data_dir is not None:
        cand, how = Path(data_dir), "--data-dir"
    elif os.environ.get("TINYECG_DATA"):
        cand, how = Path(os.environ["TINYECG_DATA"]), "TINYECG_DATA"
    else:
        cand, how = repo_root().parent / "shared" / "data" / "mitdb", "default"
    if not cand.is_dir() or not any(cand.glob("*.hea")):
        raise TinyEcgError(f"MIT-BIH data not found at {cand} ({how}); {_FETCH_HINT}")
    return cand


def parse_records(spec: str | list | tuple | None) -> tuple[int, ...]:
    """'DS1', 'DS2', 'all', '100,101' or a list -> tuple of record numbers."""
    if spec is None:
        return DS2
    if isinstance(spec, (list, tuple)):
        items = [str(s) for s in spec]
    else:
        items = [s.strip() for s in str(spec).split(",") if s.strip()]
    out: list[int] = []
    for it in items:
        up = it.upper()
        if up == "DS1":
            out += DS1
        elif up == "DS2":
            out += DS2
        elif up == "ALL":
            out += DS1 + DS2
        else:
            try:
                n = int(it)
            except ValueError:
                raise TinyEcgError(f"bad record '{it}': expected DS1, DS2, all or record numbers like 100,101") from None
            if n not in ALL_RECORDS:
                raise TinyEcgError(f"record {n} is not an MIT-BIH Arrhythmia record")
            if n in PACED:
                raise TinyEcgError(f"record {n} is paced and excluded (AAMI EC57 / de Chazal 2004)")
            out.append(n)
    if not out:
        raise TinyEcgError("no records selected")
    return tuple(dict.fromkeys(out))


@dataclass
class Record:
    name: str
    signal: np.ndarray      # int16 raw ADC at FS_IN, ADC_GAIN adu/mV (offset kept)
    r_samples: np.ndarray   # int64 sample index (at FS_IN) of every beat annotation
    symbols: np.ndarray     # annotation symbol per beat (str)
    lead: str

    @property
    def aami(self) -> np.ndarray:
        return np.array([AAMI.get(s, "Q") for s in self.symbols])


def _resample(x: np.ndarray, fs: float, fs_out: int) -> np.ndarray:
    from fractions import Fraction
    from scipy.signal import resample_poly
    fr = Fraction(fs_out / fs).limit_denominator(1000)
    return resample_poly(x.astype(np.float64), fr.numerator, fr.denominator)


def load_record(rec: int | str, data_dir: str | os.PathLike | None = None,
                lead: str = "MLII") -> Record:
    """Read one record as int16 raw ADC at FS_IN/ADC_GAIN plus its beat annotations.

    MIT-BIH at 360 Hz/200 adu/mV is returned sample for sample (the exact ADC
    values).  Any other rate or gain is resampled with a polyphase filter and
    rescaled to 200 adu/mV, offset 1024, annotations moved to the new rate.
    """
    import wfdb

    ddir = resolve_data_dir(data_dir)
    name = str(rec)
    base = ddir / name
    for ext in ("hea", "dat", "atr"):
        if not (ddir / f"{name}.{ext}").is_file():
            raise TinyEcgError(f"record {name}: missing {name}.{ext} in {ddir}; {_FETCH_HINT}")
    try:
        r = wfdb.rdrecord(str(base), physical=False)
        ann = wfdb.rdann(str(base), "atr")
    except Exception as exc:  # wfdb raises many types for damaged files
        raise TinyEcgError(f"record {name} in {ddir} is unreadable or corrupt ({type(exc).__name__}: {exc})") from None
    names = list(r.sig_name or [])
    ch = names.index(lead) if lead in names else 0
    d = r.d_signal
    if d is None or d.ndim != 2 or d.shape[0] == 0:
        raise TinyEcgError(f"record {name} in {ddir} has no samples (corrupt?)")
    x = d[:, ch].astype(np.int64)
    fs = float(r.fs)
    gain = float(r.adc_gain[ch]) or ADC_GAIN
    zero = int(r.adc_zero[ch])
    samples = np.asarray(ann.sample, dtype=np.int64)
    syms = np.asarray(ann.symbol)
    if samples.size and (samples.max() >= x.size + int(fs) or samples.min() < 0):
        raise TinyEcgError(f"record {name}: annotations point outside the signal (corrupt .atr?)")
    if round(fs) != FS_IN or gain != ADC_GAIN:
        mv = (x - zero) / gain
        if round(fs) != FS_IN:
            mv = _resample(mv, fs, FS_IN)
            samples = np.round(samples * (FS_IN / fs)).astype(np.int64)
        x = np.round(mv * ADC_GAIN).astype(np.int64) + 1024
    keep = np.array([s in BEAT_SYMBOLS for s in syms], dtype=bool)
    samples, syms = samples[keep], syms[keep]
    inside = (samples >= 0) & (samples < x.size)
    return Record(name=name, signal=np.clip(x, -32768, 32767).astype(np.int16),
                  r_samples=samples[inside], symbols=syms[inside],
                  lead=names[ch] if names else "?")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify(data_dir: str | os.PathLike, sums_file: str = "SHA256SUMS.txt") -> int:
    """Check every file listed in SHA256SUMS; returns the number checked."""
    ddir = Path(data_dir)
    sums = ddir / sums_file
    if not sums.is_file():
        raise TinyEcgError(f"{sums} not found: cannot verify the MIT-BIH files")
    n = 0
    for line in sums.read_text().splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        digest, fname = parts[0], parts[1].lstrip("*")
        f = ddir / fname
        if not f.is_file():
            if fname.split(".")[-1] in ("hea", "dat", "atr"):
                raise TinyEcgError(f"{fname} listed in {sums_file} is missing from {ddir}")
            continue
        if _sha256(f) != digest:
            raise TinyEcgError(f"{f} does not match its SHA256 in {sums_file} (corrupt download?)")
        n += 1
    return n


def download(data_dir: str | os.PathLike) -> Path:
    """Fetch MIT-BIH from PhysioNet into data_dir and check it against SHA256SUMS."""
    import urllib.request

    ddir = Path(data_dir)
    hint = (f"could not reach PhysioNet ({PHYSIONET_URL}); download the 48 records "
            f"(.hea .dat .atr + SHA256SUMS.txt) by other means into {ddir} "
            f"or point TINYECG_DATA at a copy")
    ddir.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(PHYSIONET_URL + "SHA256SUMS.txt", timeout=20) as resp:
            (ddir / "SHA256SUMS.txt").write_bytes(resp.read())
    except OSError as exc:
        raise TinyEcgError(f"{hint} ({exc})") from None
    try:
        import wfdb
        wfdb.dl_database("mitdb", str(ddir))
    except Exception as exc:
        raise TinyEcgError(f"{hint} ({type(exc).__name__}: {exc})") from None
    verify(ddir)
    return ddir
