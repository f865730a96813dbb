#!/usr/bin/env bash
# bench/proxy.sh: the same wrk load against `strata proxy`, apt-cacher-ng and nginx, all serving
# the same cached files on 127.0.0.1, for a large .deb (48 MiB), a small .deb (10 KiB) and an
# index (InRelease, ~160 kB): req/s, MB/s and the ratios, the upstream requests each proxy made
# during each run, and the proxy's peak RSS. Then a miss workload: 200 distinct uncached .debs
# (64 KiB-1 MiB) fetched through strata and through apt-cacher-ng, total time and ratio.
#
# Usage:  bench/proxy.sh        (root only to install wrk, nginx-light or apt-cacher-ng if missing)
#   STRATA      the strata binary (default .build/release/strata; never built here, a private copy
#               is run). Without a working `strata proxy` it measures nginx and apt-cacher-ng only.
#   DURATION    seconds of each wrk run (default 10);  CONNS  connection counts (default "16 64")
#   INDEX_TTL   strata's --index-ttl and apt-cacher-ng's FreshIndexMaxAge (default 300)
#   SERVER_TTL  no server started here lives longer than this many seconds (default 1800)
#
# Everything is on 127.0.0.1 under a temp dir, removed at exit; no real mirror is named or used.
# - Files: random bytes in a Debian layout (debian/pool/..., debian/dists/bookworm/InRelease).
# - nginx: one process (worker_processes 1, sendfile, tcp_nopush, keepalive_requests 100000) with
#   two servers on that tree: the reference (access_log off) and the proxies' upstream, whose
#   access log counts the upstream requests.
# - apt-cacher-ng: a minimal private config (not a copy of /etc/apt-cacher-ng: no mirror list),
#   `Remap-debrep: /debian ; http://127.0.0.1:UP/debian/`, started in the foreground.
# - strata: `proxy --backend debian=http://127.0.0.1:UP/debian --index-ttl INDEX_TTL`, with its
#   access log written to a file (the nginx reference logs nothing; apt-cacher-ng its own log).
# - Clients use path-mapped URLs http://127.0.0.1:PORT/debian/... everywhere. Each proxy is warmed
#   by fetching every file twice (checked byte for byte). Timed: per workload (index first, so its
#   runs stay inside INDEX_TTL of the warm-up) and per CONNS, `wrk -t2` against nginx,
#   apt-cacher-ng, strata in turn. req/s counts 2xx responses only; errs = non-2xx + socket errors.
set -euo pipefail
export LC_ALL=C

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STRATA=${STRATA:-$REPO/.build/release/strata}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16 64}
INDEX_TTL=${INDEX_TTL:-300}
SERVER_TTL=${SERVER_TTL:-1800}
MISS=200

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench/proxy.sh: %s\n' "$*" >&2; exit 1; }

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive integer, not '$DURATION'"
for c in $CONNS; do [[ $c =~ ^[1-9][0-9]*$ ]] && ((c >= 2)) || die "CONNS must be integers >= 2, not '$CONNS'"; done
MAXC=$(tr ' ' '\n' <<<"$CONNS" | sort -n | tail -n1)
(($(wc -w <<<"$CONNS") * 3 * DURATION + 60 < INDEX_TTL)) ||
    say "warning: the index runs may outlast INDEX_TTL=$INDEX_TTL s after the warm-up (revalidations would count)"

# --- tools: install what is missing (a temporary policy-rc.d keeps apt-cacher-ng's service off) ---
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v apt-cacher-ng >/dev/null || need+=(apt-cacher-ng)
if ((${#need[@]})); then
    [[ $(id -u) -eq 0 ]] || die "${need[*]} missing: run as root to have them installed, or apt-get install them"
    say "installing ${need[*]} with apt-get (their services are not started)"
    rcd=''
    [[ -e /usr/sbin/policy-rc.d ]] || { rcd=/usr/sbin/policy-rc.d && printf '#!/bin/sh\nexit 101\n' >"$rcd" && chmod +x "$rcd"; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2 ||
        { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2; }
    [[ -z $rcd ]] || rm -f "$rcd"
fi

TMP=$(mktemp -d /tmp/strata-bench-proxy.XXXXXX)
chmod 755 "$TMP" # nginx's worker (nobody) reads the tree
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start() { # LOG CMD…: run CMD in the background for at most SERVER_TTL s (timeout passes SIGTERM on)
    local log=$1
    shift
    timeout "$SERVER_TTL" "$@" >"$log" 2>&1 &
    PIDS+=($!)
}
wait_up() { # NAME URL
    for _ in $(seq 100); do curl -s -o /dev/null "$2" && return; sleep 0.1; done
    die "$1 did not answer on $2 (log: $(tail -n3 "$TMP/$1.log" 2>/dev/null))"
}

# --- the files --------------------------------------------------------------------------------------
D=$TMP/tree/debian
BIG=pool/main/b/big/big_1.0_amd64.deb SMALL=pool/main/s/small/small_1.0_amd64.deb INDEX=dists/bookworm/InRelease
say "making the files under $TMP/tree (48 MiB, 10 KiB, ~160 kB index, $MISS miss files)"
mkdir -p "$D/${BIG%/*}" "$D/${SMALL%/*}" "$D/${INDEX%/*}" "$D/pool/main/m/miss"
head -c 48M /dev/urandom >"$D/$BIG"
head -c 10240 /dev/urandom >"$D/$SMALL"
{ printf 'Origin: Debian\nCodename: bookworm\nDate: %s\nSHA256:\n' "$(date -uR)"
  head -c 48000 /dev/urandom | od -An -tx1 -v -w32 | tr -d ' ' |
      awk '{ printf " %s %8d main/binary-amd64/Packages-%d.xz\n", $1, 1000 * NR + 17, NR }'; } >"$D/$INDEX"
for ((i = 1; i <= MISS; i++)); do head -c $(((64 + i * 37 % 961) * 1024)) /dev/urandom >"$D/pool/main/m/miss/miss-${i}_1.0_amd64.deb"; done
(cd "$D/pool/main/m/miss" && sha256sum -- *) >"$TMP/miss.sha256"

# --- nginx: reference (NG) and upstream (UP) ---------------------------------------------------------
PORTS=() # four distinct free ports, below 32768: apt-cacher-ng 3.7 cannot bind above (it logs
while ((${#PORTS[@]} < 4)); do # "Error resolving address for binding: Success" and keeps running)
    p=$((20000 + RANDOM % 12000))
    [[ " ${PORTS[*]} " != *" $p "* ]] && ! ss -Htln "sport = :$p" | grep -q . && PORTS+=("$p")
done
NG=${PORTS[0]} UP=${PORTS[1]} AP=${PORTS[2]} SP=${PORTS[3]}
UPLOG=$TMP/nginx/upstream.log
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<EOF
worker_processes 1; daemon off; pid $TMP/nginx/nginx.pid; error_log $TMP/nginx/error.log;
events { worker_connections 4096; }
http {
    sendfile on; tcp_nopush on; keepalive_requests 100000; access_log off;
    default_type application/octet-stream;
    client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx; fastcgi_temp_path $TMP/nginx;
    uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
    server { listen 127.0.0.1:$NG; root $TMP/tree; }
    server { listen 127.0.0.1:$UP; root $TMP/tree; access_log $UPLOG; }
}
EOF
start "$TMP/nginx.log" nginx -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf"
wait_up nginx "http://127.0.0.1:$NG/debian/$SMALL"
upcount() { wc -l <"$UPLOG" 2>/dev/null || echo 0; }

# --- apt-cacher-ng ------------------------------------------------------------------------------------
mkdir -p "$TMP/acng/conf" "$TMP/acng/cache" "$TMP/acng/log"
cat >"$TMP/acng/conf/acng.conf" <<EOF
CacheDir: $TMP/acng/cache
LogDir: $TMP/acng/log
SupportDir: /usr/lib/apt-cacher-ng
SocketPath: $TMP/acng/socket
Remap-debrep: /debian ; http://127.0.0.1:$UP/debian/
FreshIndexMaxAge: $INDEX_TTL
EOF
start "$TMP/acng.log" apt-cacher-ng -c "$TMP/acng/conf" ForeGround=1 Port="$AP" BindAddress=127.0.0.1
wait_up acng "http://127.0.0.1:$AP/"

# --- strata proxy (a private copy of the binary) -----------------------------------------------------
SERVERS=(nginx acng)
declare -A BASE=([nginx]=http://127.0.0.1:$NG/debian [acng]=http://127.0.0.1:$AP/debian)
SPID='' help=''
[[ ! -x $STRATA ]] || help=$("$STRATA" proxy serve --help 2>&1; "$STRATA" proxy --help 2>&1) || true
if [[ $help == *--listen* ]]; then
    cp "$STRATA" "$TMP/strata"
    start "$TMP/strata.log" "$TMP/strata" proxy --listen "127.0.0.1:$SP" --cache "$TMP/strata-cache" \
        --backend "debian=http://127.0.0.1:$UP/debian" --index-ttl "$INDEX_TTL" --access-log "$TMP/strata-access.log"
    wait_up strata "http://127.0.0.1:$SP/metrics"
    SPID=$(pgrep -P "${PIDS[-1]}" | head -n1) || die "cannot find the pid of strata proxy (child of ${PIDS[-1]})"
    SERVERS+=(strata) BASE[strata]=http://127.0.0.1:$SP/debian
else
    say "strata proxy not available ($STRATA): measuring nginx and apt-cacher-ng only"
fi

echo "machine:  $(nproc) CPUs, Debian $(cat /etc/debian_version), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $(nginx -v 2>&1 | sed 's/.*: //'), apt-cacher-ng $(dpkg-query -W -f '${Version}' apt-cacher-ng 2>/dev/null)," \
    "wrk $(dpkg-query -W -f '${Version}' wrk 2>/dev/null), strata $([[ -n $SPID ]] && "$TMP/strata" --version || echo '-')"
echo "ports:    nginx $NG, upstream $UP, apt-cacher-ng $AP, strata $SP; wrk -t2 -d${DURATION}s -c{$CONNS}"

# --- warm-up: every file twice through each server, byte for byte; upstream hits of the 2nd round ---
for s in "${SERVERS[@]}"; do
    for round in 1 2; do
        n0=$(upcount) hdr=''
        for rel in "$INDEX" "$SMALL" "$BIG"; do
            curl -sSf -D "$TMP/h" -o "$TMP/got" "${BASE[$s]}/$rel" || die "$s: GET /debian/$rel failed"
            cmp -s "$TMP/got" "$D/$rel" || die "$s: /debian/$rel differs from the file served"
            hdr+=" $(tr -d '\r' <"$TMP/h" | sed -n 's/^[Xx]-[Ss]trata-[Cc]ache: *//p')"
        done
    done
    hdr=$(xargs <<<"$hdr")
    echo "warm-up:  $s serves all 3 files intact; 2nd round: $(($(upcount) - n0)) upstream requests${hdr:+, X-Strata-Cache: $hdr}"
done

# --- timed wrk runs -------------------------------------------------------------------------------------
declare -A RPS MBS ERR UPS
declare -A REL=([index]=$INDEX [small]=$SMALL [large]=$BIG)
# strata's peak RSS (kB, VmHWM): over the warm-up; over its runs at MAXC connections (reset before
# each run by writing 5 to /proc/PID/clear_refs); over the miss workload
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/${SPID:-none}/status" 2>/dev/null || echo 0; }
reset_hwm() { { echo 5 >"/proc/$SPID/clear_refs"; } 2>/dev/null || say "strata (pid $SPID) is gone"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
WARM_HWM=$(hwm) HWM=0
run_wrk() { # SERVER WORKLOAD CONNS
    local key=$1,$2,$3 out n0
    n0=$(upcount)
    [[ $1 != strata || $3 != "$MAXC" ]] || reset_hwm
    out=$(wrk -t2 -c"$3" -d"${DURATION}s" --timeout 10s "${BASE[$1]}/${REL[$2]}")
    UPS[$key]=$(($(upcount) - n0))
    if [[ $1 == strata && $3 == "$MAXC" ]]; then
        local h
        h=$(hwm)
        ((h <= HWM)) || HWM=$h
    fi
    read -r RPS[$key] MBS[$key] ERR[$key] < <(awk '
        / requests in / { n = $1; t = $4; sub(/s,$/, "", t) }
        /Non-2xx/ { non = $NF; bad += $NF }
        /Socket errors/ { for (i = 4; i <= NF; i += 2) { v = $i; sub(/,/, "", v); bad += v } }
        /^Transfer\/sec:/ { v = $2; match(v, /[A-Z]+$/); u = substr(v, RSTART); x = substr(v, 1, RSTART - 1)
            m = u == "KB" ? 1024 : u == "MB" ? 1048576 : u == "GB" ? 1073741824 : u == "TB" ? 1099511627776 : 1; mb = x * m / 1e6 }
        END { printf "%.0f %.1f %d\n", (n - non) / t, mb, bad }' <<<"$out")
}
WORKLOADS=(index small large)
for w in "${WORKLOADS[@]}"; do
    for c in $CONNS; do
        for s in "${SERVERS[@]}"; do
            say "wrk $w -c$c against $s"
            run_wrk "$s" "$w" "$c"
        done
    done
done

# --- the table ------------------------------------------------------------------------------------------
declare -A TARGET=([index]=0.5 [small]=0.5 [large]=0.8)
r() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf (a / b < 0.1 ? "%.3f" : "%.2f"), a / b }'; }
echo
printf '%-6s %5s | %9s %8s | %9s %8s %6s %5s | %9s %8s %6s %5s | %7s %6s | %s\n' workld conns \
    'nginx r/s' 'MB/s' 'acng r/s' 'MB/s' errs upstr 'strata r/s' 'MB/s' errs upstr 's/nginx' 's/acng' target
for w in "${WORKLOADS[@]}"; do
    for c in $CONNS; do
        n=nginx,$w,$c a=acng,$w,$c t=strata,$w,$c verdict='-'
        if [[ -n $SPID ]]; then
            verdict=$(awk -v r="$(r "${RPS[$t]}" "${RPS[$n]}")" -v g="${TARGET[$w]}" -v u="${UPS[$t]}" -v i="$w" \
                'BEGIN { ok = r >= g && (i != "index" || u == 0); printf "%s (>= %sx nginx%s)", ok ? "met" : "MISSED", g, i == "index" ? ", 0 upstream" : "" }')
        fi
        printf '%-6s %5s | %9s %8s | %9s %8s %6s %5s | %9s %8s %6s %5s | %7s %6s | %s\n' "$w" "$c" "${RPS[$n]}" "${MBS[$n]}" \
            "${RPS[$a]}" "${MBS[$a]}" "${ERR[$a]}" "${UPS[$a]}" "${RPS[$t]:--}" "${MBS[$t]:--}" "${ERR[$t]:--}" "${UPS[$t]:--}" \
            "$(r "${RPS[$t]:-}" "${RPS[$n]}")" "$(r "${RPS[$t]:-}" "${RPS[$a]}")" "$verdict"
    done
done
echo "(r/s: 2xx responses per second; errs: non-2xx responses + socket errors; upstr: requests the proxy sent upstream during the run)"
echo
# --- miss workload: MISS distinct uncached files, 16 at a time (one curl --parallel) --------------------
declare -A MISS_S
for s in "${SERVERS[@]:1}"; do
    mkdir -p "$TMP/miss-$s"
    for ((i = 1; i <= MISS; i++)); do
        printf 'url = "%s/pool/main/m/miss/miss-%d_1.0_amd64.deb"\noutput = "%s/miss-%d_1.0_amd64.deb"\n' "${BASE[$s]}" "$i" "$TMP/miss-$s" "$i"
    done >"$TMP/miss-$s.curl"
    say "miss workload through $s"
    [[ $s != strata ]] || reset_hwm
    n0=$(upcount) t0=$EPOCHREALTIME
    curl -s --parallel --parallel-max 16 -K "$TMP/miss-$s.curl" -w '%{http_code}\n' >"$TMP/miss-$s.codes" 2>/dev/null || true
    t1=$EPOCHREALTIME
    MISS_S[$s]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    good=$(cd "$TMP/miss-$s" && sha256sum -c "$TMP/miss.sha256" 2>/dev/null | grep -c ': OK$' || true)
    printf 'miss %-6s: %d files (%s MB) in %s s; %d of %d intact; %d upstream requests; responses: %s\n' "$s" "$MISS" \
        "$(du -sb "$D/pool/main/m/miss" | awk '{ printf "%.0f", $1 / 1e6 }')" "${MISS_S[$s]}" "$good" "$MISS" \
        "$(($(upcount) - n0))" "$(sort "$TMP/miss-$s.codes" | uniq -c | awk '{ printf "%s%d with status %s", (NR > 1 ? ", " : ""), $1, $2 }')"
    rm -rf "$TMP/miss-$s"
done
[[ -z $SPID ]] || printf 'miss total time strata/acng: %s\n' "$(r "${MISS_S[strata]}" "${MISS_S[acng]}")"

if [[ -n $SPID ]]; then
    printf 'strata proxy peak RSS: %s at %s connections (target < 100 MiB: %s); %s over the warm-up, %s over the miss workload\n' \
        "$(mib "$HWM")" "$MAXC" "$( ((HWM < 102400)) && echo met || echo MISSED)" "$(mib "$WARM_HWM")" "$(mib "$(hwm)")"
    echo "strata /metrics at the end (hits, misses, revalidations, upstream):"
    curl -s "http://127.0.0.1:$SP/metrics" | grep -E '^strata_proxy_(cache_hits|cache_misses|revalidations|upstream)' | sed 's/^/  /' || true
    echo "strata access log: $(wc -l <"$TMP/strata-access.log" 2>/dev/null || echo 0) lines"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
