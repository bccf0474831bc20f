"""SCons build script of tinyecg's project-local PlatformIO platform.

Builds bare-metal Cortex-M firmware with Debian's arm-none-eabi-gcc (no
PlatformIO packages, no network).  What it adds to a stock PlatformIO build:

* CPU/FPU flags from the board JSON (``build.cpu``, ``build.fpu``,
  ``build.float_abi``);
* the board support sources in ``firmware/boards/<build.family>/``;
* the generated model C from ``$TINYECG_MODEL_DIR`` or the project option
  ``custom_model_dir`` (default ``firmware/model``);
* a content-derived build id (no dates, no absolute paths) so that two builds
  of the same inputs are byte-identical;
* ``upload``: QEMU boards run in ``qemu-system-arm`` with the UART on the
  terminal (the simulator stands in for flashing); real boards are flashed
  through pyOCD (``pyocd_upload.py``: probe check, program, verify, reset);
* ``TINYECG_MEASURE_ONLY=1`` (``tinyecg.convert``'s fit check): the ELF only,
  linked with ``--noinhibit-exec`` so that an image too big for the board is
  still laid out and can be measured; no ``.bin``, no size check.
"""

import hashlib
import os
import shutil
import sys

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
board = env.BoardConfig()
project_dir = env.subst("$PROJECT_DIR")
firmware_dir = os.path.join(project_dir, "firmware")


def fail(message):
    sys.stderr.write("error: %s\n" % message)
    env.Exit(2)


for tool in ("arm-none-eabi-gcc", "arm-none-eabi-objcopy", "arm-none-eabi-size"):
    if not shutil.which(tool):
        fail("%s not found on PATH: run `make setup` (apt package gcc-arm-none-eabi)" % tool)

env.Replace(
    AR="arm-none-eabi-gcc-ar",
    AS="arm-none-eabi-as",
    CC="arm-none-eabi-gcc",
    CXX="arm-none-eabi-g++",
    GDB="arm-none-eabi-gdb",
    OBJCOPY="arm-none-eabi-objcopy",
    RANLIB="arm-none-eabi-gcc-ranlib",
    SIZETOOL="arm-none-eabi-size",
    ARFLAGS=["rc"],
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    # flash = code + read-only data + initialised data image; RAM = data + bss + stack/heap reserve
    SIZEPROGREGEXP=r"^(?:\.isr_vector|\.text|\.rodata|\.ARM\.exidx|\.ARM\.extab|\.data)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss|\.stack)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
)

# --- CPU flags from the board -------------------------------------------------
cpu = board.get("build.cpu")
machine_flags = ["-mcpu=%s" % cpu, "-mthumb"]
if board.get("build.fpu", ""):
    machine_flags += ["-mfpu=%s" % board.get("build.fpu"),
                      "-mfloat-abi=%s" % board.get("build.float_abi", "hard")]
else:
    machine_flags += ["-mfloat-abi=soft"]

env.Append(
    ASFLAGS=machine_flags,
    ASPPFLAGS=["-x", "assembler-with-cpp"],
    CCFLAGS=machine_flags + [
        "-Os",
        "-g",
        "-ffunction-sections",
        "-fdata-sections",
        "-fno-common",
        "-Wall",
        "-Wextra",
        "-Werror=implicit-function-declaration",
        # reproducible: no absolute paths of this checkout in the objects
        "-ffile-prefix-map=%s=." % project_dir,
    ],
    CFLAGS=["-std=c99"],
    CXXFLAGS=["-std=c++17", "-fno-rtti", "-fno-exceptions"],
    CPPDEFINES=[
        ("TINYECG_BOARD", '\\"%s\\"' % env.subst("$BOARD")),
        ("TINYECG_CPU", '\\"%s\\"' % cpu),
        ("TINYECG_CLOCK_HZ", board.get("build.f_cpu").rstrip("L")),
        ("TINYECG_COUNTER_IS_CYCLES", 1 if board.get("build.counter", "cycles") == "cycles" else 0),
    ],
    LINKFLAGS=machine_flags + [
        "-Wl,--gc-sections",
        "-Wl,--no-warn-rwx-segments",
        "--specs=nano.specs",
        "--specs=nosys.specs",
        "-nostartfiles",
        "-Wl,-Map,%s" % os.path.join(env.subst("$BUILD_DIR"), "firmware.map"),
        "-Wl,--build-id=none",
    ],
    LIBS=["c_nano", "m", "gcc", "nosys"],
    CPPPATH=[os.path.join(firmware_dir, "include")],
)

# --- board support -------------------------------------------------------------
family = board.get("build.family")
board_src = os.path.join(firmware_dir, "boards", family)
if not os.path.isdir(board_src):
    fail("board family '%s' has no sources in firmware/boards/%s" % (family, family))
common_src = os.path.join(firmware_dir, "boards", "common")
env.Append(CPPPATH=[board_src, common_src])
env.BuildSources(os.path.join("$BUILD_DIR", "board_common"), common_src)
ldscript = os.path.join(board_src, board.get("build.ldscript"))
env.Replace(LDSCRIPT_PATH=ldscript)
env.BuildSources(os.path.join("$BUILD_DIR", "board"), board_src)

# --- generated model -----------------------------------------------------------
model_dir = os.environ.get("TINYECG_MODEL_DIR") or env.GetProjectOption(
    "custom_model_dir", os.path.join("firmware", "model"))
model_dir = os.path.normpath(os.path.join(project_dir, model_dir))
have_model = os.path.isfile(os.path.join(model_dir, "model.c"))
if os.environ.get("TINYECG_MODEL_DIR") and not have_model:
    fail("TINYECG_MODEL_DIR=%s has no generated model.c (run tools/convert.py --out there)" % model_dir)
if have_model:
    # generated model code calls the tinynn kernels (firmware/lib/tinynn, linked via LDF)
    env.Append(CPPPATH=[model_dir, os.path.join(firmware_dir, "lib", "tinynn", "include")],
               CPPDEFINES=[("TINYECG_HAVE_MODEL", 1)])
    env.BuildSources(os.path.join("$BUILD_DIR", "model"), model_dir)


# --- build id: hash of every input that shapes the image -----------------------
def _build_id():
    digest = hashlib.sha256()
    roots = [os.path.join(firmware_dir, d) for d in ("src", "lib", "include")] + [board_src, common_src]
    if have_model:
        roots.append(model_dir)
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                path = os.path.join(dirpath, name)
                digest.update(os.path.relpath(path, project_dir).encode())
                with open(path, "rb") as fh:
                    digest.update(fh.read())
    digest.update(" ".join(machine_flags).encode())
    digest.update(env.subst("$BOARD").encode())
    return digest.hexdigest()[:16]


env.Append(CPPDEFINES=[("TINYECG_BUILD_ID", '\\"%s\\"' % _build_id())])

# --- targets ---------------------------------------------------------------------
env.Append(BUILDERS=dict(ElfToBin=env.Builder(
    action=env.VerboseAction(" ".join(["$OBJCOPY", "-O", "binary", "$SOURCES", "$TARGET"]),
                             "Building $TARGET"),
    suffix=".bin")))

target_elf = env.BuildProgram()
target_bin = env.ElfToBin(os.path.join("$BUILD_DIR", "${PROGNAME}"), target_elf)
env.Depends(target_bin, "checkprogsize")
target_buildprog = env.Alias("buildprog", target_bin, target_bin)
AlwaysBuild(env.Alias("nobuild", target_bin))

target_size = env.Alias("size", target_elf,
                        env.VerboseAction("$SIZEPRINTCMD", "Calculating size $SOURCE"))
AlwaysBuild(target_size)

protocol = env.subst("$UPLOAD_PROTOCOL") or board.get("upload.protocol", "")
if protocol == "qemu":
    # -icount shift=0: one instruction = 1 ns of virtual time, so the counters
    # count instructions, identically run to run.  Ctrl-A X quits QEMU.
    env.Replace(
        UPLOADER="qemu-system-arm",
        UPLOADCMD=" ".join([
            "$UPLOADER", "-M", board.get("build.qemu_machine"), "-nographic",
            "-icount", "shift=0", "-semihosting-config", "enable=on,target=native",
            "-kernel", "$SOURCE"]),
    )
    upload_actions = [env.VerboseAction("$UPLOADCMD", "Running $SOURCE in QEMU %s (Ctrl-A X quits)"
                                        % board.get("build.qemu_machine"))]
elif protocol == "pyocd":
    # Real boards: pyocd_upload.py finds the probe (none: one line, non-zero
    # exit), runs `pyocd load` with the board's target and erase mode, reads
    # the image back to verify, resets. upload_port = a probe's unique ID;
    # board_upload.pyocd_erase = chip for a full erase.
    pyocd_flags = ["--target", board.get("upload.pyocd_target"),
                   "--erase", board.get("upload.pyocd_erase", "sector"), "--board", env.subst("$BOARD")]
    if env.subst("$UPLOAD_PORT"):
        pyocd_flags += ["--probe", env.subst("$UPLOAD_PORT")]
    if board.get("upload.pyocd_frequency", ""):
        pyocd_flags += ["--frequency", board.get("upload.pyocd_frequency")]
    env.Replace(
        UPLOADER=os.path.join(firmware_dir, "platform", "builder", "pyocd_upload.py"),
        UPLOADERFLAGS=pyocd_flags,
        UPLOADCMD='"$PYTHONEXE" "$UPLOADER" $UPLOADERFLAGS $SOURCE',
    )
    upload_actions = [env.VerboseAction("$UPLOADCMD", "Flashing $SOURCE with pyOCD (target %s)"
                                        % board.get("upload.pyocd_target"))]
elif env.get("UPLOADCMD"):
    upload_actions = [env.VerboseAction("$UPLOADCMD", "Uploading $SOURCE")]
else:
    upload_actions = [env.VerboseAction(
        env.Action(lambda **_: fail("board %s has no upload protocol '%s'"
                                    % (env.subst("$BOARD"), protocol))), "")]
AlwaysBuild(env.Alias("upload", target_elf, upload_actions))

if os.environ.get("TINYECG_MEASURE_ONLY") == "1":
    env.Append(LINKFLAGS=["-Wl,--noinhibit-exec"])
    env.Replace(SIZETOOL="")  # PlatformIO adds its size check only when a size tool is set
    Default([target_elf])
else:
    Default([target_buildprog, target_size])
