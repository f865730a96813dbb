#!/usr/bin/env bash
# contrib/install-check.sh (make test): `make install` into a temporary DESTDIR with PREFIX=/usr,
# then check what it promises: the binary runs and finds the installed template tree, there is a
# man page for every command and each renders without warnings (`man -l`), the completions and the
# unit are there and the unit names the installed binary. Fails saying what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DEST=$(mktemp -d "${TMPDIR:-/tmp}/strata-install.XXXXXX")
trap 'rm -rf "$DEST"' EXIT
fail() { printf 'install-check: %s\n' "$*" >&2; exit 1; }

make --no-print-directory install DESTDIR="$DEST" PREFIX=/usr UNITDIR=/usr/lib/systemd/system >"$DEST.log" 2>&1 ||
    { cat "$DEST.log" >&2; rm -f "$DEST.log"; fail "make install failed"; }
rm -f "$DEST.log"
P=$DEST/usr
[[ -x $P/bin/strata ]] || fail "no $P/bin/strata"
"$P/bin/strata" --version >/dev/null || fail "the installed binary does not run"
# The tree an installed binary looks for beside it (PREFIX/share/strata/templates).
[[ -f $P/share/strata/templates/debian/config/minbase.list ]] || fail "the template tree is not installed"
# Every subcommand the binary lists has a page, and every page renders.
commands=$("$P/bin/strata" --help | awk '/^SUBCOMMANDS:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ && seen { exit } on { seen = 1 }')
[[ -n $commands ]] || fail "could not read the subcommands from strata --help"
[[ -f $P/share/man/man1/strata.1 ]] || fail "no strata.1"
for command in $commands; do
    [[ -f $P/share/man/man1/strata.$command.1 ]] || fail "no man page for strata $command"
done
day=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}" '+%B %-d, %Y')
pages=0
for page in "$P"/share/man/man1/*.1; do
    warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null) || fail "man -l $page failed"
    [[ -z $warnings ]] || fail "man -l $page warns: $warnings"
    MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q . || fail "man -l $page renders nothing"
    grep -qx "\.Dd $day" "$page" || fail "$page is not dated $day (the last commit, or SOURCE_DATE_EPOCH)"
    pages=$((pages + 1))
done
for file in share/bash-completion/completions/strata share/zsh/site-functions/_strata share/fish/vendor_completions.d/strata.fish \
    share/doc/strata/README.md lib/systemd/system/strata-proxy.service; do
    [[ -s $P/$file ]] || fail "no $P/$file"
done
grep -q '^ExecStart=/usr/bin/strata proxy' "$P/lib/systemd/system/strata-proxy.service" || fail "the unit does not name /usr/bin/strata"
bash -n "$P/share/bash-completion/completions/strata" || fail "the bash completion does not parse"
echo "install-check: $pages man pages render, $(wc -w <<<"$commands") commands each have one; binary, templates, completions, docs and unit installed"
