// The script sandbox: how strata runs a maintainer script, a scriptlet or a chroot hook inside a
// tree. strata runs its own executable again as `EXE __strata-sandbox ROOT SCRIPT NAME=VALUE...`;
// this constructor sees that argument before the Swift runtime starts a thread (unshare(2) of a
// mount namespace needs a single-threaded caller) and never returns to main:
//
//   user namespace    `--ids=INSIDE:OUTSIDE:COUNT` (argv[2], optional) maps ids INSIDE… of a new
//                     user namespace to OUTSIDE… of the host: a child unshares it, this process
//                     writes the child's uid_map and gid_map (a process cannot map more than its
//                     own id into a namespace it is in), and the child becomes the namespace's
//                     root. Every later namespace is owned by it, so each capability the script
//                     keeps counts only there: whatever the kernel checks against the host's
//                     namespace (v2 file capabilities, audit, time, modules, raw I/O, devices)
//                     is refused even to the namespace's root, and a file whose owner is outside
//                     the map cannot be changed at all. Builds map every id to itself
//                     (`--ids=0:0:4294967295`: the tree is owned by the host's ids); a container
//                     whose tree is owned by a subordinate range maps that range.
//   unshare(2)        new mount, pid, ipc, uts and network namespaces (Linux 3.8)
//   fork(2)           the child is pid 1 of the new pid namespace; the parent waits and exits
//                     with its status (and the child gets SIGKILL if the parent dies); pid 1
//                     forks the script and waits for it with its own root moved aside
//                     (be_init, below), so that the script sees a chroot as debootstrap's do
//   mount(2)          / made private (nothing propagates back to the host), ROOT bind-mounted on
//                     itself nodev (the host's null, zero, full, random, urandom and tty bound over
//                     the tree's nodes), /proc (of the new pid namespace) with /proc/sys,
//                     /proc/sysrq-trigger, /proc/irq, /proc/bus and /proc/fs read-only, and a
//                     read-only /sys inside it
//   pivot_root(2)     ROOT becomes / with pivot_root(".", "."), the old root detached
//                     (MNT_DETACH): no path leads back to the host, unlike chroot (Linux 2.3.41)
//   capabilities      the bounding set and the effective/permitted/inheritable sets cut to what
//                     package scripts need (chown, dac_override, dac_read_search, fowner, fsetid,
//                     kill, setgid, setuid, setpcap, setfcap, net_bind_service, audit_write): no
//                     sys_admin (mount), sys_chroot, mknod, sys_module, sys_ptrace, sys_rawio, …
//   PR_SET_NO_NEW_PRIVS  no setuid binary regains what was dropped (Linux 3.5)
//   close_range(2)    no descriptor but 0, 1 and 2 reaches the script (Linux 5.9; a loop before)
//   execve(2)         /bin/sh -ec SCRIPT with exactly the NAME=VALUE environment given
//
// What it does not do yet: seccomp; a build's tree mapped to a subordinate range (its overlay
// cannot be an idmapped mount: mount_setattr(MOUNT_ATTR_IDMAP) on an overlay mount is EINVAL on
// Linux 6.18, measured). A failure before exec exits 125 with `strata sandbox: …`.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "strata sandbox: %s: %s\n", what, strerror(errno));
    _exit(125);
}

static const int kept_capabilities[] = {
    CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID,
    CAP_SETUID, CAP_SETPCAP, CAP_SETFCAP, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE,
};

static int is_kept(int cap) {
    for (size_t i = 0; i < sizeof kept_capabilities / sizeof kept_capabilities[0]; i++) {
        if (kept_capabilities[i] == cap) return 1;
    }
    return 0;
}

static void drop_capabilities(void) {
    // Every capability the kernel knows, kept or dropped from the bounding set.
    for (int cap = 0; cap <= 63; cap++) {
        if (is_kept(cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) die("dropping a capability");
    }
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    for (size_t i = 0; i < sizeof kept_capabilities / sizeof kept_capabilities[0]; i++) {
        int cap = kept_capabilities[i];
        data[cap / 32].effective |= 1u << (cap % 32);
        data[cap / 32].permitted |= 1u << (cap % 32);
    }
    if (syscall(SYS_capset, &header, data) != 0) die("capset");
    // Ambient capabilities would survive exec for a non-root uid: none.
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs");
}

static void close_descriptors(void) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3, ~0U, 0) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < (max > 0 ? max : 65536); fd++) close((int)fd);
}

// Device nodes a script may open: the host's own, bound over the tree's nodes of the same name
// (the tree itself is mounted nodev, so a node a package ships, or a hostile tree holds, opens
// nothing).
static const char *const bound_devices[] = {"null", "zero", "full", "random", "urandom", "tty"};

// Parts of /proc whose files are checked by owner, not by capability: the namespace's root would
// be the host's root there (a build maps every id to itself), and kernel.core_pattern or
// /proc/sysrq-trigger reach the host. Read-only, as runc and systemd-nspawn make them.
static const char *const read_only_proc[] = {"proc/sys", "proc/sysrq-trigger", "proc/irq", "proc/bus", "proc/fs"};

static void bind_read_only(const char *path) {
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0) {
        if (errno == ENOENT) return;
        die(path);
    }
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die(path);
}

static void enter(const char *root) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("making / private");
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) != 0) die("bind-mounting the tree");
    if (mount(NULL, root, NULL, MS_REMOUNT | MS_BIND | MS_NODEV, NULL) != 0) die("making the tree nodev");
    if (chdir(root) != 0) die("entering the tree");
    for (size_t i = 0; i < sizeof bound_devices / sizeof bound_devices[0]; i++) {
        char host[32], inside[32];
        snprintf(host, sizeof host, "/dev/%s", bound_devices[i]);
        snprintf(inside, sizeof inside, "dev/%s", bound_devices[i]);
        struct stat node;
        // Only over a node the tree has (nothing is created in it); never through a link.
        if (lstat(inside, &node) != 0 || !(S_ISCHR(node.st_mode) || S_ISREG(node.st_mode))) continue;
        if (mount(host, inside, NULL, MS_BIND, NULL) != 0) die(inside);
    }
    if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) die("mounting /proc");
    for (size_t i = 0; i < sizeof read_only_proc / sizeof read_only_proc[0]; i++) bind_read_only(read_only_proc[i]);
    // /sys read-only, when the kernel allows it here (some scripts read it; none may change it).
    (void)mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    if (syscall(SYS_pivot_root, ".", ".") != 0) die("pivot_root");
    if (umount2(".", MNT_DETACH) != 0) die("detaching the old root");
    if (chdir("/") != 0) die("chdir /");
}

// pid 1 of the namespace: it waits for the script (and reaps what the script leaves behind),
// with its own root in the tree's /proc. A script that asks `ischroot` (which compares / with
// /proc/1/root) then learns that it runs in a chroot, as under debootstrap or mmdebstrap: libc6's
// postinst, for one, otherwise tries `telinit u` and sleeps a second. pid 1 keeps no more
// capabilities than the script, so the script may look at /proc/1/root; it finds the tree's /proc.
static void be_init(pid_t shell) {
    if (chroot("/proc") == 0) (void)chdir("/");
    drop_capabilities();
    close_descriptors();
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR) continue;
            die("waitpid");
        }
        if (pid != shell) continue;
        if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
        _exit(128 + WTERMSIG(status));
    }
}

const char *strata_sandbox_argument(void) { return "__strata-sandbox"; }

// Waits for `child` and exits with its status, as the process it stands for would.
static void exit_as(pid_t child) {
    int status = 0;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) die("waitpid");
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    _exit(128 + WTERMSIG(status));
}

static void write_map(pid_t pid, const char *file, unsigned long inside, unsigned long outside, unsigned long count) {
    char path[64], line[96];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    int length = snprintf(line, sizeof line, "%lu %lu %lu\n", inside, outside, count);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) die(path);
    if (write(fd, line, (size_t)length) != length) die(path);
    close(fd);
}

// `--ids=INSIDE:OUTSIDE:COUNT`: this process forks; the child unshares a user namespace and waits
// on a pipe while this process writes the maps, then carries on as the namespace's root. This
// process waits for it and never returns.
static void enter_user_namespace(const char *ids) {
    unsigned long inside = 0, outside = 0, count = 0;
    char rest = 0;
    if (sscanf(ids, "%lu:%lu:%lu%c", &inside, &outside, &count, &rest) != 3 || count == 0 || count > 4294967295UL
        || inside != 0 || outside > 4294967295UL - count) {
        errno = EINVAL;
        die("--ids wants 0:OUTSIDE:COUNT");
    }
    int ready[2], mapped[2];
    if (pipe2(ready, O_CLOEXEC) != 0 || pipe2(mapped, O_CLOEXEC) != 0) die("pipe");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child > 0) {
        close(ready[1]);
        close(mapped[0]);
        char byte = 0;
        if (read(ready[0], &byte, 1) != 1) exit_as(child);  // it failed and said why
        write_map(child, "uid_map", inside, outside, count);
        write_map(child, "gid_map", inside, outside, count);
        if (write(mapped[1], "m", 1) != 1) die("pipe");
        close(mapped[1]);
        exit_as(child);
    }
    close(ready[0]);
    close(mapped[1]);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("pdeathsig");
    if (unshare(CLONE_NEWUSER) != 0) die("unshare of a user namespace");
    if (write(ready[1], "r", 1) != 1) die("pipe");
    char byte = 0;
    if (read(mapped[0], &byte, 1) != 1) die("waiting for the id map");
    close(ready[1]);
    close(mapped[0]);
    // The namespace's root: its uid 0 is the host's OUTSIDE.
    if (setgroups(0, NULL) != 0) die("setgroups");
    if (setresgid(0, 0, 0) != 0) die("setresgid");
    if (setresuid(0, 0, 0) != 0) die("setresuid");
    // A change of the effective id clears the parent-death signal.
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("pdeathsig");
}

__attribute__((constructor)) static void strata_sandbox_main(int argc, char **argv, char **envp) {
    (void)envp;
    if (argc < 4 || strcmp(argv[1], "__strata-sandbox") != 0) return;
    int first = 2;
    if (strncmp(argv[2], "--ids=", 6) == 0) {
        if (argc < 5) {
            errno = EINVAL;
            die("usage: __strata-sandbox [--ids=0:OUTSIDE:COUNT] ROOT SCRIPT NAME=VALUE...");
        }
        enter_user_namespace(argv[2] + 6);
        first = 3;
    }
    const char *root = argv[first];
    const char *script = argv[first + 1];
    char **environment = argv + first + 2;  // NAME=VALUE..., ended by argv's NULL

    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) != 0) die("unshare");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child > 0) exit_as(child);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) die("pdeathsig");
    enter(root);
    pid_t shell = fork();
    if (shell < 0) die("fork");
    if (shell == 0) {
        drop_capabilities();
        close_descriptors();
        char *const args[] = {"/bin/sh", "-ec", (char *)script, NULL};
        execve("/bin/sh", args, environment);
        die("executing /bin/sh in the tree");
    }
    be_init(shell);
}
