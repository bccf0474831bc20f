"""Section 3, SOUP (IEC 62304 software of unknown provenance): every third-party
component, generated from what is actually installed and linked.

* **Host, Python:** every installed distribution (``importlib.metadata``):
  name, version, supplier (author/maintainer and home page from its
  metadata), licence, whether tinyecg depends on it directly (pyproject.toml)
  or through which distributions.
* **Host, Debian:** the apt packages ``tools/setup.sh`` installs, with the
  version and maintainer ``dpkg-query`` reports.
* **Device:** the archive members of the firmware's link map that come from
  outside the project (the C library, the compiler runtime), with the bytes
  each puts in the image and the Debian package that provides the archive.

Purposes (and a supplier where the metadata names none) come from the
versioned ``docs/soup.toml``.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from pathlib import Path

from .. import firmware
from .evidence import Evidence
from .identify import ROOT, _out, debian_version, newlib_version

SOUP_FILE = ROOT / "docs" / "soup.toml"
SETUP_SCRIPT = ROOT / "tools" / "setup.sh"
PYPROJECT = ROOT / "pyproject.toml"
#: Distributions that make the virtual environment itself, not tinyecg.
VENV_TOOLING = {"pip", "setuptools", "wheel"}


def norm(name: str) -> str:
    """PEP 503 normalised distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(req: str) -> str | None:
    if ";" in req and "extra" in req.split(";", 1)[1]:
        return None                                   # optional extra: not installed for us
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    return norm(m.group(1)) if m else None


def apt_packages(text: str) -> list[str]:
    """The APT_PACKAGES array of tools/setup.sh."""
    m = re.search(r"^APT_PACKAGES=\(([^)]*)\)", text, re.M)
    return m.group(1).split() if m else []


def direct_dependencies(pyproject_text: str) -> list[str]:
    deps = tomllib.loads(pyproject_text)["project"]["dependencies"]
    return [n for n in (_requirement_name(d) for d in deps) if n]


def _supplier(meta) -> str:
    who = meta.get("Author") or meta.get("Maintainer") or ""
    email = meta.get("Author-email") or meta.get("Maintainer-email") or ""
    if not who and email:
        who = re.sub(r"\s*<[^>]*>", "", email).strip().strip('"')
    url = meta.get("Home-page") or ""
    if not url:
        for entry in meta.get_all("Project-URL") or []:
            label, _, link = entry.partition(",")
            if label.strip().lower() in ("homepage", "home", "source", "repository", "source code"):
                url = link.strip()
                break
    return ", ".join(x for x in (who.strip(), url.strip()) if x)


def _licence(meta) -> str:
    """SPDX expression, else the licence classifiers, else the first line of License."""
    lic = meta.get("License-Expression") or ""
    if not lic:
        lic = ", ".join(c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                        if c.startswith("License ::"))
    if not lic:
        lines = (meta.get("License") or "").strip().splitlines()
        lic = lines[0] if lines else ""
    return (lic or "not stated")[:80]


def python_distributions(direct: list[str], purposes: dict) -> list[dict]:
    dists = {}
    for d in md.distributions():
        name = d.metadata.get("Name")
        if name and norm(name) not in dists:
            dists[norm(name)] = d
    required_by: dict[str, set] = {n: set() for n in dists}
    for n, d in dists.items():
        for req in d.requires or []:
            r = _requirement_name(req)
            if r in required_by and r != n:
                required_by[r].add(n)
    rows = []
    for n in sorted(dists):
        d = dists[n]
        meta = d.metadata
        p = purposes.get(n, {})
        if n in direct:
            relation = "direct (pyproject.toml)"
        elif n == "tinyecg":
            relation = "this project"
        elif n in VENV_TOOLING:
            relation = "virtual environment tooling"
        else:
            relation = "required by " + ", ".join(sorted(required_by[n])) if required_by[n] else "installed, unused"
        rows.append({"name": meta.get("Name"), "version": d.version, "supplier": p.get("supplier") or _supplier(meta)
                     or "not stated in its metadata", "licence": _licence(meta),
                     "purpose": p.get("purpose") or (meta.get("Summary") or "").strip(),
                     "relation": relation, "where": "host"})
    return rows


def debian_packages(packages: list[str], purposes: dict) -> list[dict]:
    rows = []
    for pkg in packages:
        fields = _out(["dpkg-query", "-W", "-f=${Version}\t${Maintainer}\t${Homepage}", pkg])
        version, maint, home = (fields.split("\t") + ["", "", ""])[:3] if fields else ("not installed", "", "")
        rows.append({"name": pkg, "version": version, "supplier": ", ".join(x for x in (f"Debian ({maint})"
                     if maint else "", home) if x) or "not installed", "purpose": purposes.get(pkg, {}).get("purpose", ""),
                     "where": "host"})
    return rows


def _archive_owner(path: str) -> str | None:
    out = _out(["dpkg-query", "-S", str(Path(path).resolve())])
    return out.split(":", 1)[0] if out else None


def device_components(map_file: Path, purposes: dict) -> list[dict]:
    """Archive members from outside the project that the link map places in the image."""
    groups: dict[str, dict] = {}
    gcc = (_out(["arm-none-eabi-gcc", "-dumpversion"]) or "").strip()
    for e in firmware.link_map(map_file):
        m = re.match(r"^(.*/)?(lib[^/]+)\.a\((.+)\)$", e["object"])
        if not m or not (m.group(1) or "").startswith("/") or e["size"] == 0:
            continue                                   # project objects and libraries are not SOUP
        lib = m.group(2)
        g = groups.setdefault(lib, {"archive": (m.group(1) or "") + lib + ".a", "members": {}, "bytes": 0})
        g["members"][m.group(3)] = g["members"].get(m.group(3), 0) + e["size"]
        g["bytes"] += e["size"]
    rows = []
    for lib, g in sorted(groups.items()):
        owner = _archive_owner(g["archive"])
        version = (f"newlib {newlib_version()}" if owner and "newlib" in owner else
                   f"gcc {gcc}" if lib == "libgcc" else "")
        if owner:
            version += f" (Debian {owner} {debian_version(owner)})"
        rows.append({"name": lib, "version": version.strip(), "supplier": f"Debian package {owner}" if owner else
                     "unknown", "purpose": purposes.get(lib, {}).get("purpose", ""), "where": "device",
                     "bytes_in_image": g["bytes"], "members": [{"member": k, "bytes": v} for k, v in
                                                               sorted(g["members"].items())],
                     "archive": str(Path(g["archive"]).resolve())})
    return rows


def soup(ev: Evidence, map_file: Path) -> dict:
    purposes = tomllib.loads(ev.read_text(SOUP_FILE, "SOUP purposes (versioned text)"))
    direct = direct_dependencies(ev.read_text(PYPROJECT, "pinned Python dependencies"))
    apt = apt_packages(ev.read_text(SETUP_SCRIPT, "the apt packages the setup installs"))
    ev.note_file(map_file, "the firmware's link map (which C library members are in the image)")
    return {"python": python_distributions(direct, purposes.get("python", {})),
            "debian": debian_packages(apt, purposes.get("debian", {})),
            "device": device_components(map_file, purposes.get("device", {})),
            "sources": {"purposes": "docs/soup.toml", "python": "importlib.metadata (installed distributions)",
                        "debian": "dpkg-query on the APT_PACKAGES of tools/setup.sh",
                        "device": "the linker map of the firmware (-Wl,-Map)"}}
