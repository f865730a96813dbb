// libsolv, as StrataSolver uses it. Order matters: the repo_* headers need stdio.h and repo.h first.
#include <stdio.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repo_deb.h>
#include <solv/repo_rpmmd.h>
#include <solv/repo_repomdxml.h>
#include <solv/solver.h>
#include <solv/solverdebug.h>
#include <solv/selection.h>
#include <solv/transaction.h>
#include <solv/evr.h>
#include <solv/knownid.h>
#include <solv/solv_xfopen.h>
#include <solv/testcase.h>
