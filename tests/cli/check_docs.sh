#!/bin/sh
# The documentation says what gpulock does, the same everywhere.
#   check_docs.sh sources SRC GPULOCK
#     the shells shell-init takes are listed the same in its help, in
#     gpulock(1) and in the README; no page sends the reader to the README,
#     which is not installed.
#   check_docs.sh pages SRC MAN_DIR LIBDIR
#     the built pages, as man(1) shows them: every line of an EXAMPLES block
#     on a line of its own; paths from this build's prefix and libdir; and a
#     build with -Dprefix=/opt/x names /opt/x. Skipped (77) without man,
#     scdoc or meson.
set -eu
mode=$1 src=$2
fail() {
	echo "check_docs: $*" >&2
	exit 1
}

if [ "$mode" = sources ]; then
	gpulock=$3
	shells='[bash|zsh|sh|fish|systemd]'
	"$gpulock" --help | grep -qF "shell-init $shells" || fail "gpulock --help lists other shells"
	"$gpulock" shell-init --help | grep -qF "shell-init $shells" ||
		fail "gpulock shell-init --help lists other shells"
	grep -qF "shell-init* [*bash*|*zsh*|*sh*|*fish*|*systemd*]" "$src/doc/gpulock.1.scd" ||
		fail "gpulock.1.scd lists other shells"
	grep -qF "gpulock shell-init $shells" "$src/README.md" || fail "README.md lists other shells"
	for listed in $(grep -ho 'shell-init[]*]* *\[[^]]*\]' "$src/README.md" "$src/doc/gpulock.1.scd" |
		sed 's/.*\[//; s/\]//; s/\*//g'); do
		[ "$listed" = "bash|zsh|sh|fish|systemd" ] || fail "a shell list reads [$listed]"
	done
	if grep -n -i 'readme' "$src"/doc/*.scd; then
		fail "a man page refers to the README, which is not installed"
	fi
	echo "check_docs: shells listed alike; no page refers to the README"
	exit 0
fi

[ "$mode" = pages ] || fail "unknown mode $mode"
man_dir=$3 libdir=$4
for tool in man scdoc meson ninja; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gl-docs-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# render DIR PAGE: the page as man shows it, wide, without overstriking.
render() {
	MANWIDTH=200 MAN_KEEP_FORMATTING=0 man -l "$1/$2" 2>/dev/null | col -bx
}

for page in gpulock.1 cpu_run.1 gpulock-preload.7; do
	[ -f "$man_dir/$page" ] || fail "$man_dir/$page was not built"
	render "$man_dir" "$page" >"$tmp/$page.txt"
	# Each line of an EXAMPLES block is a line of its own.
	sed -n '/^# EXAMPLES/,/^# /p' "$src/doc/$page.scd" | sed '1d; /^#/d; /^```/d; /^$/d' |
		while IFS= read -r line; do
			sed 's/^ *//' "$tmp/$page.txt" | grep -qxF -- "$line" ||
				fail "$page: the example '$line' is not a line of its own"
		done
	if grep -n '@[A-Z_]*@' "$tmp/$page.txt"; then
		fail "$page: a path was not configured"
	fi
done
grep -qF "LD_PRELOAD=$libdir/libgpulock_preload.so" "$tmp/gpulock-preload.7.txt" ||
	fail "gpulock-preload.7 does not name $libdir"
grep -qF "$libdir/libgpulock_preload.so" "$tmp/gpulock.1.txt" || fail "gpulock.1 does not name $libdir"

# Another prefix, other paths: only the pages are built.
meson setup "$tmp/b" "$src" -Dprefix=/opt/x -Dtests=false -Dman=enabled >"$tmp/setup.log" 2>&1 ||
	fail "meson setup -Dprefix=/opt/x failed: $(tail -5 "$tmp/setup.log")"
ninja -C "$tmp/b" doc/gpulock.1 doc/gpulock-preload.7 doc/cpu_run.1 >"$tmp/ninja.log" 2>&1 ||
	fail "building the pages failed: $(tail -5 "$tmp/ninja.log")"
for page in gpulock.1 gpulock-preload.7; do
	render "$tmp/b/doc" "$page" >"$tmp/x.txt"
	grep -q '/opt/x/[^ ]*libgpulock_preload\.so' "$tmp/x.txt" || fail "$page built for /opt/x does not name /opt/x"
	if grep -n '/usr/local' "$tmp/x.txt"; then
		fail "$page built for /opt/x names /usr/local"
	fi
done
echo "check_docs: examples line by line; paths from the prefix ($libdir; /opt/x)"
