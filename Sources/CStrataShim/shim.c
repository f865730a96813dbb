#define _GNU_SOURCE
#include "CStrataShim.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <signal.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

int strata_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

ssize_t strata_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}

ssize_t strata_flistxattr(int fd, char *list, size_t size) {
    return flistxattr(fd, list, size);
}

static int strata_signal_pipe = -1;

static void strata_signal_handler(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    if (strata_signal_pipe >= 0) (void)!write(strata_signal_pipe, &byte, 1);
    errno = saved;
}

int strata_signals_to_pipe(int fd, const int *signals, int count) {
    strata_signal_pipe = fd;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = strata_signal_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int i = 0; i < count; i++) {
        if (sigaction(signals[i], &action, NULL) != 0) return -1;
    }
    return 0;
}

static int strata_remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    (void)remove(path);
    return 0;
}

int strata_remove_tree(const char *path) {
    // nftw stops at a directory it cannot open (one something else removed meanwhile): go again.
    int result = -1;
    for (int attempt = 0; attempt < 3 && result != 0; attempt++) {
        result = nftw(path, strata_remove_entry, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        struct stat st;
        if (lstat(path, &st) != 0 && errno == ENOENT) return 0;
    }
    return result;
}

int strata_syncfs(int fd) {
    return syncfs(fd);
}

int strata_set_topdir(int fd) {
    int flags = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return -1;
    if (flags & FS_TOPDIR_FL) return 0;
    flags |= FS_TOPDIR_FL;
    return ioctl(fd, FS_IOC_SETFLAGS, &flags);
}

int strata_start_writeback(int fd) {
    return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}
