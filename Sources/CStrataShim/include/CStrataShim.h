// Syscalls the Swift Glibc module does not export. Each symbol is prefixed strata_ and names the
// syscall it wraps and the oldest kernel that has it; all return -1 and set errno on failure.
#ifndef CSTRATASHIM_H
#define CSTRATASHIM_H

#include <stddef.h>
#include <sys/types.h>

/// fsetxattr(2), Linux 2.4: sets extended attribute `name` on an open file (flags 0: create or replace).
int strata_fsetxattr(int fd, const char *name, const void *value, size_t size);
/// syncfs(2): flush the whole file system holding `fd` (glibc declares it only with _GNU_SOURCE).
int strata_syncfs(int fd);
/// sync_file_range(2) with SYNC_FILE_RANGE_WRITE over the whole file: start writing it out, do not wait.
int strata_start_writeback(int fd);
/// ioctl(FS_IOC_GETFLAGS / FS_IOC_SETFLAGS), Linux 2.6: adds FS_TOPDIR_FL to the directory `fd`
/// (ext2/3/4 then spread its new subdirectories over block groups, as for top-level ones). 0 when
/// it is set or was already; -1 with errno (ENOTTY, EOPNOTSUPP: a file system without the flag).
int strata_set_topdir(int fd);

/// fgetxattr(2), Linux 2.4: the value of `name`; with size 0, the size it needs.
ssize_t strata_fgetxattr(int fd, const char *name, void *value, size_t size);

/// flistxattr(2), Linux 2.4: the names of an open file's attributes, each NUL-terminated.
ssize_t strata_flistxattr(int fd, char *list, size_t size);

/// sigaction(2), POSIX: installs a handler for each of `signals` that writes the signal's number as
/// one byte to `fd` (write(2) is async-signal-safe), so a thread reading `fd` can act on it. A
/// handler, unlike SIG_IGN, is reset to the default in programs the process executes.
int strata_signals_to_pipe(int fd, const int *signals, int count);

/// nftw(3) with FTW_DEPTH | FTW_PHYS | FTW_MOUNT, POSIX: removes `path` and everything below it,
/// children first, never following a symlink nor entering another file system; errors on single
/// entries are skipped (what remains stays). Uses only syscalls, so it may run while the process
/// is being torn down.
int strata_remove_tree(const char *path);

/// The first argument that makes this executable, run again, the script sandbox (sandbox.c):
/// `EXE __strata-sandbox [--ids=0:OUTSIDE:COUNT] ROOT SCRIPT NAME=VALUE...` runs `/bin/sh -ec SCRIPT` with the tree as the
/// root of new namespaces (a user namespace with that map first), capabilities cut, no_new_privs, no inherited descriptors.
const char *strata_sandbox_argument(void);

#endif
