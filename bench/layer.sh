#!/usr/bin/env bash
# bench/layer.sh: time `strata layer debian/12/minbase/amd64 --add curl` onto a built minbase against
# `mmdebstrap --variant=minbase --include=curl` and against the from-scratch `strata build --set
# minbase --include curl` of the same packages, all fetching through the same warm local cache
# (bench/lib.sh), and print the times and their ratios. Targets (issue 13): the layer <= 0.1x
# mmdebstrap and <= 0.3x the from-scratch strata build. Also says whether the layer's tar is
# byte-identical to the from-scratch build's.
#
# Usage:  bench/layer.sh           (as root, on Debian 12)
#   RUNS=N        timed runs of each case, interleaved (default 3)
#   ADD=PKG       the package layered (default curl)
#   STRATA_HOME, STRATA, LOCK   as for bench/build.sh (the minbase lockfile of `make demo`)
#
# Setup, untimed: the lockfile of minbase+ADD is resolved by `strata lock --include` against the
# local server (the minbase lockfile's index snapshot); if the store lacks ADD's packages, one
# untimed `strata build --include ADD` against the lockfile's mirrors fetches them into the store
# (as bench/build.sh does for standard). A bench store in the temp dir then gets minbase built and
# ADD's packages imported (an untimed from-scratch build), so every timed strata run is warm.
#
# Timed cases (wall time), all writing an uncompressed tar, SOURCE_DATE_EPOCH the lockfile's newest
# index date:
#   mmdebstrap       --variant=minbase --include=ADD from the local server (downloads every run)
#   strata build     `strata build --set minbase --include ADD --rebuild`: every stage run again
#   strata layer     `strata layer debian/12/minbase/amd64 --add ADD --rebuild`: resolve onto the
#                    base, checkout, compose, configure ADD's packages, export+commit
#   layer unchanged  the same without --rebuild: the committed layer is exported (a lookup)
set -euo pipefail
export LC_ALL=C

BENCH=layer
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ADD=${ADD:-curl}
[[ $ADD =~ ^[a-z0-9][a-z0-9+.-]+$ ]] || die "ADD must be a Debian package name, not '$ADD'"

# --- lockfiles ------------------------------------------------------------------------------------
L_MIN=$TMP/minbase.lock.json
L_INC=$TMP/include.lock.json
rewrite_lock "$LOCK" "$L_MIN" "$LOOP/0" "$LOOP/1"
lock_served "$L_INC" "minbase+$ADD" --set minbase --include "$ADD"
layered=$(join -v 1 <(jq -r '.packages[].name' "$L_INC" | sort) <(jq -r '.packages[].name' "$L_MIN" | sort) | tr '\n' ' ')

# --- the commands ---------------------------------------------------------------------------------
MM_CMD=(mmdebstrap --quiet --variant=minbase --include="$ADD" --architectures="$ARCH" "$SUITE" "$TMP/out/mmdebstrap.tar" "${SOURCES[@]}")
STORE=$TMP/store
BUILD_CMD=("$S" build "$TARGET" --set minbase --include "$ADD" "${SET_ARGS[@]}" --store "$STORE" "${MIRROR_ARGS[@]}"
    --lock "$L_INC" --locked -o "$TMP/out/build.tar")
LAYER_CMD=("$S" layer "$TARGET/minbase/$ARCH" --add "$ADD" --templates "$REPO/templates" --store "$STORE" "${MIRROR_ARGS[@]}"
    -o "$TMP/out/layer.tar")
run() { # NAME CMD…: one run, its summary line into $TMP/NAME.summary
    local name=$1
    shift
    "$@" >"$TMP/$name.summary" 2>"$TMP/$name.stderr" || { cat "$TMP/$name.stderr" >&2; die "failed: $*"; }
}

say "setup: minbase built and the $ADD packages imported in the bench store (untimed)"
run setup "$S" build "$TARGET" --set minbase "${SET_ARGS[@]}" --store "$STORE" "${MIRROR_ARGS[@]}" \
    --lock "$L_MIN" --locked -o "$TMP/out/minbase.tar"
run build "${BUILD_CMD[@]}"
run layer "${LAYER_CMD[@]}"
build_sha=$(sha256sum "$TMP/out/build.tar" | cut -d' ' -f1)
layer_sha=$(sha256sum "$TMP/out/layer.tar" | cut -d' ' -f1)
rm -f "$TMP/out/"*.tar

echo "strata:     $("$S" --version) ($STRATA)"
echo "mmdebstrap: $(mmdebstrap --version)"
echo "machine:    $(nproc) CPUs, Debian $(cat /etc/debian_version), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "layered:    $ADD: $(wc -w <<<"$layered") packages onto minbase ($layered)"
echo "output:     uncompressed tar for all; SOURCE_DATE_EPOCH=$EPOCH"

# --- timed runs, interleaved ----------------------------------------------------------------------
say "timing: $RUNS rounds of mmdebstrap / strata build / strata layer / unchanged layer (mmdebstrap first, then last)"
mm_us=() build_us=() layer_us=() same_us=()
for ((i = 0; i < RUNS; i++)); do
    if ((i % 2 == 0)); then timed mm_us run mm "${MM_CMD[@]}"; fi
    timed build_us run build "${BUILD_CMD[@]}" --rebuild
    timed layer_us run layer "${LAYER_CMD[@]}" --rebuild
    timed same_us run same "${LAYER_CMD[@]}"
    if ((i % 2 == 1)); then timed mm_us run mm "${MM_CMD[@]}"; fi
    rm -f "$TMP/out/"*.tar
    printf 'round %d: mmdebstrap %.2f s, strata build %.2f s, strata layer %.2f s, unchanged layer %.2f s; load average %s\n' \
        $((i + 1)) "$(awk -v u="${mm_us[-1]}" 'BEGIN { print u / 1e6 }')" "$(awk -v u="${build_us[-1]}" 'BEGIN { print u / 1e6 }')" \
        "$(awk -v u="${layer_us[-1]}" 'BEGIN { print u / 1e6 }')" "$(awk -v u="${same_us[-1]}" 'BEGIN { print u / 1e6 }')" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "strata build:    $(cat "$TMP/build.summary")"
echo "strata layer:    $(cat "$TMP/layer.summary")"
echo "                 $(grep '^stages:' "$TMP/layer.stderr" || true)"
echo "layer unchanged: $(cat "$TMP/same.summary")"

# --- results --------------------------------------------------------------------------------------
read -r mm_med mm_min mm_max < <(stats "${mm_us[@]}")
read -r b_med b_min b_max < <(stats "${build_us[@]}")
read -r l_med l_min l_max < <(stats "${layer_us[@]}")
read -r u_med u_min u_max < <(stats "${same_us[@]}")
echo
echo "machine: $(nproc) CPUs, Debian $(cat /etc/debian_version), $RUNS runs each, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %8s %8s %8s\n' case median min max
printf '%-20s %6s s %6s s %6s s\n' mmdebstrap "$mm_med" "$mm_min" "$mm_max" "strata build" "$b_med" "$b_min" "$b_max" \
    "strata layer" "$l_med" "$l_min" "$l_max" "layer unchanged" "$u_med" "$u_min" "$u_max"
printf 'layer %s onto minbase: strata layer %s s, mmdebstrap --include %s s, ratio %s (target <= 0.1: %s)\n' \
    "$ADD" "$l_med" "$mm_med" "$(ratio "$l_med" "$mm_med")" "$(verdict "$l_med" "$mm_med" 0.1)"
printf 'layer %s onto minbase: strata layer %s s, from-scratch strata build %s s, ratio %s (target <= 0.3: %s)\n' \
    "$ADD" "$l_med" "$b_med" "$(ratio "$l_med" "$b_med")" "$(verdict "$l_med" "$b_med" 0.3)"
printf 'layer %s onto minbase: unchanged layer %s s (the committed layer exported)\n' "$ADD" "$u_med"
printf 'layer %s onto minbase: the layer'"'"'s tar is %s the from-scratch build'"'"'s (%s, %s)\n' "$ADD" \
    "$([[ $layer_sha == "$build_sha" ]] && echo "byte-identical to" || echo "NOT identical to")" "${layer_sha:0:16}" "${build_sha:0:16}"
