# bash completion for cpu_run: its options and their values, then the
# command with its own completion. Installed as bash-completion's
# completions/cpu_run; it needs only bash.

# The command that starts at COMP_WORDS[$1], and its arguments: as in
# gpulock.bash, which has the same function (each file is loaded alone).
__gpulock_command_at()
{
	local start=$1 cur=${COMP_WORDS[COMP_CWORD]} spec func
	if declare -F _command_offset >/dev/null; then
		_command_offset "$start"
		return
	fi
	if ((COMP_CWORD == start)); then
		mapfile -t COMPREPLY < <(compgen -c -- "$cur")
		return
	fi
	spec=$(complete -p -- "${COMP_WORDS[start]}" 2>/dev/null)
	if [[ $spec =~ " -F "([^ ]+) ]]; then
		func=${BASH_REMATCH[1]}
		# The command's function sees the line from the command on.
		local -a COMP_WORDS=("${COMP_WORDS[@]:start}")
		local COMP_CWORD=$((COMP_CWORD - start))
		"$func" "${COMP_WORDS[0]}" "$cur" "${COMP_WORDS[COMP_CWORD - 1]}"
	elif [[ -n $spec ]]; then
		# compgen takes complete's options: the spec less "complete" and the name
		spec=${spec#complete }
		eval "mapfile -t COMPREPLY < <(compgen ${spec% *} -- \"\$cur\")"
	else
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
	fi
}

_cpu_run()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} i
	# cpu_run --help, in its order
	local opts='-s --slots -t --threads -w --max-wait --on-timeout -d --slot-dir --mem-avail
		--mem-max --force-threads --no-force-threads --pin --no-pin --nice --ionice
		--no-ionice -q --quiet --no-quiet -h --help -V --version'
	local with_value=' -s --slots -t --threads -w --max-wait --on-timeout -d --slot-dir
		--mem-avail --mem-max --nice '
	COMPREPLY=()

	# --opt=value: bash splits it at '=' (COMP_WORDBREAKS).
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	# The command starts after "--" or at the first word that is not an
	# option: cpu_run's options stop there (getopt's "+").
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--)
			__gpulock_command_at $((i + 1))
			return ;;
		=) ((i++)) ;; # --opt = value
		-*)
			if [[ $with_value == *[[:space:]]"${COMP_WORDS[i]}"[[:space:]]* &&
				${COMP_WORDS[i + 1]} != = ]]; then
				((i++))
			fi ;;
		*)
			__gpulock_command_at "$i"
			return ;;
		esac
	done

	case $prev in
	--on-timeout)
		mapfile -t COMPREPLY < <(compgen -W 'run fail' -- "$cur")
		return ;;
	-d | --slot-dir)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return ;;
	-w | --max-wait)
		mapfile -t COMPREPLY < <(compgen -W 'forever' -- "$cur")
		return ;;
	-s | --slots | -t | --threads | --mem-avail | --mem-max | --nice)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
	else
		__gpulock_command_at "$COMP_CWORD"
	fi
}
complete -F _cpu_run cpu_run
