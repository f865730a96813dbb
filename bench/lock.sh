#!/usr/bin/env bash
# bench/lock.sh: time `strata lock debian/12 --set minbase` against `apt-get install --simulate`
# of the same request (mmdebstrap's minbase: Essential: yes + Priority: required of bookworm,
# plus apt), on the same indexes, on warm caches, and print the times and their ratios: strata's
# lock of unchanged inputs (a lookup of the lock it kept) and `strata lock --resolve` (solved).
#
# Usage:  bench/lock.sh            (as root, on Debian 12)
#   RUNS=N        timed runs of each tool, interleaved (default 10)
#   STRATA_HOME   the store to take the indexes from (default /var/lib/strata); only read,
#                 unless it lacks them (see below)
#   STRATA        the strata binary (default .build/release/strata, built if missing)
#   KEEP=1        keep the temp dir (mirror, store, apt state) to look at afterwards
#
# Neither tool touches the network while timed: the script builds a local mirror under a temp
# dir from the store's blobs (the signed InRelease files and the Packages.xz they name, both at
# their path and at by-hash/SHA256/), and points both tools at it with file:// URLs. Signatures
# are verified by both tools (same bytes as the real mirror). If the store lacks the indexes (or
# a stored InRelease has expired), one untimed `strata lock` against the host's mirrors (read from
# /etc/apt/sources.list.d/*.sources) fills it first, like an `apt-get update`.
# apt runs with a throwaway APT_CONFIG (empty status, private lists/cache, no host apt.conf.d),
# so the host's apt state is neither read nor changed. Installs nothing.
set -euo pipefail
export LC_ALL=C

RUNS=${RUNS:-10}
SRC_STORE=${STRATA_HOME:-/var/lib/strata}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STRATA=${STRATA:-$REPO/.build/release/strata}
TARGET=debian/12
SET=minbase
ARCH=amd64
SUITE=bookworm
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/lock.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (apt-get --simulate with a private state dir, and strata's store)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
command -v apt-get >/dev/null || die "apt-get not found: this bench runs on Debian 12"
[[ -r $KEYRING ]] || die "$KEYRING missing: apt-get install debian-archive-keyring"

TMP=$(mktemp -d /tmp/strata-bench-lock.XXXXXX)
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$TMP"' EXIT

# --- strata binary -------------------------------------------------------------------------
if [[ ! -x $STRATA ]]; then
    say "building strata (swift build -c release --product strata; the first build takes minutes)"
    (cd "$REPO" && swift build -c release --product strata) >&2
fi

# --- the host's mirrors (roles debian and debian-security) ----------------------------------
DEBIAN_URL='' SECURITY_URL=''
shopt -s nullglob
sources=(/etc/apt/sources.list.d/*.sources)
shopt -u nullglob
((${#sources[@]})) || die "no /etc/apt/sources.list.d/*.sources to read the mirrors from"
while read -r uri; do
    uri=${uri%/}
    case $uri in
    *-security) [[ -n $SECURITY_URL ]] || SECURITY_URL=$uri ;;
    *) [[ -n $DEBIAN_URL ]] || DEBIAN_URL=$uri ;;
    esac
done < <(awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "${sources[@]}")
[[ -n $DEBIAN_URL && -n $SECURITY_URL ]] ||
    die "the host's .sources files name no debian and debian-security mirrors (URIs:)"

# role  root-url  suite
REPOS=(
    "debian $DEBIAN_URL $SUITE"
    "debian $DEBIAN_URL $SUITE-updates"
    "debian-security $SECURITY_URL $SUITE-security"
)

# The blob path the store recorded for URL (urls/<sha256 of URL> -> {"sha256": …}).
stored_blob() { # STORE URL
    local record hex
    record="$1/urls/$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)"
    [[ -f $record ]] || return 1
    hex=$(sed -n 's/.*"sha256" *: *"\([0-9a-f]\{64\}\)".*/\1/p' "$record")
    [[ -n $hex && -f $1/blobs/sha256/$hex ]] || return 1
    printf '%s\n' "$1/blobs/sha256/$hex"
}

# "hex size path" for each entry of an InRelease's SHA256 section.
sha256_entries() { awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && NF == 3 && length($1) == 64' "$1"; }

# The store has the InRelease of every suite, unexpired, and the Packages.xz of main it names.
store_has_indexes() { # STORE
    local repo role url suite inrelease valid hex
    for repo in "${REPOS[@]}"; do
        read -r role url suite <<<"$repo"
        inrelease=$(stored_blob "$1" "$url/dists/$suite/InRelease") || return 1
        valid=$(sed -n 's/^Valid-Until: //p' "$inrelease" | head -n1)
        if [[ -n $valid ]] && (($(date -d "$valid" +%s) <= $(date +%s))); then return 1; fi
        hex=$(sha256_entries "$inrelease" | awk -v p="main/binary-$ARCH/Packages.xz" '$3 == p { print $1 }')
        [[ -n $hex && -f $1/blobs/sha256/$hex ]] || return 1
    done
}

if ! store_has_indexes "$SRC_STORE"; then
    say "the store $SRC_STORE lacks current $SUITE indexes: one untimed 'strata lock' against the host's mirrors fills it (~10 MB)"
    mkdir -p "$SRC_STORE"
    "$STRATA" lock "$TARGET" --set "$SET" --arch "$ARCH" --store "$SRC_STORE" --templates "$REPO/templates" \
        -o "$TMP/setup.lock.json" >&2
    store_has_indexes "$SRC_STORE" || die "the store still lacks the $SUITE indexes after 'strata lock'"
fi

# --- the local mirror, and a private copy of the store --------------------------------------
say "building a local file:// mirror and a private store under $TMP from $SRC_STORE"
MIRROR=$TMP/mirror
STORE=$TMP/store
mkdir -p "$STORE/blobs/sha256" "$STORE/cache/solv"
for repo in "${REPOS[@]}"; do
    read -r role url suite <<<"$repo"
    inrelease=$(stored_blob "$SRC_STORE" "$url/dists/$suite/InRelease")
    dists=$MIRROR/$role/dists/$suite
    mkdir -p "$dists"
    cp "$inrelease" "$dists/InRelease"
    while read -r hex size path; do
        blob=$SRC_STORE/blobs/sha256/$hex
        [[ -f $blob ]] || continue
        mkdir -p "$dists/$(dirname "$path")/by-hash/SHA256"
        cp "$blob" "$dists/$path"
        ln -f "$dists/$path" "$dists/$(dirname "$path")/by-hash/SHA256/$hex"
        cp "$blob" "$STORE/blobs/sha256/$hex"
        [[ ! -f $SRC_STORE/cache/solv/$hex.v1.solv ]] || cp "$SRC_STORE/cache/solv/$hex.v1.solv" "$STORE/cache/solv/"
    done < <(sha256_entries "$inrelease")
done

STRATA_CMD=("$STRATA" lock "$TARGET" --set "$SET" --arch "$ARCH" --store "$STORE" --templates "$REPO/templates"
    --mirror "debian=file://$MIRROR/debian" --mirror "debian-security=file://$MIRROR/debian-security"
    -o "$TMP/strata.lock.json")

# --- apt: a private configuration over the same mirror --------------------------------------
A=$TMP/apt
mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$A/etc/apt.conf.d" "$A/etc/preferences.d" \
    "$A/etc/sources.list.d" "$A/etc/trusted.gpg.d" "$A/log"
: >"$A/status"
for repo in "${REPOS[@]}"; do
    read -r role url suite <<<"$repo"
    echo "deb [signed-by=$KEYRING] file://$MIRROR/$role $suite main"
done >"$A/etc/sources.list"
cat >"$A/apt.conf" <<EOF
APT::Architecture "$ARCH";
APT::Architectures { "$ARCH"; };
APT::Install-Recommends "false";
APT::Install-Suggests "false";
APT::Sandbox::User "root";
Acquire::Languages "none";
Debug::NoLocking "1";
Dir::Etc "$A/etc/";
Dir::Etc::main "$A/etc/apt.conf";
Dir::Etc::parts "$A/etc/apt.conf.d/";
Dir::Etc::sourcelist "$A/etc/sources.list";
Dir::Etc::sourceparts "$A/etc/sources.list.d/";
Dir::Etc::preferences "$A/etc/preferences";
Dir::Etc::preferencesparts "$A/etc/preferences.d/";
Dir::Etc::trusted "$A/etc/trusted.gpg";
Dir::Etc::trustedparts "$A/etc/trusted.gpg.d/";
Dir::State "$A/state/";
Dir::State::lists "$A/state/lists/";
Dir::State::status "$A/status";
Dir::Cache "$A/cache/";
Dir::Cache::archives "$A/cache/archives/";
Dir::Log "$A/log/";
EOF
export APT_CONFIG=$A/apt.conf
# mmdebstrap's minbase request: Essential: yes or Priority: required in bookworm itself, and apt.
APT_REQUEST="?narrow(?or(?archive(^$SUITE\$),?codename(^$SUITE\$)),?architecture($ARCH),?or(?essential,?priority(required)))"
APT_CMD=(apt-get install --simulate -y -q "$APT_REQUEST" apt)

# --- warm-up (untimed) ------------------------------------------------------------------------
say "warm-up: apt-get update from the local mirror, one apt-get --simulate, one strata lock"
apt-get update -q >"$TMP/apt-update.log" 2>&1 || { cat "$TMP/apt-update.log" >&2; die "apt-get update failed"; }
if grep -qE '^(W|E|Err):' "$TMP/apt-update.log"; then cat "$TMP/apt-update.log" >&2; die "apt-get update warned"; fi
"${APT_CMD[@]}" >"$TMP/apt.out" 2>&1 || { cat "$TMP/apt.out" >&2; die "apt-get --simulate failed"; }
"${STRATA_CMD[@]}" >"$TMP/strata.out" 2>&1 || { cat "$TMP/strata.out" >&2; die "strata lock failed"; }

# The same answer: counts, and the names themselves.
# apt: "Inst NAME (VERSION …)"; strata: the name and version of each entry of "packages" in the
# lockfile (pretty-printed JSON, sorted keys).
apt_names=$(awk '$1 == "Inst" { print $2, substr($3, 2) }' "$TMP/apt.out" | sort -u)
strata_names=$(awk '
    /^  "packages" : \[/ { p = 1; next }
    p && /^  \]/ { p = 0 }
    p && /^      "(name|version)" : / { v = $3; gsub(/[",]/, "", v); f[$1] = v }
    p && /^    }/ { print f["\"name\""], f["\"version\""]; delete f }' "$TMP/strata.lock.json" | sort -u)
apt_count=$(grep -c . <<<"$apt_names")
strata_count=$(sed -n 's/.*: \([0-9][0-9]*\) packages,.*/\1/p' "$TMP/strata.out")
echo "strata: $(cat "$TMP/strata.out")"
echo "apt:    $apt_count Inst lines"
if [[ $apt_count == "$strata_count" && $apt_names == "$strata_names" ]]; then
    echo "same set: both choose the same $apt_count packages at the same versions"
else
    echo "DIFFERENT sets: strata $strata_count packages, apt $apt_count (name version; - apt only, + strata only):"
    diff <(echo "$apt_names") <(echo "$strata_names") | sed -n 's/^< /  - /p; s/^> /  + /p'
fi

# --- timed runs, interleaved (the order alternates) ---------------------------------------------
time_into() { # ARRAY CMD…: run CMD quietly, append its wall time in µs to ARRAY
    local -n into=$1
    shift
    local t0=$EPOCHREALTIME t1
    "$@" >/dev/null 2>&1 || die "failed during the timed runs: $*"
    t1=$EPOCHREALTIME
    into+=($((${t1/./} - ${t0/./})))
}
say "timing: $RUNS runs of each, interleaved"
# strata twice: the lock of unchanged inputs (a lookup, the warm-up kept it) and --resolve (solved).
lookup_us=() solve_us=() apt_us=()
for ((i = 0; i < RUNS; i++)); do
    if ((i % 2 == 0)); then
        time_into lookup_us "${STRATA_CMD[@]}"
        time_into solve_us "${STRATA_CMD[@]}" --resolve
        time_into apt_us "${APT_CMD[@]}"
    else
        time_into apt_us "${APT_CMD[@]}"
        time_into solve_us "${STRATA_CMD[@]}" --resolve
        time_into lookup_us "${STRATA_CMD[@]}"
    fi
done

# median and min of µs values, as seconds
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.3f %.3f %.3f\n", m / 1e6, v[1] / 1e6, v[NR] / 1e6 }'; }
read -r l_med l_min l_max < <(stats "${lookup_us[@]}")
read -r s_med s_min s_max < <(stats "${solve_us[@]}")
read -r a_med a_min a_max < <(stats "${apt_us[@]}")
ratio() { awk -v s="$1" -v a="$a_med" 'BEGIN { printf "%.2f", s / a }'; }
# The verdict compares the unrounded ratio, not the printed one.
verdict() { awk -v s="$1" -v a="$a_med" -v t="$2" 'BEGIN { print (s / a <= t ? "met" : "MISSED") }'; }
l_ratio=$(ratio "$l_med") s_ratio=$(ratio "$s_med")

echo
echo "machine: $(nproc) CPUs, Debian $(cat /etc/debian_version), $RUNS runs each, warm caches, file:// mirror"
printf '%-16s %10s %10s %10s\n' case median min max
printf '%-16s %8s s %8s s %8s s\n' "strata (lookup)" "$l_med" "$l_min" "$l_max" "strata --resolve" "$s_med" "$s_min" "$s_max" \
    apt "$a_med" "$a_min" "$a_max"
printf 'lock %s, unchanged inputs: strata %.3f s, apt %.2f s, ratio %s (target <= 0.15: %s)\n' \
    "$SET" "$l_med" "$a_med" "$l_ratio" "$(verdict "$l_med" 0.15)"
printf 'lock %s, solved (--resolve): strata %.3f s, apt %.2f s, ratio %s (target <= 1.0: %s)\n' \
    "$SET" "$s_med" "$a_med" "$s_ratio" "$(verdict "$s_med" 1.0)"
