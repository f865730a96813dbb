#include "CStrataShim.h"

#include <sys/xattr.h>

int strata_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

ssize_t strata_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}

ssize_t strata_flistxattr(int fd, char *list, size_t size) {
    return flistxattr(fd, list, size);
}
