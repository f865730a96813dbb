# bench/lib.sh: what bench/build.sh and bench/layer.sh share, sourced by them (BENCH names the
# script): the checks, a private copy of the strata binary, and the warm local cache: the files a
# debian/12 lockfile names (InRelease, Packages.xz also at by-hash/SHA256/, the .debs), taken from
# the store's blobs, one directory per distinct mirror URL of the lockfile (0, 1, …), served by
# `python3 -m http.server` on 127.0.0.1 (killed on exit; at most SERVER_TTL seconds). Then the
# timing and summary helpers.
# shellcheck shell=bash
RUNS=${RUNS:-3}
SRC_STORE=${STRATA_HOME:-/var/lib/strata}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STRATA=${STRATA:-$REPO/.build/release/strata}
LOCK=${LOCK:-$REPO/out/debian-12-minbase-amd64.lock.json}
SERVER_TTL=${SERVER_TTL:-3600}
TARGET=debian/12
ARCH=amd64
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/%s.sh: %s\n' "$BENCH" "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (mmdebstrap and strata's overlay mounts need it)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
for tool in mmdebstrap jq python3 xz; do
    command -v "$tool" >/dev/null || die "$tool not found: apt-get install $tool"
done
[[ -r $KEYRING ]] || die "$KEYRING missing: apt-get install debian-archive-keyring"
[[ -f $LOCK ]] || die "$LOCK missing: run 'make demo' first (or set LOCK to a debian/12 minbase lockfile)"
[[ -d $SRC_STORE/blobs/sha256 ]] || die "$SRC_STORE is not a strata store with blobs (run 'make demo')"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench-$BENCH.XXXXXX")
SERVER_PID=''
cleanup() {
    [[ -z $SERVER_PID ]] || kill "$SERVER_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- strata binary (a private copy) --------------------------------------------------------------
if [[ ! -x $STRATA ]]; then
    say "building strata (swift build -c release --product strata; the first build takes minutes)"
    (cd "$REPO" && swift build -c release --product strata) >&2
fi
cp "$STRATA" "$TMP/strata"
S=$TMP/strata

# --- the local server -----------------------------------------------------------------------------
MIRROR=$TMP/mirror
mkdir -p "$MIRROR" "$TMP/out"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
timeout "$SERVER_TTL" python3 -m http.server --bind 127.0.0.1 --directory "$MIRROR" "$PORT" \
    >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
LOOP=http://127.0.0.1:$PORT

# One directory per distinct URL of the lockfile, in order of first appearance; the template's
# roles: the URL of repository `security` is debian-security, the other one debian.
mapfile -t URLS < <(jq -r '[.repositories[].url] | reduce .[] as $u ([]; if index([$u]) then . else . + [$u] end) | .[]' "$LOCK")
((${#URLS[@]} == 2)) || die "$LOCK names ${#URLS[@]} mirror URLs; expected 2 (debian and debian-security)"
SEC_URL=$(jq -r '.repositories[] | select(.name == "security") | .url' "$LOCK")
for i in 0 1; do
    if [[ ${URLS[$i]} == "$SEC_URL" ]]; then SEC_DIR=$i; else DEB_DIR=$i; fi
done
[[ -n ${DEB_DIR:-} && -n ${SEC_DIR:-} ]] || die "cannot tell the debian and debian-security URLs of $LOCK apart"
MIRROR_ARGS=(--mirror "debian=$LOOP/$DEB_DIR" --mirror "debian-security=$LOOP/$SEC_DIR")
REAL_MIRROR_ARGS=(--mirror "debian=${URLS[$DEB_DIR]}" --mirror "debian-security=${URLS[$SEC_DIR]}")

# The mirror directory of each repository name, from the minbase lockfile ({"main": 0, …}).
DIRS=$(jq -c --argjson u "$(printf '%s\n' "${URLS[@]}" | jq -R . | jq -s .)" \
    '.repositories | map({key: .name, value: (.url as $x | $u | index($x))}) | from_entries' "$LOCK")

# A copy of lockfile IN whose repositories fetch from BASE_0 or BASE_1 (by their directory);
# configDigest and everything else unchanged.
rewrite_lock() { # IN OUT BASE_0 BASE_1
    jq --argjson d "$DIRS" --arg a "$3" --arg b "$4" '.repositories |= map(.url = ([$a, $b][$d[.name]]))' "$1" >"$2"
}

# "dir path sha256" for every file lockfile $1 names (dir: the mirror directory of its repository).
lock_files() { # LOCK
    jq -r --argjson d "$DIRS" '
        (.repositories[] | $d[.name] as $i
            | "\($i) \(.release.path) \(.release.sha256)", (.indexes[] | "\($i) \(.path) \(.sha256)")),
        (.packages[] | "\($d[.repository]) \(.path) \(.sha256)")' "$1"
}

# Serve the minbase files now (standard's lockfile is resolved against them).
place_files() { # LOCK
    local dir path hex blob dest
    while read -r dir path hex; do
        dest=$MIRROR/$dir/$path
        [[ -f $dest ]] && continue
        blob=$SRC_STORE/blobs/sha256/$hex
        [[ -f $blob ]] || { echo "$hex"; continue; }
        mkdir -p "$(dirname "$dest")"
        ln "$blob" "$dest" 2>/dev/null || cp "$blob" "$dest"
        if [[ $path == dists/*/binary-*/* || $path == dists/*/i18n/* ]]; then
            mkdir -p "$(dirname "$dest")/by-hash/SHA256"
            ln -f "$dest" "$(dirname "$dest")/by-hash/SHA256/$hex"
        fi
    done < <(lock_files "$1")
}
say "building the local cache under $TMP/mirror from $SRC_STORE, served on $LOOP"
missing=$(place_files "$LOCK")
[[ -z $missing ]] || die "the store $SRC_STORE lacks $(wc -l <<<"$missing") files of $LOCK (run 'make demo' again)"
for _ in $(seq 50); do
    python3 -c "import urllib.request; urllib.request.urlopen('$LOOP/$DEB_DIR/$(jq -r '.repositories[0].release.path' "$LOCK")')" \
        2>/dev/null && break
    sleep 0.1
done

# --- what both tools are given ---------------------------------------------------------------------
# Both stamp files with the newest index date of the lockfile (strata's default); mmdebstrap reads
# the local server through one source line per repository of the lockfile.
EPOCH=$(jq -r '[.repositories[].date | fromdateiso8601] | max' "$LOCK")
export SOURCE_DATE_EPOCH=$EPOCH
SOURCES=()
while read -r dir suite component; do
    SOURCES+=("deb [signed-by=$KEYRING] $LOOP/$dir $suite $component")
done < <(jq -r --argjson d "$DIRS" '.repositories[] | "\($d[.name]) \(.suite) \(.indexes[0].path | split("/")[2])"' "$LOCK")
SUITE=$(jq -r '.repositories[0].suite' "$LOCK")

# --- lockfiles against the local server ------------------------------------------------------------
SET_ARGS=(--arch "$ARCH" --templates "$REPO/templates")

# lock_served OUT NAME ARGS…: `strata lock $TARGET ARGS…` (a set and its options) against the local
# server, so it resolves from the minbase lockfile's index snapshot, written to OUT with the
# loopback URLs and its files served. When the store lacks some of its packages, one untimed
# `strata build` against the lockfile's own mirrors fetches them into SRC_STORE first.
lock_served() {
    local out=$1 what=$2 missing
    shift 2
    say "setup: strata lock $TARGET $* against the local server (the minbase lockfile's indexes)"
    rm -rf "$TMP/setup-store"
    mkdir -p "$TMP/setup-store"
    "$S" lock "$TARGET" "$@" "${SET_ARGS[@]}" --store "$TMP/setup-store" "${MIRROR_ARGS[@]}" \
        -o "$TMP/$what.orig.lock.json" >&2
    rewrite_lock "$TMP/$what.orig.lock.json" "$out" "$LOOP/0" "$LOOP/1"
    rm -rf "$TMP/setup-store"
    missing=$(place_files "$out")
    [[ -n $missing ]] || return 0
    say "setup: the store lacks $(wc -l <<<"$missing") packages of $what: one untimed 'strata build $*' against the lockfile's mirrors fetches them into $SRC_STORE"
    rewrite_lock "$out" "$TMP/$what.real.lock.json" "${URLS[0]}" "${URLS[1]}"
    "$S" build "$TARGET" "$@" "${SET_ARGS[@]}" --store "$SRC_STORE" "${REAL_MIRROR_ARGS[@]}" \
        --lock "$TMP/$what.real.lock.json" --locked -o "$TMP/out/setup.tar" >&2
    rm -f "$TMP/out/setup.tar"
    missing=$(place_files "$out")
    [[ -z $missing ]] || die "the store still lacks $(wc -l <<<"$missing") files of the $what lockfile"
}

# --- timing -------------------------------------------------------------------------------------------
timed() { # ARRAY CMD…: run CMD, append its wall time in µs to ARRAY
    local -n into=$1
    shift
    local t0=$EPOCHREALTIME t1
    "$@"
    t1=$EPOCHREALTIME
    into+=($((${t1/./} - ${t0/./})))
}
stats() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f %.2f %.2f\n", m / 1e6, v[1] / 1e6, v[NR] / 1e6 }'; }
ratio() { awk -v s="$1" -v a="$2" 'BEGIN { printf "%.3f", s / a }'; }
# The verdict compares the unrounded ratio (a printed 0.150 may be 0.1502, which misses 0.15).
verdict() { awk -v s="$1" -v a="$2" -v t="$3" 'BEGIN { print (s / a <= t ? "met" : "MISSED") }'; }
