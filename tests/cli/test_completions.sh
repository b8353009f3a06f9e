#!/bin/sh
# The completions in the real shell, installed under the names each shell
# looks for, in a directory of the test's own:
#   test_completions.sh bash|zsh|fish|bash-completion SRC GPULOCK CPU_RUN
# bash: the function called with COMP_WORDS and COMP_CWORD set, as bash
# calls it; bash-completion: the same, loaded by bash-completion's own
# loader (its _command_offset then completes the command; the script is
# /usr/share/bash-completion/bash_completion, or GL_BASH_COMPLETION); zsh:
# an interactive zsh in a pseudo-terminal (zsh/zpty), with compadd printing
# what it is given; fish: complete -C. Each line's completions must be
# exactly the ones listed, or include them; every long option of the
# --help texts must be offered. Skipped (77) where the shell is missing.
# Every shell runs under timeout; HOME and the XDG directories are the
# test's, which it removes.
set -eu
mode=$1 src=$2 gpulock=$3 cpu_run=$4
# absolute: the shells run in the test's directory
for v in src gpulock cpu_run; do
	eval "case \$$v in /*) ;; *) $v=\$PWD/\$$v ;; esac"
done
shell=$mode
bash_completion=${GL_BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}
[ "$mode" = bash-completion ] && shell=bash
if ! command -v "$shell" >/dev/null 2>&1; then
	echo "SKIP: $shell is not installed (scripts/setup installs it)"
	exit 77
fi
if [ "$mode" = bash-completion ] && [ ! -f "$bash_completion" ]; then
	echo "SKIP: bash-completion is not installed ($bash_completion)"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gl-compl-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
export HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/data" XDG_CONFIG_HOME="$tmp/home/config"
export XDG_CACHE_HOME="$tmp/home/cache" XDG_DATA_DIRS="$tmp/share:/usr/share"
unset ZDOTDIR BASH_COMPLETION_USER_DIR
mkdir -p "$HOME" "$tmp/bin" "$tmp/share/bash-completion/completions" "$tmp/zsh" \
	"$tmp/share/fish/vendor_completions.d"
cp "$src/gpulock.bash" "$tmp/share/bash-completion/completions/gpulock"
cp "$src/cpu_run.bash" "$tmp/share/bash-completion/completions/cpu_run"
cp "$src/_gpulock" "$src/_cpu_run" "$tmp/zsh/"
cp "$src/gpulock.fish" "$src/cpu_run.fish" "$tmp/share/fish/vendor_completions.d/"
# fish loads a command's completions only when it finds the command
for p in gpulock cpu_run glcmd; do
	printf '#!/bin/sh\nexit 0\n' >"$tmp/bin/$p"
	chmod +x "$tmp/bin/$p"
done
export PATH="$tmp/bin:/usr/bin:/bin"
cd "$tmp" # file names complete from here
failed=0

# The bash driver: the line split into words as bash splits it (at spaces,
# and at '=' by COMP_WORDBREAKS), the last one being completed.
cat >"$tmp/complete.bash" <<'EOF'
mode=$1 dir=$2 line=$3
if [ "$mode" = bash-completion ]; then
	source "$4"
	# called here, not by readline: compopt would say so on every call
	compopt() { builtin compopt "$@" 2>/dev/null; }
	# loaded on first use from XDG_DATA_DIRS, as installed
	__load_completion gpulock && __load_completion cpu_run || exit 3
else
	source "$dir/gpulock"
	source "$dir/cpu_run"
fi
complete -W 'alpha beta' glcmd
words=()
for w in $line; do
	if [[ $w == *=* ]]; then
		words+=("${w%%=*}" =)
		[[ -n ${w#*=} ]] && words+=("${w#*=}")
	else
		words+=("$w")
	fi
done
[[ $line == *' ' ]] && words+=('')
COMP_WORDS=("${words[@]}")
COMP_CWORD=$((${#words[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMPREPLY=()
spec=$(complete -p -- "${words[0]}")
func=${spec#* -F }
func=${func%% *}
"$func" "${words[0]}" "${words[COMP_CWORD]}" "${words[COMP_CWORD - 1]}"
printf '%s\n' "${COMPREPLY[@]}"
EOF

# The zsh driver: an interactive zsh in a pseudo-terminal, sourcing init,
# then the line and a TAB; what it prints until it exits.
cat >"$tmp/drive.zsh" <<'EOF'
zmodload zsh/zpty || exit 3
zpty gl zsh -f -i
zpty -w gl "source ${(q)1}"
zpty -r gl out '*<gl-ready>*' || exit 3
zpty -w -n gl "$2"$'\t'
while zpty -r gl chunk; do print -rn -- $chunk; done
EOF
cat >"$tmp/init.zsh" <<EOF
PS1= PROMPT= RPROMPT=
fpath=(${tmp}/zsh \$fpath)
autoload -Uz compinit && compinit -u -D
_glcmd() { compadd alpha beta }
compdef _glcmd glcmd
EOF
cat >>"$tmp/init.zsh" <<'EOF'
# Print each match rather than insert or list it: compadd takes the
# matches into an array (-A), as matched against the word; the inner shell
# exits once completion is done. Calls that ask for arrays themselves pass.
compadd() {
	if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
		builtin compadd "$@"
		return
	fi
	local -a __gl_hits
	builtin compadd -A __gl_hits "$@"
	(( $#__gl_hits )) || return 1
	print -rl -- '' "<gl-match>"${^__gl_hits}
}
_gl_done() { print -r -- '<gl-end>'; exit }
comppostfuncs=(_gl_done)
print -r -- '<gl-ready>'
EOF

# completions_of LINE: the completions at its end, one a line, sorted, unique.
completions_of() {
	case $mode in
	bash | bash-completion)
		timeout 30 bash --norc --noprofile "$tmp/complete.bash" "$mode" \
			"$tmp/share/bash-completion/completions" "$1" "$bash_completion" ;;
	zsh)
		timeout 30 zsh -f "$tmp/drive.zsh" "$tmp/init.zsh" "$1" | tr -d '\r' |
			sed -n 's/^<gl-match>//p' ;;
	fish)
		# shellcheck disable=SC2016 # $argv is fish's
		timeout 30 fish -c 'complete -c glcmd -xa "alpha beta"; complete -C $argv[1]' "$1" |
			cut -f1 ;;
	esac | LC_ALL=C sort -u
}

# exactly LINE WORDS: the completions are exactly WORDS.
exactly() {
	got=$(completions_of "$1" | tr '\n' ' ')
	if [ "$got" != "$2 " ]; then
		echo "FAIL: $mode: '$1' gave [$(printf %s "$got" | cut -c1-300)], not [$2 ]"
		failed=1
	fi
}

# including LINE WORDS: the completions include each of WORDS.
including() {
	got=$(completions_of "$1")
	for w in $2; do
		if ! printf '%s\n' "$got" | grep -qxF -- "$w"; then
			echo "FAIL: $mode: '$1' lacks $w; it gave [$(printf %s "$got" | tr '\n' ' ' | cut -c1-300)]"
			failed=1
		fi
	done
}

# The long options of a --help text (those its option lines start with,
# not those its prose names, such as status's "run --gpus queue"), one a
# line; none is a failure.
long_options() {
	help=$("$@" --help) || { echo "FAIL: $* --help failed" >&2; exit 1; }
	# the options' own lines ("  -l, --lock PATH", "      --json"), not
	# the prose that names another command's ("the run --gpus queue")
	printf '%s\n' "$help" | grep -E '^ +(-[a-zA-Z], )?--[a-z]' |
		grep -o -- '--[a-z][a-z-]*' | LC_ALL=C sort -u | grep . ||
		{ echo "FAIL: $* --help names no long option" >&2; exit 1; }
}

exactly 'gpulock st' 'status'
exactly 'gpulock ' 'doctor help preload-path run setup shell-init status wait'
exactly 'gpulock shell-init ' 'bash fish sh systemd zsh'
exactly 'gpulock help p' 'preload-path'
exactly 'gpulock status --' '--help --json --lock --slot-dir'
exactly 'gpulock setup --' '--dir --help --slots'
exactly 'gpulock setup --slots ' '16 3 4 8'
exactly 'gpulock run --gpus ' '1 2 3 4 5 6 7 8 all'
exactly 'gpulock run -- glcmd ' 'alpha beta'
exactly 'gpulock run -q glcmd b' 'beta'
exactly 'gpulock run -t 5 -- glcmd a' 'alpha'
exactly 'gpulock doctor -- glcmd a' 'alpha'
including 'gpulock run -- gre' 'grep'
including 'gpulock run -l x gre' 'grep'
for cmd in run status wait doctor setup; do
	opts=$(long_options "$gpulock" "$cmd") || failed=1
	including "gpulock $cmd --" "$opts"
done
opts=$(long_options "$cpu_run") || failed=1
exactly 'cpu_run --' "$(printf '%s\n' "$opts" | tr '\n' ' ' | sed 's/ $//')"
including 'cpu_run --' '--slots --threads --max-wait --on-timeout --mem-avail --no-pin'
exactly 'cpu_run --on-timeout ' 'fail run'
exactly 'cpu_run -t 4 glcmd ' 'alpha beta'
exactly 'cpu_run --pin -- glcmd b' 'beta'
including 'cpu_run gre' 'grep'
including 'cpu_run -s 2 --nice 5 gre' 'grep'

if [ "$mode" = bash ] || [ "$mode" = bash-completion ]; then
	# registered under the name bash-completion loads, for the command
	# shellcheck disable=SC2016 # $1 and $2 are the inner bash's
	got=$(timeout 30 bash --norc --noprofile -c '. "$1"; . "$2"; complete -p gpulock cpu_run' _ \
		"$tmp/share/bash-completion/completions/gpulock" \
		"$tmp/share/bash-completion/completions/cpu_run")
	want=$(printf 'complete -F _gpulock gpulock\ncomplete -F _cpu_run cpu_run')
	[ "$got" = "$want" ] || { echo "FAIL: complete -p gave [$got]"; failed=1; }
fi
[ $failed = 0 ] && echo "completions in $mode: OK"
exit $failed
