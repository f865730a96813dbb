// libarchive, as StrataArchive uses it.
#include <archive.h>
#include <archive_entry.h>
