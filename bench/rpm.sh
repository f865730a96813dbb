#!/usr/bin/env bash
# bench/rpm.sh: time `strata build` of an RPM template against `dnf --installroot` of the same
# packages from the same loopback rpm-md repository, empty store and warm store, and print the
# times and their ratios (targets: warm ≤ 0.3× dnf, empty ≤ 0.7× dnf).
#
# The payload is realistic in size: every .deb of the debian/12 minbase lockfile (from
# `make demo`), turned into an .rpm by `alien -r` (no scripts: alien's conversion of Debian
# maintainer scripts calls dpkg), plus nothing else; createrepo_c makes the repository. The
# conversion is untimed and cached in CACHE (default /var/tmp/strata-bench-rpm), so a second run
# starts at once. Neither tool touches the network: the repository is served by
# `python3 -m http.server` on 127.0.0.1 (killed on exit; at most SERVER_TTL seconds).
#
# Usage:  bench/rpm.sh           (as root, on Debian 12)
#   RUNS=N        timed rounds (default 3)
#   STRATA_HOME   the store holding the minbase .debs (default /var/lib/strata); only read
#   STRATA        the strata binary (default .build/release/strata, built if missing)
#   LOCK          the debian/12 minbase lockfile (default out/debian-12-minbase-amd64.lock.json)
#
# Timed cases (wall time), every one writing an uncompressed tar of the tree:
#   dnf          dnf -y --installroot=R install <every package>, a fresh root and a fresh dnf cache
#                each run (it downloads from the loopback server and runs rpm), then tar of R
#   strata empty `strata build` into a fresh, empty store (fetch, import, compose, rpmdb, …)
#   strata warm  the same build again on that store with --rebuild (packages imported; every
#                stage runs again: without it, an unchanged rebuild only exports the commit)
set -euo pipefail
export LC_ALL=C

RUNS=${RUNS:-3}
SRC_STORE=${STRATA_HOME:-/var/lib/strata}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STRATA=${STRATA:-$REPO/.build/release/strata}
LOCK=${LOCK:-$REPO/out/debian-12-minbase-amd64.lock.json}
CACHE=${CACHE:-/var/tmp/strata-bench-rpm}
SERVER_TTL=${SERVER_TTL:-3600}

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/rpm.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (dnf --installroot and strata's overlay mounts need it)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
for tool in dnf alien createrepo_c rpm jq python3; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install dnf alien createrepo-c rpm jq"
done
[[ -f $LOCK ]] || die "$LOCK missing: run 'make demo' first (or set LOCK to a debian/12 minbase lockfile)"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench-rpm.XXXXXX")
SERVER_PID=''
cleanup() {
    [[ -z $SERVER_PID ]] || kill "$SERVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ ! -x $STRATA ]]; then
    say "building strata (swift build -c release --product strata; the first build takes minutes)"
    (cd "$REPO" && swift build -c release --product strata) >&2
fi
cp "$STRATA" "$TMP/strata"
S=$TMP/strata

# --- the repository (cached) ----------------------------------------------------------------------
REPODIR=$CACHE/repo
KEY=$(sha256sum "$LOCK" | cut -c1-16)
if [[ ! -f $CACHE/done-$KEY ]]; then
    say "converting the minbase .debs with alien -r into $CACHE (untimed, once)"
    rm -rf "$CACHE"
    mkdir -p "$REPODIR/Packages" "$CACHE/work" "$CACHE/home"
    # rpmbuild's generated requirements (rtld(GNU_HASH), perl(…)) name what only an rpm
    # distribution's glibc and perl provide: the request names every package, so none are needed.
    echo '%__requires_exclude ^.*$' >"$CACHE/home/.rpmmacros"
    while read -r name hex; do
        blob=$SRC_STORE/blobs/sha256/$hex
        [[ -f $blob ]] || die "the store $SRC_STORE lacks the .deb of $name (run 'make demo')"
        cp "$blob" "$CACHE/work/$name.deb"
        (cd "$CACHE/work" && HOME=$CACHE/home alien -r -k "$name.deb" >/dev/null 2>&1) || die "alien -r failed on $name"
        rm -f "$CACHE/work/$name.deb"
    done < <(jq -r '.packages[] | "\(.name) \(.sha256)"' "$LOCK")
    mv "$CACHE"/work/*.rpm "$REPODIR/Packages/"
    createrepo_c --quiet "$REPODIR" >&2
    touch "$CACHE/done-$KEY"
fi
mapfile -t NAMES < <(for f in "$REPODIR"/Packages/*.rpm; do rpm -qp --qf '%{NAME}\n' "$f" 2>/dev/null; done | sort -u)

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout "$SERVER_TTL" python3 -m http.server --bind 127.0.0.1 --directory "$REPODIR" "$PORT" \
    >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
LOOP=http://127.0.0.1:$PORT
for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('$LOOP/repodata/repomd.xml')" 2>/dev/null && break
    sleep 0.1
done

# --- the template and its lock (untimed) ----------------------------------------------------------
T=$TMP/templates/bench-el/1/config
mkdir -p "$T" "$TMP/out"
cat >"$T/template.yaml" <<EOF
family: rpm
distro: bench-el
version: "1"
repositories:
  - name: base
    url: $LOOP
    trusted: true
cleanup:
  - /var/log/dnf*
  - /var/cache/dnf/*
EOF
printf '%s\n' "${NAMES[@]}" >"$T/all.list"
SET_ARGS=(--set all --arch amd64 --templates "$TMP/templates")
"$S" lock bench-el/1 "${SET_ARGS[@]}" --store "$TMP/lock-store" -o "$TMP/all.lock.json" >&2 2>"$TMP/lock.log" ||
    { cat "$TMP/lock.log" >&2; die "strata lock failed"; }
rm -rf "$TMP/lock-store"
export SOURCE_DATE_EPOCH=$(jq -r '[.repositories[].date | fromdateiso8601] | max' "$TMP/all.lock.json")

run_strata() { # STORE [--rebuild]
    "$S" build bench-el/1 "${SET_ARGS[@]}" --store "$1" --lock "$TMP/all.lock.json" --locked "${@:2}" \
        -o "$TMP/out/strata.tar" >"$TMP/last.summary" 2>"$TMP/last.stderr" ||
        { cat "$TMP/last.stderr" >&2; die "strata build failed"; }
    rm -f "$TMP/out/strata.tar"
}
run_dnf() {
    local root=$TMP/dnf-root work=$TMP/dnf-work
    rm -rf "$root" "$work"
    mkdir -p "$root" "$work/cache" "$work/home"
    echo '%_dbpath /var/lib/rpm' >"$work/home/.rpmmacros"
    HOME=$work/home dnf -y -q --installroot="$root" --releasever=1 --setopt=reposdir=/dev/null \
        --setopt=cachedir="$work/cache" --setopt=persistdir="$work/persist" --setopt=install_weak_deps=True \
        --repofrompath=b,"$LOOP" --setopt=b.gpgcheck=0 --nogpgcheck install "${NAMES[@]}" >"$TMP/last.dnf" 2>&1 ||
        { tail -20 "$TMP/last.dnf" >&2; die "dnf failed"; }
    tar -C "$root" --xattrs --numeric-owner -cf "$TMP/out/dnf.tar" . 2>/dev/null
    rm -rf "$root" "$work" "$TMP/out/dnf.tar"
}
timed() { # ARRAY CMD…: run CMD, append its wall time in µs to ARRAY
    local -n into=$1
    shift
    local t0=$EPOCHREALTIME t1
    "$@"
    t1=$EPOCHREALTIME
    into+=($((${t1/./} - ${t0/./})))
}

echo "strata:  $("$S" --version) ($STRATA)"
echo "dnf:     $(dnf --version 2>/dev/null | head -1), rpm $(rpm --version | cut -d' ' -f3)"
echo "machine: $(nproc) CPUs, Debian $(cat /etc/debian_version), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "payload: ${#NAMES[@]} rpms (alien -r of the debian/12 minbase .debs), $(du -sb "$REPODIR/Packages" | cut -f1) bytes, on $LOOP"

say "timing: $RUNS rounds of dnf / strata empty store / strata warm store (order alternates)"
dnf_us=() empty_us=() warm_us=()
for ((i = 0; i < RUNS; i++)); do
    store=$TMP/store-$i
    ((i % 2 == 0)) && timed dnf_us run_dnf
    timed empty_us run_strata "$store"
    empty_line=$(cat "$TMP/last.summary")
    timed warm_us run_strata "$store" --rebuild
    warm_line=$(cat "$TMP/last.summary")
    ((i % 2 == 1)) && timed dnf_us run_dnf
    rm -rf "$store"
    printf 'round %d: dnf %.2f s, strata empty store %.2f s, warm store %.2f s; load average %s\n' $((i + 1)) \
        "$(awk -v u="${dnf_us[-1]}" 'BEGIN { print u / 1e6 }')" "$(awk -v u="${empty_us[-1]}" 'BEGIN { print u / 1e6 }')" \
        "$(awk -v u="${warm_us[-1]}" 'BEGIN { print u / 1e6 }')" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "strata empty store: $empty_line"
echo "strata warm store:  $warm_line"

# --- diagnostic run (untimed): strata's stages, timestamped ---------------------------------------
stages() { # STORE: one build with each stderr line prefixed by seconds since the start
    local t0 line
    t0=$EPOCHREALTIME
    { "$S" build bench-el/1 "${SET_ARGS[@]}" --store "$1" --lock "$TMP/all.lock.json" --locked --rebuild \
        -o "$TMP/out/strata.tar" 2>&1 1>&3 3>&- | while IFS= read -r line; do
        awk -v a="$t0" -v b="$EPOCHREALTIME" -v l="$line" 'BEGIN { printf "  %7.3f  %s\n", b - a, l }'
    done; } 3>&1
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "  %7.3f  (exit)\n", b - a }'
    rm -f "$TMP/out/strata.tar"
}
echo
echo "diagnostic (untimed): strata's stage lines, seconds since start; empty store, then warm"
stages "$TMP/store-diag"
echo "  --"
stages "$TMP/store-diag"
echo

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
dnf_m=$(median "${dnf_us[@]}")
empty_m=$(median "${empty_us[@]}")
warm_m=$(median "${warm_us[@]}")
awk -v d="$dnf_m" -v e="$empty_m" -v w="$warm_m" 'BEGIN {
    printf "median: dnf %.2f s, strata empty store %.2f s, strata warm store %.2f s\n", d / 1e6, e / 1e6, w / 1e6
    printf "ratio (strata / dnf): empty store %.3f (target <= 0.7: %s), warm store %.3f (target <= 0.3: %s)\n",
        e / d, (e / d <= 0.7 ? "MET" : "MISSED"), w / d, (w / d <= 0.3 ? "MET" : "MISSED")
}'
