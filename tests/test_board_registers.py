"""Every register address and bit field the board drivers use, checked
against the vendor SVD files that the pyocd wheel bundles (no network).

The drivers take their register facts only from ``firmware/boards/*/regs_*.h``,
written in a regular form that this test parses:

    #define P_BASE          0x...   peripheral base address
    #define P_IRQn          n       interrupt number
    #define P_R_OFFSET      0x...   register offset
    #define P_R_F_Pos       n       field bit position (1-bit field, unless ...)
    #define P_R_F_Width     n       ... the width is given too
    #define P_R_F_Value     n       enumerated value of field F

with directives in the header comment:

    @svd FILE                        the SVD (in pyocd's svd_data.zip)
    @svd-layout ALIAS [FILE:]PERIPH  ALIAS_... names use PERIPH's registers
                                     (a driver shared by all instances)
    @svd-name FROM TO                look the name FROM... up as TO...

Every define must resolve to exactly one SVD item and match it; a name that
resolves to nothing is a failure, never a skip.
"""

from __future__ import annotations

import re
import zipfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOARDS = ROOT / "firmware" / "boards"
HEADERS = sorted(BOARDS.glob("*/regs_*.h"))


def svd_zip() -> Path:
    import pyocd

    path = Path(pyocd.__file__).parent / "debug" / "svd" / "svd_data.zip"
    assert path.exists(), f"pyocd's bundled SVDs not found at {path}"
    return path


# --- SVD model -------------------------------------------------------------


@dataclass
class Field:
    pos: int
    width: int
    enums: dict[str, int] = field(default_factory=dict)


@dataclass
class Register:
    offset: int
    fields: dict[str, Field]


@dataclass
class Peripheral:
    base: int
    registers: dict[str, Register]


def _int(text: str) -> int:
    text = text.strip().lower()
    if text.startswith("#"):
        return int(text[1:], 2)
    return int(text, 0)


def _field(node) -> tuple[str, Field]:
    if node.findtext("bitOffset") is not None:
        pos, width = _int(node.findtext("bitOffset")), _int(node.findtext("bitWidth") or "1")
    elif node.findtext("bitRange") is not None:
        msb, lsb = (int(x) for x in node.findtext("bitRange").strip("[] ").split(":"))
        pos, width = lsb, msb - lsb + 1
    else:
        pos = _int(node.findtext("lsb"))
        width = _int(node.findtext("msb")) - pos + 1
    enums = {}
    for ev in node.iter("enumeratedValue"):
        if ev.findtext("value") is not None:
            enums[ev.findtext("name")] = _int(ev.findtext("value"))
    return node.findtext("name"), Field(pos, width, enums)


def _expand(name: str, node) -> list[tuple[str, int]]:
    """(name, extra offset) for a plain or dim-array register/cluster."""
    if node.findtext("dim") is None:
        return [(name, 0)]
    dim, step = _int(node.findtext("dim")), _int(node.findtext("dimIncrement"))
    index = node.findtext("dimIndex")
    indices = index.split(",") if index and "," in index else [str(i) for i in range(dim)]
    return [(name.replace("[%s]", ix).replace("%s", ix), i * step) for i, ix in enumerate(indices)]


def _registers(node, base_offset: int = 0, prefix: str = "") -> dict[str, Register]:
    regs: dict[str, Register] = {}
    for child in node:
        if child.tag not in ("register", "cluster"):
            continue
        offset = base_offset + _int(child.findtext("addressOffset"))
        for name, extra in _expand(child.findtext("name"), child):
            if child.tag == "cluster":
                regs.update(_registers(child, offset + extra, prefix + name + "_"))
            else:
                fields = dict(_field(f) for f in child.iter("field"))
                regs[prefix + name] = Register(offset + extra, fields)
    return regs


@dataclass
class Svd:
    name: str
    peripherals: dict[str, Peripheral]
    interrupts: dict[str, int]


@lru_cache(maxsize=None)
def load_svd(name: str) -> Svd:
    with zipfile.ZipFile(svd_zip()) as z:
        if name not in z.namelist():
            raise AssertionError(f"{name} is not among pyocd's bundled SVDs")
        root = ET.fromstring(z.read(name))
    nodes = {p.findtext("name"): p for p in root.find("peripherals")}
    peripherals, interrupts = {}, {}
    for pname, node in nodes.items():
        src = node
        if node.find("registers") is None and node.get("derivedFrom"):
            src = nodes[node.get("derivedFrom")]
        regs = _registers(src.find("registers")) if src.find("registers") is not None else {}
        peripherals[pname] = Peripheral(_int(node.findtext("baseAddress")), regs)
        for irq in node.findall("interrupt"):
            interrupts[irq.findtext("name")] = _int(irq.findtext("value"))
    return Svd(name, peripherals, interrupts)


# --- header model -------------------------------------------------------------

DEFINE = re.compile(r"^\s*#\s*define\s+(\w+)(?:\s+(.*?))?\s*(?:/\*.*)?$")
NUMBER = re.compile(r"^\(?\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*\)?$")


@dataclass
class Header:
    path: Path
    svd: str
    layouts: dict[str, tuple[str, str]]   # alias -> (svd file, peripheral)
    renames: list[tuple[str, str]]
    defines: dict[str, int]


def parse_header(path: Path) -> Header:
    text = path.read_text()
    # directives stand alone on a comment line: " * @svd FILE"
    svd = re.findall(r"^[ /*]*@svd\s+(\S+\.svd)\s*(?:\*/)?$", text, re.M)
    assert len(svd) == 1, f"{path.name}: needs exactly one '@svd FILE' directive"
    layouts = {}
    for alias, target in re.findall(r"^[ /*]*@svd-layout\s+(\w+)\s+(\S+?)\s*(?:\*/)?$", text, re.M):
        file, _, periph = target.rpartition(":")
        layouts[alias] = (file or svd[0], periph)
    renames = re.findall(r"^[ /*]*@svd-name\s+(\w+)\s+(\w+)\s*(?:\*/)?$", text, re.M)
    defines = {}
    for line in text.splitlines():
        m = DEFINE.match(line)
        if not m:
            continue
        name, value = m.group(1), (m.group(2) or "").strip()
        if not value:
            assert name.endswith("_H"), f"{path.name}: {name} has no value (only the include guard may)"
            continue
        num = NUMBER.match(value)
        assert num, f"{path.name}: {name} = {value!r} is not a plain number; register headers hold SVD facts only"
        assert name not in defines, f"{path.name}: {name} defined twice"
        defines[name] = int(num.group(1), 0)
    return Header(path, svd[0], layouts, renames, defines)


# --- resolution ---------------------------------------------------------------------


def _fields_named(reg: Register, name: str) -> list[Field]:
    """A field by name; or, as ST's F4 SVDs describe PLLM as PLLM0..PLLM5,
    the contiguous 1-bit fields NAME0..NAMEn-1 taken together."""
    if name in reg.fields:
        return [reg.fields[name]]
    parts = {int(m.group(1)): f for n, f in reg.fields.items()
             if (m := re.fullmatch(re.escape(name) + r"(\d+)", n)) and f.width == 1}
    if parts and sorted(parts) == list(range(len(parts))):
        lsb = parts[0].pos
        if all(parts[i].pos == lsb + i for i in parts):
            return [Field(lsb, len(parts))]
    return []


class Checker:
    def __init__(self, header: Header):
        self.h = header
        self.svd = load_svd(header.svd)
        self.errors: list[str] = []
        self.checked = {"base": 0, "irq": 0, "offset": 0, "field": 0, "value": 0}

    def _peripherals(self):
        """(prefix, Peripheral) for SVD peripherals and layout aliases."""
        for alias, (file, periph) in self.h.layouts.items():
            svd = load_svd(file)
            assert periph in svd.peripherals, f"{self.h.path.name}: layout {alias} -> {file}:{periph} unknown"
            yield alias, svd.peripherals[periph]
        for name, p in self.svd.peripherals.items():
            if name not in self.h.layouts:
                yield name, p

    def _resolve(self, rest: str, want: str):
        """All (register, field, enum) readings of rest = P_R[_F[_V]]."""
        hits = []
        for pname, periph in self._peripherals():
            if not rest.startswith(pname + "_"):
                continue
            r1 = rest[len(pname) + 1:]
            for rname, reg in periph.registers.items():
                if want == "register":
                    if r1 == rname:
                        hits.append((f"{pname}.{rname}", reg, None, None))
                    continue
                if not r1.startswith(rname + "_"):
                    continue
                r2 = r1[len(rname) + 1:]
                if want == "field":
                    for f in _fields_named(reg, r2):
                        hits.append((f"{pname}.{rname}.{r2}", reg, f, None))
                else:
                    for fname, f in reg.fields.items():
                        if r2.startswith(fname + "_") and r2[len(fname) + 1:] in f.enums:
                            enum = r2[len(fname) + 1:]
                            hits.append((f"{pname}.{rname}.{fname}={enum}", reg, f, f.enums[enum]))
        return hits

    def _one(self, name, rest, want):
        hits = self._resolve(rest, want)
        if not hits:
            self.errors.append(f"{name}: no such {want} in {self.h.svd}"
                               + (f" (layouts {self.h.layouts})" if self.h.layouts else ""))
            return None
        if len(hits) > 1:
            self.errors.append(f"{name}: ambiguous, matches {[h[0] for h in hits]}")
            return None
        return hits[0]

    def _expect(self, name, kind, got, want, where):
        self.checked[kind] += 1
        if got != want:
            self.errors.append(f"{name} = {got:#x} but {where} is {want:#x} in the SVD")

    def run(self) -> list[str]:
        defines = self.h.defines
        for name, value in defines.items():
            key = name
            for src, dst in self.h.renames:
                if key == src or key.startswith(src + "_"):
                    key = dst + key[len(src):]
            if key.endswith("_BASE"):
                p = self.svd.peripherals.get(key[:-5])
                if p is None:
                    self.errors.append(f"{name}: no peripheral {key[:-5]} in {self.h.svd}")
                else:
                    self._expect(name, "base", value, p.base, f"{key[:-5]} base")
            elif key.endswith("_IRQn"):
                irq = self.svd.interrupts.get(key[:-5])
                if irq is None:
                    self.errors.append(f"{name}: no interrupt {key[:-5]} in {self.h.svd}")
                else:
                    self._expect(name, "irq", value, irq, f"interrupt {key[:-5]}")
            elif key.endswith("_OFFSET"):
                hit = self._one(name, key[:-7], "register")
                if hit:
                    self._expect(name, "offset", value, hit[1].offset, hit[0] + " offset")
            elif key.endswith("_Pos") or key.endswith("_Width"):
                stem = key.rsplit("_", 1)[0]
                hit = self._one(name, stem, "field")
                if not hit:
                    continue
                f = hit[2]
                if key.endswith("_Pos"):
                    self._expect(name, "field", value, f.pos, hit[0] + " position")
                    width_name = name[:-4] + "_Width"
                    if f.width != 1 and width_name not in defines:
                        self.errors.append(f"{name}: {hit[0]} is {f.width} bits wide; define {width_name}")
                else:
                    self._expect(name, "field", value, f.width, hit[0] + " width")
            else:
                hit = self._one(name, key, "enumerated value")
                if hit:
                    self._expect(name, "value", value, hit[3], hit[0])
        return self.errors


# --- tests -----------------------------------------------------------------------------


def test_every_board_family_has_register_headers():
    families = {p.parent.name for p in HEADERS}
    assert {"stm32", "nrf52"} <= families
    assert {p.name for p in HEADERS} >= {"regs_stm32l432.h", "regs_stm32f429.h", "regs_stm32f767.h",
                                         "regs_stm32f405.h", "regs_nrf52840.h"}


@pytest.mark.parametrize("path", HEADERS, ids=lambda p: p.name)
def test_header_matches_svd(path, record_property):
    checker = Checker(parse_header(path))
    errors = checker.run()
    record_property("checked", checker.checked)
    assert not errors, f"{path.name} vs {checker.h.svd}:\n  " + "\n  ".join(errors)
    assert sum(checker.checked.values()) == len(checker.h.defines)
    assert checker.checked["base"] and checker.checked["offset"] and checker.checked["field"]


def test_checker_catches_typos(tmp_path):
    """The check is not vacuous: a wrong offset, a wrong bit, a missing width,
    an unknown name and a wrong enumerated value all fail."""
    bad = tmp_path / "regs_bad.h"
    bad.write_text("""/* @svd STM32L4x2.svd
 * @svd-layout USART USART2 */
#define RCC_BASE 0x40021000u
#define RCC_CFGR_OFFSET 0x00Cu
#define RCC_CR_PLLON_Pos 25u
#define RCC_CFGR_SW_Pos 0u
#define RCC_CR_PLLONN_Pos 24u
#define USART_ISR_RXNE_Pos 5u
#define USART2_IRQn 37u
""")
    errors = Checker(parse_header(bad)).run()
    text = "\n".join(errors)
    assert "RCC_CFGR_OFFSET" in text          # offset 0x08, not 0x0C
    assert "RCC_CR_PLLON_Pos" in text         # bit 24, not 25
    assert "RCC_CFGR_SW_Pos" in text          # 2-bit field without _Width
    assert "RCC_CR_PLLONN_Pos" in text        # unknown name: an error, not a skip
    assert "USART2_IRQn" in text              # 38, not 37
    assert "USART_ISR_RXNE_Pos" not in text   # correct through the layout alias
    assert len(errors) == 5

    enum = tmp_path / "regs_enum.h"
    enum.write_text("/* @svd nrf52840.svd */\n#define UARTE0_BAUDRATE_BAUDRATE_Baud115200 0x01D7E000u\n")
    assert any("Baud115200" in e for e in Checker(parse_header(enum)).run())  # that is UART0's value


RAW_PERIPHERAL_ADDRESS = re.compile(r"\b0[xX][45][0-9a-fA-F]{7}\b")


@pytest.mark.parametrize("family", ["stm32", "nrf52"])
def test_drivers_take_addresses_from_the_checked_headers(family):
    """No peripheral address (0x4xxxxxxx/0x5xxxxxxx) outside regs_*.h: a raw
    number in a driver would bypass the SVD check."""
    offenders = []
    for path in sorted((BOARDS / family).iterdir()):
        if path.suffix in (".c", ".h") and not path.name.startswith("regs_"):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if RAW_PERIPHERAL_ADDRESS.search(line):
                    offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
