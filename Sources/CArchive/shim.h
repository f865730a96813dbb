// libarchive, as StrataArchive uses it.
#include <archive.h>
#include <archive_entry.h>
#include <string.h>

// archive_set_error is variadic (not callable from Swift): a write callback's failure, as errno.
static inline void strata_archive_set_errno(struct archive *a, int error) {
    archive_set_error(a, error, "%s", strerror(error));
}
