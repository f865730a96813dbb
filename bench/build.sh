#!/usr/bin/env bash
# bench/build.sh: time `strata build debian/12 --set minbase` against `mmdebstrap --variant=minbase`
# of the same packages, both fetching through the same warm local cache, and print the times and
# their ratios. Also checks that building `standard` after `minbase` imports only the packages
# minbase lacks, and how much the store grows by doing so.
#
# Usage:  bench/build.sh           (as root, on Debian 12)
#   RUNS=N        timed runs of each case, interleaved (default 3)
#   STRATA_HOME   the store to take the indexes and packages from (default /var/lib/strata);
#                 only read, unless it lacks packages of `standard` (see below)
#   STRATA        the strata binary (default .build/release/strata, built if missing); the script
#                 runs a private copy of it, so a rebuild during the bench does not change it
#   LOCK          the minbase lockfile (default out/debian-12-minbase-amd64.lock.json, from
#                 `make demo`); it names every file the bench serves
#
# Neither tool touches the network while timed. The "warm local cache" is a directory under a
# temp dir holding exactly the files the minbase and standard lockfiles name (InRelease, the
# Packages.xz files, also at by-hash/SHA256/, and the .debs), one directory per distinct mirror
# URL of the lockfile (0, 1, …), taken from the store's blobs and served by
# `python3 -m http.server` on 127.0.0.1 (killed on exit; at most SERVER_TTL seconds).
# Setup, untimed: the standard lockfile is resolved by `strata lock` against that local server
# (the same index snapshot as the minbase lockfile, so both lockfiles agree on versions). If the
# store lacks some of standard's packages, one untimed `strata build --set standard` against the
# mirrors the minbase lockfile names fetches them into the store first (like `make demo` did
# for minbase). Nothing else is written outside the temp dir.
#
# Timed cases (wall time, bash $EPOCHREALTIME), all writing an uncompressed tar:
#   mmdebstrap   --variant=minbase bookworm, three source lines on the local server; it downloads
#                the .debs from the server on every run (its warm cache) and runs dpkg
#   strata empty `strata build` into a fresh, empty store (fetch from the server, import, …)
#   strata warm  the same command again on that store with --rebuild (packages imported, every
#                stage run again)
#   strata unchanged  the same command once more, without --rebuild: the lockfile and template
#                are the committed build's, so strata exports that commit (a lookup)
set -euo pipefail
export LC_ALL=C

BENCH=build
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- lockfiles ------------------------------------------------------------------------------------
L_MIN=$TMP/minbase.lock.json
L_STD=$TMP/standard.lock.json
rewrite_lock "$LOCK" "$L_MIN" "$LOOP/0" "$LOOP/1"
lock_served "$L_STD" standard --set standard

# --- the commands ---------------------------------------------------------------------------------
MM_CMD=(mmdebstrap --quiet --variant=minbase --architectures="$ARCH" "$SUITE" "$TMP/out/mmdebstrap.tar" "${SOURCES[@]}")
strata_cmd() { # STORE SET LOCK [--rebuild]
    printf '%s\0' "$S" build "$TARGET" --set "$2" "${SET_ARGS[@]}" --store "$1" "${MIRROR_ARGS[@]}" \
        --lock "$3" --locked -o "$TMP/out/strata.tar" "${@:4}"
}
run_strata() { # STORE SET LOCK: one build, its summary line into $TMP/last.summary
    local cmd
    mapfile -d '' -t cmd < <(strata_cmd "$@")
    "${cmd[@]}" >"$TMP/last.summary" 2>"$TMP/last.stderr" || { cat "$TMP/last.stderr" >&2; die "strata build failed: ${cmd[*]}"; }
}
run_mm() {
    "${MM_CMD[@]}" >"$TMP/last.mm" 2>&1 || { cat "$TMP/last.mm" >&2; die "mmdebstrap failed: ${MM_CMD[*]}"; }
}

echo "strata:     $("$S" --version) ($STRATA)"
echo "mmdebstrap: $(mmdebstrap --version)"
echo "machine:    $(nproc) CPUs, Debian $(cat /etc/debian_version), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cache:      $(find "$MIRROR" -type f -name '*.deb' | wc -l) .debs, $(du -sbL "$MIRROR" | cut -f1) bytes, on $LOOP"
echo "output:     uncompressed tar for both; SOURCE_DATE_EPOCH=$EPOCH"

# --- timed runs, interleaved ----------------------------------------------------------------------
say "timing: $RUNS rounds of mmdebstrap / strata empty store / strata warm store (order alternates)"
mm_us=() empty_us=() warm_us=() same_us=()
for ((i = 0; i < RUNS; i++)); do
    store=$TMP/store-$i
    mkdir -p "$store"
    if ((i % 2 == 0)); then
        timed mm_us run_mm
        rm -f "$TMP/out/mmdebstrap.tar"
    fi
    timed empty_us run_strata "$store" minbase "$L_MIN"
    empty_line=$(cat "$TMP/last.summary")
    rm -f "$TMP/out/strata.tar"
    timed warm_us run_strata "$store" minbase "$L_MIN" --rebuild
    warm_line=$(cat "$TMP/last.summary")
    rm -f "$TMP/out/strata.tar"
    timed same_us run_strata "$store" minbase "$L_MIN"
    same_line=$(cat "$TMP/last.summary")
    rm -f "$TMP/out/strata.tar"
    if ((i % 2 == 1)); then
        timed mm_us run_mm
        rm -f "$TMP/out/mmdebstrap.tar"
    fi
    ((i == RUNS - 1)) || rm -rf "$store"
    printf 'round %d: mmdebstrap %.2f s, strata empty store %.2f s, warm store %.2f s, unchanged %.2f s; load average %s\n' $((i + 1)) \
        "$(awk -v u="${mm_us[-1]}" 'BEGIN { print u / 1e6 }')" "$(awk -v u="${empty_us[-1]}" 'BEGIN { print u / 1e6 }')" \
        "$(awk -v u="${warm_us[-1]}" 'BEGIN { print u / 1e6 }')" "$(awk -v u="${same_us[-1]}" 'BEGIN { print u / 1e6 }')" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
done
WARM_STORE=$TMP/store-$((RUNS - 1))
echo "strata empty store: $empty_line"
echo "strata warm store:  $warm_line"
echo "strata unchanged:   $same_line"
echo "load average after the timed runs: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- standard after minbase -----------------------------------------------------------------------
# The packages standard adds: those of its lockfile whose .deb (sha256) minbase's lockfile lacks.
# Their Installed-Size (KiB) comes from the Packages.xz the lockfile names (the lockfile itself
# does not record it).
say "standard after minbase, on the warm minbase store"
jq -r '.packages[].sha256' "$L_MIN" | sort >"$TMP/min.sha"
jq -r '.packages[] | "\(.sha256) \(.name)"' "$L_STD" | sort >"$TMP/std.sha"
join -v 1 "$TMP/std.sha" "$TMP/min.sha" >"$TMP/added"
added=$(grep -c . "$TMP/added" || true)
jq -r '.repositories[].indexes[].sha256' "$L_STD" | while read -r hex; do
    xz -dc "$SRC_STORE/blobs/sha256/$hex"
    echo
done | awk '/^Installed-Size:/ { s = $2 } /^SHA256:/ { h = $2 } /^$/ { if (h != "") print h, s; h = ""; s = "" }' |
    sort -u -k1,1 >"$TMP/isize"
isize_kib=$(join "$TMP/added" "$TMP/isize" | awk '{ t += $3; n++ } END { printf "%d %d\n", t, n }')
read -r isize_kib isize_found <<<"$isize_kib"
((isize_found == added)) || die "found the Installed-Size of $isize_found of the $added added packages"
obj_before=$(du -sb "$WARM_STORE/objects" | cut -f1)
t0=$EPOCHREALTIME
run_strata "$WARM_STORE" standard "$L_STD"
t1=$EPOCHREALTIME
std_line=$(cat "$TMP/last.summary")
std_us=$((${t1/./} - ${t0/./}))
rm -f "$TMP/out/strata.tar"
obj_after=$(du -sb "$WARM_STORE/objects" | cut -f1)
std_imported=$(sed -n 's/.*(\([0-9][0-9]*\) newly imported).*/\1/p' <<<"$std_line")
echo "strata standard:    $std_line"

# --- diagnostic run (untimed): strata's stages, timestamped ---------------------------------------
stages() { # STORE: one minbase build with each stderr line prefixed by seconds since the start
    local cmd t0 line
    mapfile -d '' -t cmd < <(strata_cmd "$1" minbase "$L_MIN" --rebuild)
    t0=$EPOCHREALTIME
    { "${cmd[@]}" 2>&1 1>&3 3>&- | while IFS= read -r line; do
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$line" 'BEGIN { printf "  %7.3f  %s\n", b - a, l }'
    done; } 3>&1
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "  %7.3f  (exit)\n", b - a }'
    rm -f "$TMP/out/strata.tar"
}
echo
echo "diagnostic (untimed): strata's stage lines, seconds since start; empty store, then warm"
mkdir -p "$TMP/store-diag"
stages "$TMP/store-diag"
echo "  --"
stages "$TMP/store-diag"

# --- server check ---------------------------------------------------------------------------------
requests=$(grep -c '"GET ' "$TMP/server.log" || true)
not_ok=$(grep '"GET ' "$TMP/server.log" | grep -vc '" 200 ' || true)
echo
echo "local server: $requests requests, $not_ok not answered 200"
{ grep '"GET ' "$TMP/server.log" | grep -v '" 200 ' || true; } | sed -n 's/.*"GET \([^ ]*\) [^"]*" \([0-9]*\).*/  \2 \1/p' | sort | uniq -c | head -20

# --- results --------------------------------------------------------------------------------------
read -r mm_med mm_min mm_max < <(stats "${mm_us[@]}")
read -r e_med e_min e_max < <(stats "${empty_us[@]}")
read -r w_med w_min w_max < <(stats "${warm_us[@]}")
read -r u_med u_min u_max < <(stats "${same_us[@]}")
r_e=$(ratio "$e_med" "$mm_med")
r_w=$(ratio "$w_med" "$mm_med")
r_u=$(ratio "$u_med" "$mm_med")
isize_b=$((isize_kib * 1024))
grew=$((obj_after - obj_before))

echo
echo "machine: $(nproc) CPUs, Debian $(cat /etc/debian_version), $RUNS runs each, load average now $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %8s %8s %8s\n' case median min max
printf '%-20s %6s s %6s s %6s s\n' mmdebstrap "$mm_med" "$mm_min" "$mm_max" \
    "strata empty store" "$e_med" "$e_min" "$e_max" "strata warm store" "$w_med" "$w_min" "$w_max" \
    "strata unchanged" "$u_med" "$u_min" "$u_max"
printf 'build minbase: warm store strata %s s, mmdebstrap %s s, ratio %s (target <= 0.15: %s)\n' \
    "$w_med" "$mm_med" "$r_w" "$(verdict "$w_med" "$mm_med" 0.15)"
printf 'build minbase: empty store, warm cache strata %s s, mmdebstrap %s s, ratio %s (target <= 0.4: %s)\n' \
    "$e_med" "$mm_med" "$r_e" "$(verdict "$e_med" "$mm_med" 0.4)"
printf 'build minbase: unchanged rebuild strata %s s (the committed tree exported), mmdebstrap %s s, ratio %s (target <= 0.05: %s)\n' \
    "$u_med" "$mm_med" "$r_u" "$(verdict "$u_med" "$mm_med" 0.05)"
printf 'build standard after minbase: %s s; %s packages added, %s newly imported (target: only those: %s)\n' \
    "$(awk -v u="$std_us" 'BEGIN { printf "%.2f", u / 1e6 }')" "$added" "${std_imported:-?}" \
    "$([[ ${std_imported:-x} == "$added" ]] && echo met || echo MISSED)"
printf 'build standard after minbase: objects/ grew %d bytes; Installed-Size of the added packages %d KiB = %d bytes; growth/size %s (target <= 1: %s)\n' \
    "$grew" "$isize_kib" "$isize_b" "$(ratio "$grew" "$isize_b")" "$( ((grew <= isize_b)) && echo met || echo MISSED)"
