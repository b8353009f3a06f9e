#!/bin/sh
# The preload exports exactly the hook table (preload/exports.txt): anything
# more would interpose on symbols of the host program by accident.
set -eu
lib=$1 want=$2
got=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TWDBiV]$/ {print $3}' | sed 's/@.*//' | sort)
if [ "$got" = "$(sort "$want")" ]; then
	echo "exports: exactly $(echo "$got" | tr '\n' ' ')"
	exit 0
fi
echo "exported symbols differ from $want:" >&2
echo "$got" | diff "$want" - >&2 || true
exit 1
