"""Linux confinement primitives for the code runner: namespaces, mounts, seccomp, uid changes, kills.

Runs inside the sandbox under `python -I -S` and imports only the standard library (ctypes for the
system calls Python does not wrap). Every function either does what it says or raises OSError; the
runner decides what a failure means for the guarantees it reports.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import functools
import os
import platform
import resource
import signal
import struct

_libc = ctypes.CDLL(None, use_errno=True)
_ulong, _char_p = ctypes.c_ulong, ctypes.c_char_p
_libc.prctl.argtypes = [ctypes.c_int, _ulong, _ulong, _ulong, _ulong]
_libc.mount.argtypes = [_char_p, _char_p, _char_p, _ulong, _char_p]
_libc.umount2.argtypes = [_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc.mount(
            source.encode(), target.encode(), fstype.encode() if fstype else None, flags,
            data.encode() if data else None,
        ),
        f"mount {target}",
    )  # fmt: skip


def umount(target: str) -> None:
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


def private_mounts() -> None:
    """Enter a new mount namespace whose mounts never propagate back to the one we came from."""
    unshare(CLONE_NEWNS)
    mount("none", "/", None, MS_REC | MS_PRIVATE)


def mount_tmpfs(target: str, size_bytes: int, uid: int | None, inodes: int = 16384) -> None:
    options = f"size={size_bytes},nr_inodes={inodes},mode=0700"
    if uid is not None:
        options += f",uid={uid},gid={uid}"
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, options)


def bind(source: str, target: str, read_only: bool = False) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        mount("none", target, None, MS_BIND | MS_REC | MS_RDONLY | 32)  # 32 = MS_REMOUNT


def uncover(path: str) -> None:
    """Make `path` reachable by any uid where an ancestor folder is closed to others (e.g. /root 0700).

    The closed ancestor is covered, in this mount namespace only, by an empty world-traversable
    tmpfs into which the one child on the way to `path` is bound back: other things in that
    ancestor stay hidden, the path becomes reachable. Nothing changes on the host.
    """
    parts = [p for p in os.path.abspath(path).split("/") if p]
    for depth in range(len(parts)):
        ancestor = "/" + "/".join(parts[:depth])
        if os.stat(ancestor).st_mode & 0o001:
            continue
        child = "/" + "/".join(parts[: depth + 1])
        keep = os.open(child, os.O_PATH | os.O_DIRECTORY)
        try:
            mount("tmpfs", ancestor, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=0755")
            os.mkdir(child, 0o755)
            mount(f"/proc/self/fd/{keep}", child, None, MS_BIND | MS_REC)
        finally:
            os.close(keep)


def arrange_fds(mapping: dict[int, int]) -> None:
    """Make descriptor `target` a copy of `source` for each pair, and close every other descriptor."""
    spare = {target: fcntl.fcntl(source, fcntl.F_DUPFD_CLOEXEC, 256) for target, source in mapping.items()}
    for target, copy in spare.items():
        os.dup2(copy, target, inheritable=False)
    highest = max(mapping)
    for fd in range(highest):
        if fd not in mapping:
            with contextlib.suppress(OSError):
                os.close(fd)
    os.closerange(highest + 1, max(os.sysconf("SC_OPEN_MAX"), 1 << 16))  # close_range(2): one call


def drop_to(uid: int) -> None:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)


def clear_capabilities() -> None:
    """Empty every capability set (bwrap leaves the runner's in the inheritable set; lowering is free)."""
    header = struct.pack("=Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = bytes(24)  # two {effective, permitted, inheritable} words, all zero
    _check(_libc.capset(header, data), "capset")


def kill_uid(uid: int) -> None:
    """SIGKILL every process of `uid`, sessions and process groups left included.

    The caller is root and stays root: for the call it takes `uid` as real and effective uid with
    root kept as saved uid, so kill(-1) reaches exactly that uid's processes (never root's, never
    the caller), and then takes root back. kill(-1) goes over all of them in one pass.
    """
    os.setresuid(uid, uid, 0)
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    finally:
        os.setresuid(0, 0, 0)


def kill_descendants(root_pid: int, spare: frozenset[int] = frozenset()) -> bool:
    """SIGKILL every descendant of `root_pid` except `spare`, until none is left; True if any existed.

    Used without a uid of its own (a non-root harness): as a child subreaper the caller inherits
    every orphan, so escapees from sessions are still its descendants.
    """
    found_any = False
    for _ in range(100):
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                parent = _parent_of(int(entry))
                if parent is not None:
                    children.setdefault(parent, []).append(int(entry))
        victims, stack = [], list(children.get(root_pid, []))
        while stack:
            pid = stack.pop()
            if pid not in spare:
                victims.append(pid)
                stack.extend(children.get(pid, []))
        if not victims:
            return found_any
        found_any = True
        for pid in victims:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    return found_any


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat[stat.rfind(b")") + 2 :].split()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and of the children it has waited for (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(b")") + 2 :].split()
    return sum(int(x) for x in fields[11:15]) / _CLOCK_TICKS


def set_limits(cpu_s: float, memory_bytes: int | None, file_bytes: int, processes: int | None) -> None:
    """The per-process backstops; the runner's own CPU watch ends a test at the exact limit first."""
    hard_cpu = int(cpu_s) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (hard_cpu, hard_cpu + 1))
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if processes and os.geteuid() != 0:  # RLIMIT_NPROC does not bind root
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


# -------------------------------------------------------------------------------------------- seccomp
# Denied with EPERM: the kernel keyring (shared by every process of a uid, and kept after they exit),
# System V IPC and POSIX message queues (state outside the process, and shared memory that RLIMIT_AS
# does not count), and memfd_create (memory RLIMIT_AS does not count either). Each test also gets an
# IPC namespace of its own where the runner can make one. x32 system calls on x86-64 are denied as a
# whole so the numbers cannot be dodged.
_KEYRING = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}
_IPC = {
    "x86_64": (29, 30, 31, 64, 65, 66, 67, 68, 69, 70, 71, 220, 240, 241, 242, 243, 244, 245, 319),
    "aarch64": (*range(180, 198), 279),
}
_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_SECCOMP_RET_ALLOW, _SECCOMP_RET_ERRNO = 0x7FFF0000, 0x00050000
_EPERM = 1


def install_seccomp() -> bool:
    """Install the deny list for this process and its future children; False where unsupported."""
    filters = _seccomp_program()
    if filters is None:
        return False
    buffer = ctypes.create_string_buffer(filters, len(filters))
    fprog = struct.pack("@HP", len(filters) // 8, ctypes.addressof(buffer))
    fprog_buffer = ctypes.create_string_buffer(fprog, len(fprog))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    result = _libc.prctl(22, 2, ctypes.addressof(fprog_buffer), 0, 0)  # PR_SET_SECCOMP, FILTER mode
    _check(result, "seccomp")
    return True


@functools.cache
def _seccomp_program() -> bytes | None:
    """The BPF filter, built once per runner (each test's candidate only installs it)."""
    arch = platform.machine()
    if arch not in _AUDIT_ARCH:
        return None
    denied = [*_KEYRING[arch], *_IPC[arch]]
    ld_w, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, ...
    program = [
        (ld_w, 0, 0, 4),  # seccomp_data.arch
        (jeq, 1, 0, _AUDIT_ARCH[arch]),
        (ret, 0, 0, _SECCOMP_RET_ERRNO | _EPERM),  # another architecture's calling convention
        (ld_w, 0, 0, 0),  # seccomp_data.nr
    ]
    if arch == "x86_64":
        program += [(jge, 0, 1, 0x40000000), (ret, 0, 0, _SECCOMP_RET_ERRNO | _EPERM)]
    for index, number in enumerate(denied):
        to_deny = len(denied) - index  # jump over the remaining tests and the ALLOW
        program.append((jeq, to_deny, 0, number))
    program += [(ret, 0, 0, _SECCOMP_RET_ALLOW), (ret, 0, 0, _SECCOMP_RET_ERRNO | _EPERM)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)
