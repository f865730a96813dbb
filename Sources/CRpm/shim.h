// librpm, as StrataRPM uses it: reading a package's lead, signature and header (rpmReadPackageFile),
// and the header's tags through headerGet, rpmtd and rpmfiles. Nothing here installs or writes.
#include <rpm/rpmlib.h>
#include <rpm/header.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmtd.h>
#include <rpm/rpmfiles.h>
#include <rpm/rpmds.h>
#include <rpm/rpmts.h>
#include <rpm/rpmkeyring.h>
#include <rpm/rpmcrypto.h>
#include <rpm/rpmio.h>
#include <rpm/rpmlog.h>

// RPMVSF_MASK_NOSIGNATURES is an or of enum constants, a macro Swift does not import.
static inline rpmVSFlags strata_rpm_vsflags_no_signatures(void) { return RPMVSF_MASK_NOSIGNATURES; }
