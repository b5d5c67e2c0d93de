"""Fault injection: whatever part of a render fails, it ends the same way.

Each case is one ``optviz run CONFIG -o OUT -j N``, into a folder that
already holds a good render of another video under the same name, with one
part made to fail. The runs are processes of their own, forked from one
that has imported optviz (:data:`ZYGOTE`: ``python -m optviz`` without the
imports each time, half of its CPU time here), except where a mount namespace
needs ``python -m optviz`` itself. The parts that fail:

- ffmpeg replaced by a fake (``IMAGEIO_FFMPEG_EXE``) that, at one of its
  three jobs (encoding the frames, joining the pieces of a ``--jobs`` video,
  checking a finished video), stalls, lies, crashes or chatters, and hands
  the other two to the real ffmpeg (see :data:`FAULTS`);
- the disk filling up, where Python writes (``open`` made to raise ENOSPC)
  and, where the machine lets a user mount a tiny tmpfs, where ffmpeg does;
- SIGINT or SIGTERM at a random (seeded) moment: while a long video's frames
  are encoded, or at any moment of a short one's run (before, while or
  after it encodes, checks and installs its files); and SIGKILL while
  encoding, after which no worker or ffmpeg may outlive optviz, and the next
  run into the folder removes what it left.

For every case: exit status 1 and exactly one line on stderr, ``optviz:
error: ...`` naming the fault (for SIGINT and SIGTERM 130 and 143 and the
line that says so; for SIGKILL nothing), no traceback; the run ends within
the watchdog's bound of the fault (lowered to :data:`WATCHDOG_S` here) and a
margin for the cleanup; no process it started is left running, no temporary
file is left (after SIGKILL, none after the next run), and each file in the
folder is the previous one byte for byte, or a new one that is whole: the
CSV, written before the video, and after a signal, what was finished and
checked before it came.

The runs are independent and mostly wait, so they run a few at a time. Two
more tests send a signal where Python can only print the exception its
handler raises (a fork hook, a weakref's callback), deterministically.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from optviz.output import watchdog
from optviz.output.encode import ffmpeg_exe, gif_problem, probe_video

pytestmark = [
    pytest.mark.render,
    pytest.mark.skipif(
        sys.platform != "linux", reason="needs Linux's /proc to find processes"
    ),
]

WATCHDOG_S = 1.5  # the bound the runs here are given (OPTVIZ_WATCHDOG_SECONDS)
# From the moment a fake begins to misbehave, or a signal is sent, to the end
# of the run: the watchdog's bound for workers at most, and this for the
# cleanup and Python's exit on a machine that runs other things too.
REACT_S = 10.0
LIMIT_S = 60.0  # a whole run, start and drawing included
HANG_S = 120.0  # a run still going then is killed: it hung
AT_ONCE = 3  # runs at a time

FRAMES = 130  # two pieces with --jobs 2 (at least 60 frames each)
CONFIG = f"""
surface: beale
starts: [[-3, 3]]
iterations: 40
optimizers:
  - {{method: adam, lr: 0.22}}
animation: {{frames: {FRAMES}, hold: 0, fps: 30, size: [96, 64], dpi: 20}}
"""
# The render already in the folder: another video under the same names, so
# that a new file in its place, even a good one, shows.
PREVIOUS = CONFIG.replace("lr: 0.22", "lr: 0.1")
# A signal while frames are encoded: in the first SIGNAL_WITHIN seconds of
# the encoding of a video that takes several times that (3 to 15 s).
LONG_FRAMES = 3000
LONG = CONFIG.replace(f"frames: {FRAMES}", f"frames: {LONG_FRAMES}")
SIGNAL_WITHIN = 1.0
# A signal at any moment: within ANY_MOMENT seconds of the start of a run of
# CONFIG (which takes 1.5 to 5 s): from reading the config to Python's exit.
ANY_MOMENT = 3.0


@dataclass(frozen=True)
class Fault:
    """A fake ffmpeg's misbehaviour at one ``stage`` ("encode" the frames,
    "join" the pieces, "probe" a finished video): Python ``code`` in the
    fake (see :data:`FAKE` for what it can call), and what the one error
    line must ``say``."""

    stage: str
    code: str  # calls fault() where the misbehaviour begins
    says: str
    jobs: tuple[int, ...] = (1, 2)


FAULTS = {
    "stalls-reading-nothing": Fault(
        "encode", "fault(); time.sleep(600)", "made no progress for 1.5 s taking"
    ),
    "reads-every-frame-never-exits": Fault(
        "encode",
        "read(); fault(); time.sleep(600)",
        "made no progress for 1.5 s finishing after the last frame",
    ),
    "writes-junk-exits-0": Fault(
        "encode",
        "read(); fault(); write_outputs(b'junk' * 100); sys.exit(0)",
        "ffmpeg wrote a broken mp4: ffmpeg cannot read it",
    ),
    "writes-nothing-exits-0": Fault(
        "encode", "read(); fault(); sys.exit(0)", "ffmpeg exited without writing"
    ),
    "crashes-midway-exit-1": Fault(
        "encode",
        "read(5); fault(); say('Error: the encoder crashed'); sys.exit(1)",
        "(ffmpeg exited with code 1); ffmpeg said: Error: the encoder crashed",
    ),
    "killed-by-a-signal-midway": Fault(
        "encode",
        "read(5); fault(); os.kill(os.getpid(), signal.SIGKILL)",
        "(ffmpeg was killed by signal 9)",
    ),
    "chatters-megabytes-exit-1": Fault(
        "encode",
        "fault(); chatter(); read(); sys.exit(1)",
        "(ffmpeg exited with code 1)",
    ),
    "chatters-megabytes-then-stalls": Fault(
        "encode", "fault(); chatter(); time.sleep(600)", "made no progress for 1.5 s"
    ),
    "disk-full-midway": Fault(
        "encode",
        "read(5); fault(); write_outputs(bytes(4096));"
        " say('Error writing trailer: No space left on device'); sys.exit(1)",
        "ffmpeg said: Error writing trailer: No space left on device",
    ),
    "join-stalls": Fault(
        "join",
        "fault(); time.sleep(600)",
        "made no progress for 1.5 s joining the video's pieces",
        jobs=(2,),
    ),
    "join-writes-junk-exits-0": Fault(
        "join",
        "fault(); write_outputs(b'junk'); sys.exit(0)",
        "joining the mp4 pieces gave a broken file: ffmpeg cannot read it",
        jobs=(2,),
    ),
    "check-stalls": Fault(
        "probe",
        "fault(); time.sleep(600)",
        "made no progress for 1.5 s checking the new video",
    ),
}

# The fake ffmpeg: a shell script that records its pid, its stage and its
# arguments, and becomes the real ffmpeg (the same process), or, at the stage
# of its fault, the Python script FAULTY that does the fault.
FAKE = """#!/bin/sh
case " $* " in
    *" pipe:0 "*) stage=encode ;;
    *" concat "*) stage=join ;;
    *) stage=probe ;;
esac
echo "$*" > {record}/$stage-$$
[ "$stage" = {stage} ] || exec {real} "$@"
exec {python} {faulty} "$@"
"""
FAULTY = """
import os, signal, sys, time
RECORD = {record!r}
args = sys.argv[1:]

def fault():  # the moment the misbehaviour begins
    open(os.path.join(RECORD, f"fault-{{os.getpid()}}"), "w").close()

size = args[args.index("-video_size") + 1] if "-video_size" in args else "0x0"
w, h = map(int, size.split("x"))
outputs = [a for a in args if a.endswith(".part")]

def read(frames=None):
    left = None if frames is None else frames * w * h * 4
    while left is None or left > 0:
        chunk = os.read(0, 65536 if left is None else min(65536, left))
        if not chunk:
            return
        left = None if left is None else left - len(chunk)

def say(line):
    sys.stderr.write(line + "\\n")
    sys.stderr.flush()

def chatter():
    for i in range(3000):
        sys.stderr.write(f"chatter {{i}} " + "x" * 1000 + "\\n")
    sys.stderr.write("a megabyte without a newline " + "y" * 1_000_000)
    sys.stderr.flush()

def write_outputs(data):
    for out in outputs:
        with open(out, "wb") as f:
            f.write(data)

{code}
"""

# The process every run is forked from: ``python -m optviz`` without its
# imports (0.6 s of CPU, half of a run here) each time. It reads one job a
# line (JSON: argv, env, stderr, and "full"), forks, and answers the pid and
# later the exit status. The run is a process group of its own, with its own
# stderr; its workers are forked from it, its ffmpegs started by it, as ever.
ZYGOTE = """
import builtins, errno, io, json, os, select, signal, sys
from pathlib import Path

import optviz.api, optviz.cli, optviz.draw.figure  # what a run imports


def fill_the_disk(which):
    # Python's writes to the output folder on a disk that fills up: the
    # first write to the file chosen ("csv": the CSV's temporary file,
    # "gif-join": the GIF --jobs joins from its pieces) succeeds, every
    # later one raises ENOSPC.
    chosen = {"csv": ".trajectories.csv.", "gif-join": ".fault.gif."}[which]
    real_open = io.open

    class Full:
        def __init__(self, file):
            self._file, self._writes = file, 0

        def write(self, data):
            self._writes += 1
            if self._writes > 1:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self._file.write(data)

        def __getattr__(self, name):
            return getattr(self._file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()

    def full_open(file, mode="r", *args, **kwargs):
        opened = real_open(file, mode, *args, **kwargs)
        name = "" if isinstance(file, int) else Path(os.fspath(file)).name
        if any(m in mode for m in "wax") and name.startswith(chosen):
            return Full(opened)
        return opened

    builtins.open = io.open = full_open


def run(job):
    os.setpgid(0, 0)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(os.open(job["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
    os.closerange(3, 256)
    os.environ.clear()
    os.environ.update(job["env"])
    if job["full"]:
        fill_the_disk(job["full"])
    sys.argv = ["optviz", *job["argv"]]
    optviz.cli.program()  # as python -m optviz: main, then Python's exit


def handle(job):
    if "signal" in job:  # only to a run not yet reaped: its pid is still its
        if job["signal"] in running:
            os.kill(job["signal"], job["signum"])
        return
    pid = os.fork()
    if pid == 0:
        run(job)
    running.add(pid)
    replies.write(json.dumps({"started": pid}) + "\\n")


replies = os.fdopen(os.dup(1), "w", buffering=1)
running = set()
pending = b""
while True:
    ready = select.select([0], [], [], 0.02)[0]
    while running:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if not pid:
            break
        running.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        replies.write(json.dumps({"ended": pid, "code": code}) + "\\n")
    if ready:
        chunk = os.read(0, 65536)
        if not chunk:
            break
        pending += chunk
    while b"\\n" in pending:
        line, pending = pending.split(b"\\n", 1)
        handle(json.loads(line))
"""


class Zygote:
    """A running :data:`ZYGOTE` and the runs it forked."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._starting = threading.Lock()  # one start at a time: its reply
        self._writing = threading.Lock()
        self._started: concurrent.futures.Future = concurrent.futures.Future()
        self._ended: dict[int, concurrent.futures.Future] = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            reply = json.loads(line)
            if "started" in reply:
                ended: concurrent.futures.Future = concurrent.futures.Future()
                self._ended[reply["started"]] = ended
                self._started.set_result((reply["started"], ended))
            else:
                self._ended.pop(reply["ended"]).set_result(reply["code"])

    def start(
        self, argv: list[str], env: dict[str, str], stderr: Path, full: str = ""
    ) -> tuple[int, concurrent.futures.Future]:
        """Fork ``optviz argv``: its pid, and its exit status to come."""
        with self._starting:
            self._started = concurrent.futures.Future()
            self._send(dict(argv=argv, env=env, stderr=str(stderr), full=full))
            return self._started.result(timeout=HANG_S)

    def signal(self, pid: int, signum: int) -> None:
        """Send ``signum`` to the run ``pid``, unless it has ended (and its
        pid may be another process's by now)."""
        self._send({"signal": pid, "signum": int(signum)})

    def _send(self, request: dict) -> None:
        with self._writing:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps(request) + "\n")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=HANG_S)


# In a mount namespace of its own: a tmpfs with room for the previous render
# and the new CSV but not the new video, so that the real ffmpeg fills it.
TMPFS = """
import hashlib, json, os, shutil, subprocess, sys, time

disk, previous, command = sys.argv[1], sys.argv[2], sys.argv[3:]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", disk], check=True)
out = os.path.join(disk, "out")
shutil.copytree(previous, out)
page = os.statvfs(disk).f_frsize
free = os.statvfs(disk).f_bavail * page
with open(os.path.join(disk, "filler"), "wb") as filler:
    filler.write(bytes(free - 2 * page))  # the CSV takes one page
began = time.time()
done = subprocess.run(command + ["-o", out], capture_output=True, text=True)
ended = time.time()
files = {n: hashlib.sha256(open(os.path.join(out, n), "rb").read()).hexdigest()
         for n in sorted(os.listdir(out))}
print(json.dumps(dict(code=done.returncode, err=done.stderr, began=began,
                      ended=ended, files=files)))
"""


@dataclass(frozen=True)
class Case:
    """One run: a ``fault`` of :data:`FAULTS`, or ``"enospc-csv"``,
    ``"enospc-gif-join"``, ``"tmpfs-full"``, or a signal's name."""

    fault: str
    jobs: int
    # a signal's moment: ``delay`` seconds after the encoding began
    # (``encoding``) or after the run began
    delay: float = 0.0
    encoding: bool = False

    @property
    def signal(self) -> signal.Signals | None:
        return getattr(signal, self.fault) if self.fault.startswith("SIG") else None

    @property
    def id(self) -> str:
        when = "-while-encoding" if self.encoding else "-at-any-moment"
        return f"{self.fault}{when if self.signal else ''}-jobs{self.jobs}"


_rng = random.Random(16)  # the signals' moments, the same on every run
CASES = [
    *(Case(name, jobs) for name, f in FAULTS.items() for jobs in f.jobs),
    Case("enospc-csv", 1),
    Case("enospc-csv", 2),
    Case("enospc-gif-join", 2),
    Case("tmpfs-full", 1),
    Case("tmpfs-full", 2),
    *(
        Case(sig, jobs, round(_rng.uniform(0.0, within), 3), encoding)
        for encoding, within in ((True, SIGNAL_WITHIN), (False, ANY_MOMENT))
        for sig in ("SIGINT", "SIGTERM")
        for jobs in (1, 2)
    ),
    *(
        Case("SIGKILL", jobs, round(_rng.uniform(0.0, SIGNAL_WITHIN), 3), True)
        for jobs in (1, 2)
    ),
]
"""Every case of this module (the README states their number)."""

EXPECTED = {
    "enospc-csv": "cannot write {out}/trajectories.csv: No space left on device",
    "enospc-gif-join": "cannot write {out}/fault.gif: No space left on device",
    "tmpfs-full": "No space left on device",
}


@dataclass
class Outcome:
    code: int
    err: str
    began: float  # time.time() of the start and the end of the run
    ended: float
    signalled: float | None  # when the signal was sent
    out: Path
    record: Path  # the fake's pid files
    config: Path
    files: dict[str, str] | None = None  # the folder's digests (tmpfs)
    # after SIGKILL: whether a process it started was still there 10 s
    # later, the temporary files it left, and what the folder held after the
    # next run into it
    orphans: bool = False
    left: list[str] | None = None
    swept: list[str] | None = None
    group: int | None = None  # the run's process group (forked runs)


def can_mount_a_tmpfs() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    try:
        done = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
             "mount -t tmpfs -o size=64k tmpfs /mnt"],
            capture_output=True, timeout=20,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def write_fake(folder: Path, fault: str) -> Path:
    """A fake ffmpeg with ``fault`` (one of :data:`FAULTS`; any other name:
    none, the real ffmpeg, its pid recorded)."""
    record = folder / "record"
    record.mkdir()
    faulty = folder / "faulty.py"
    code = FAULTS[fault].code if fault in FAULTS else ""
    faulty.write_text(FAULTY.format(record=str(record), code=code))
    fake = folder / "ffmpeg"
    fake.write_text(
        FAKE.format(
            record=shlex.quote(str(record)),
            stage=FAULTS[fault].stage if fault in FAULTS else "none",
            real=shlex.quote(ffmpeg_exe()),
            python=shlex.quote(sys.executable),
            faulty=shlex.quote(str(faulty)),
        )
    )
    fake.chmod(0o755)
    return fake


def encoding(record: Path, jobs: int) -> bool:
    """Whether the ``jobs`` encoders have started (frames follow at once):
    the fake has recorded them (a small video's files get their first bytes
    only at the end, from ffmpeg's buffers)."""
    return len([p for p in record.iterdir() if p.name.startswith("encode-")]) >= jobs


def run_case(zygote: Zygote, case: Case, folder: Path, previous: Path) -> Outcome:
    """Run ``case`` in ``folder``, over a copy of the render ``previous``."""
    config = folder / "fault.yaml"
    config.write_text(LONG if case.encoding else CONFIG)
    out = folder / "out"
    shutil.copytree(previous, out)
    record = folder / "record"
    env = {
        **os.environ,
        "OPTVIZ_WATCHDOG_SECONDS": str(WATCHDOG_S),
        "IMAGEIO_FFMPEG_EXE": str(write_fake(folder, case.fault)),
    }
    argv = ["run", "-q", str(config), "-j", str(case.jobs)]
    if case.fault == "tmpfs-full":
        disk = folder / "disk"
        disk.mkdir()
        done = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", sys.executable,
             "-c", TMPFS, str(disk), str(previous), sys.executable, "-m", "optviz",
             *argv],
            env=env, capture_output=True, text=True, timeout=HANG_S,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        found = json.loads(done.stdout)
        return Outcome(
            found["code"],
            found["err"],
            found["began"],
            found["ended"],
            None,
            disk / "out",
            record,
            config,
            files=found["files"],
        )
    stderr = folder / "stderr"
    full = case.fault.removeprefix("enospc-") if case.fault.startswith("enospc") else ""
    began, signalled = time.time(), None
    pid, ended = zygote.start([*argv, "-o", str(out)], env, stderr, full)
    try:
        if case.signal is not None:
            end = time.monotonic() + HANG_S
            while case.encoding and not encoding(record, case.jobs):
                assert not ended.done(), "the run ended before it encoded"
                assert time.monotonic() < end, "the render never began to encode"
                time.sleep(0.01)
            time.sleep(case.delay)
            signalled = time.time()
            zygote.signal(pid, case.signal)
        code = ended.result(timeout=HANG_S)
    finally:
        if not ended.done():
            zygote.signal(pid, signal.SIGKILL)
            ended.result(timeout=HANG_S)
    outcome = Outcome(
        code, stderr.read_text(), began, time.time(), signalled, out, record, config
    )
    outcome.group = pid
    if case.signal == signal.SIGKILL:
        outcome.orphans = not wait_for(lambda: not left_running(outcome))
        outcome.left = sorted(n for n in os.listdir(out) if n.startswith("."))
        outcome.files = digests(out, hidden=False)
        render(zygote, folder, CONFIG, "-j", str(case.jobs))  # into out, again
        outcome.swept = sorted(os.listdir(out))
    return outcome


def render(zygote: Zygote, folder: Path, text: str, *options: str) -> Path:
    """``optviz run`` of the config ``text`` into ``folder/out``, by the real
    ffmpeg."""
    config = folder / "fault.yaml"
    config.write_text(text)
    argv = ["run", "-q", str(config), *options, "-o", str(folder / "out")]
    stderr = folder / "render.stderr"
    _, ended = zygote.start(argv, dict(os.environ), stderr)
    assert ended.result(timeout=HANG_S) == 0, stderr.read_text()
    return folder / "out"


@pytest.fixture(scope="module")
def zygote():
    forks = Zygote()
    yield forks
    forks.close()


@pytest.fixture(scope="module")
def previous(zygote, tmp_path_factory) -> dict[int, Path]:
    """A good render of :data:`PREVIOUS` for each ``--jobs``: what every
    case's folder holds before its run."""
    made = {}
    for jobs in (1, 2):
        folder = tmp_path_factory.mktemp(f"previous-{jobs}")
        made[jobs] = render(zygote, folder, PREVIOUS, "-j", str(jobs))
    return made


@pytest.fixture(scope="module")
def new_csv(zygote, tmp_path_factory) -> str:
    """The digest of the CSV of :data:`CONFIG`: written, whole, before its
    video, it may replace the previous one when the video then fails."""
    out = render(zygote, tmp_path_factory.mktemp("csv"), CONFIG, "--no-video")
    return digests(out)["trajectories.csv"]


@pytest.fixture(scope="module")
def campaign(request, zygote, previous, tmp_path_factory):
    """The runs of the cases this session selected, :data:`AT_ONCE` at a
    time, started together: each test waits for its own."""
    here = request.module.__name__
    chosen = [
        item.callspec.params["case"]
        for item in request.session.items
        if item.module.__name__ == here
        and "case" in getattr(getattr(item, "callspec", None), "params", {})
    ]
    tmpfs = can_mount_a_tmpfs()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=AT_ONCE)
    futures = {}
    for case in dict.fromkeys(chosen):
        if case.fault == "tmpfs-full" and not tmpfs:
            continue
        folder = tmp_path_factory.mktemp(case.id)
        futures[case] = pool.submit(run_case, zygote, case, folder, previous[case.jobs])
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def digests(folder: Path, hidden: bool = True) -> dict[str, str]:
    """The SHA-256 of each file in ``folder`` (``hidden``: the temporary
    ones too; a folder among them fails)."""
    import hashlib

    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if hidden or not p.name.startswith(".")
    }


def running(pid: int, folder: Path) -> bool:
    """Whether process ``pid`` runs (not a zombie) and names ``folder`` in
    its command line, as the fake ffmpeg of a case in ``folder`` does, and
    what it became: its fault's script, or the real ffmpeg at work on the
    files there."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rpartition(b")")[2].split()[0]
    return state not in (b"Z", b"X") and str(folder).encode() in cmdline


def left_running(outcome: Outcome) -> bool:
    """Whether a process of the run is still there: an ffmpeg (fake or
    real) it started, or a worker (in its process group, or naming its
    config, for a run of ``python -m optviz``)."""
    pids = [int(p.name.rpartition("-")[2]) for p in outcome.record.iterdir()]
    folder = outcome.record.parent
    if any(running(pid, folder) for pid in pids) or naming(outcome.config):
        return True
    return outcome.group is not None and bool(in_group(outcome.group))


def in_group(group: int) -> list[int]:
    """The processes (not zombies) of the process group ``group``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_bytes().rpartition(b")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def naming(path: Path) -> list[int]:
    """Processes other than this one whose command line names ``path``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if str(path).encode() in cmdline:
            found.append(int(entry.name))
    return found


def wait_for(condition, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_a_failing_part_ends_in_one_line_and_leaves_the_folder_as_it_was(
    campaign, previous, new_csv, case
):
    if case not in campaign:
        pytest.skip("no tmpfs can be mounted here (unshare)")
    outcome = campaign[case].result()
    lines = [line for line in outcome.err.splitlines() if line.strip()]

    # one line, no traceback, the exit status of the fault
    assert "Traceback" not in outcome.err and len(lines) <= 1, outcome.err[:2000]
    late = False  # a signal that came after the render was done
    if case.signal is None:
        assert outcome.code == 1, outcome.err
        assert len(lines) == 1 and lines[0].startswith("optviz: error: "), lines
        says = FAULTS[case.fault].says if case.fault in FAULTS else ""
        assert EXPECTED.get(case.fault, says).format(out=outcome.out) in lines[0]
        assert len(lines[0]) < 500  # not ffmpeg's chatter
    elif case.signal == signal.SIGKILL:  # nothing can be said: and is not
        assert (outcome.code, lines) == (-signal.SIGKILL, [])
        assert not outcome.orphans, "a worker or an ffmpeg outlived optviz"
        # it cannot clean up: its temporary files stay, until the next run
        assert outcome.left is not None and outcome.swept is not None
        assert all(n.endswith((".part", ".segments")) for n in outcome.left)
        assert outcome.swept == sorted(digests(previous[case.jobs]))
    elif outcome.code in (0, -case.signal) and not case.encoding:
        # once optviz was done (0), or as Python was exiting, after optviz
        # had put back the signal's default action, which ended the process
        late = True
        assert lines == []
    else:
        terminated = case.signal == signal.SIGTERM
        word, code = ("terminated", 143) if terminated else ("interrupted", 130)
        assert (outcome.code, lines) == (
            code,
            [f"optviz: {word}; no output was left half-written"],
        )
    # within the watchdog's bound of the fault
    assert outcome.ended - outcome.began < LIMIT_S
    faulted = [p.stat().st_mtime for p in outcome.record.glob("fault-*")]
    if faulted:
        reaction = watchdog.workers_seconds(WATCHDOG_S) + REACT_S
        assert outcome.ended - min(faulted) < reaction
    if outcome.signalled is not None:
        assert outcome.ended - outcome.signalled < REACT_S

    # the fault happened where it was meant to
    record = sorted(p.name for p in outcome.record.iterdir())
    if case.fault in FAULTS:
        assert any(name.startswith("fault-") for name in record), record
    encoded = case.fault != "enospc-csv" and (case.signal is None or case.encoding)
    if case.jobs == 2 and encoded:  # the video was cut: ffmpeg wrote a piece
        commands = [
            (outcome.record / n).read_text() for n in record if n.startswith("encode-")
        ]
        assert any(".segments/.segment-" in c for c in commands), record

    # no process left: no ffmpeg (fake or real), no worker
    assert wait_for(lambda: not left_running(outcome)), record

    # no temporary file, and each file the previous one byte for byte, or a
    # whole new one: the CSV (written before the video, so that a failing
    # video leaves the new one; not when it is the CSV that fails), or, after
    # a signal, what was finished and checked before it came
    files = outcome.files if outcome.files is not None else digests(outcome.out)
    before = digests(previous[case.jobs])
    assert sorted(files) == sorted(before)
    new = {name for name in files if files[name] != before[name]}
    if case.signal is None:
        assert new <= ({"trajectories.csv"} if case.fault != "enospc-csv" else set())
    if late:
        assert new == set(files)
    if "trajectories.csv" in new:
        assert files["trajectories.csv"] == new_csv
    if "fault.mp4" in new:
        frames = LONG_FRAMES if case.encoding else FRAMES
        found = probe_video(outcome.out / "fault.mp4")
        assert found == ("h264", "yuv420p", (96, 64), frames)
    if "fault.gif" in new:
        assert gif_problem(outcome.out / "fault.gif", (96, 64)) is None


# --- signals where Python can only print the exception they raise -----------

_ARMED: list[int] = []  # the signal the fork hook below sends, once


def _signal_in_the_fork_hook() -> None:
    """After each fork, in the parent: when armed, a signal arrives right here,
    inside one of Python's fork hooks, where its handler's exception can only
    be printed ("Exception ignored") and is lost."""
    if _ARMED:
        os.kill(os.getpid(), _ARMED.pop())
        time.sleep(0.2)  # the handler runs now, in the hook


os.register_at_fork(after_in_parent=_signal_in_the_fork_hook)


def test_a_signal_while_ffmpeg_starts_stops_the_encoder_and_ffmpeg(tmp_path):
    """Ctrl-C as ffmpeg (or a worker) is being forked is delivered once the
    fork is done, rather than printed as "Exception ignored" and lost (seen
    as a render that went on, exit 0, and a traceback on stderr)."""
    from optviz.output.encode import Encoder

    encoder = Encoder(tmp_path, "clip", (96, 64), 30, ("mp4",))
    _ARMED.append(signal.SIGINT)
    try:
        with pytest.raises(KeyboardInterrupt):
            encoder.start()
    finally:
        _ARMED.clear()
        encoder.abort()
    assert wait_for(lambda: not naming(tmp_path), seconds=5)  # no ffmpeg
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_signal_inside_a_callback_still_stops_the_run(
    tmp_path, monkeypatch, capsys, sig, code, word
):
    """A signal whose handler raises inside a weakref's callback (matplotlib's
    transforms have them; they run whenever garbage is collected) is not
    printed as "Exception ignored" with a traceback and lost, leaving the
    render to go on; it stops the run like any other."""
    import weakref

    from optviz.cli import main
    from optviz.draw import figure as drawing

    buffer = drawing.Renderer.buffer
    calls = []

    class Thing:
        pass

    def buffer_and_collect(self, k, camera=None):
        calls.append(k)
        if len(calls) == 5:
            thing = Thing()

            def callback(_) -> None:
                os.kill(os.getpid(), sig)
                time.sleep(0.2)  # the handler raises here, in the callback

            ref = weakref.ref(thing, callback)
            del thing  # the callback runs
            assert ref() is None
        return buffer(self, k, camera)

    monkeypatch.setattr(drawing.Renderer, "buffer", buffer_and_collect)
    config = tmp_path / "v.yaml"
    config.write_text(CONFIG.replace(f"frames: {FRAMES}", "frames: 40"))
    out = tmp_path / "out"
    assert main(["run", "-q", str(config), "-o", str(out), "--jobs", "1"]) == code
    err = capsys.readouterr().err
    assert err.strip() == f"optviz: {word}; no output was left half-written"
    assert len(calls) < 40  # it stopped
    assert sorted(p.name for p in out.iterdir()) == ["trajectories.csv"]
