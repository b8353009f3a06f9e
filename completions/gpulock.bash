# bash completion for gpulock: its commands, their options and values, the
# shells of shell-init, and after run's or doctor's options the command with
# its own completion. Installed as bash-completion's completions/gpulock;
# it needs only bash.

# The command that starts at COMP_WORDS[$1], and its arguments:
# bash-completion's _command_offset where it is loaded; else the names of
# commands, then what the command's own completion spec gives, or file
# names. cpu_run.bash has the same function.
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

_gpulock()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands='run status wait shell-init preload-path doctor setup help'
	local opts with_value i
	COMPREPLY=()

	if ((COMP_CWORD == 1)); then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W '-h --help -V --version' -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		fi
		return
	fi
	# --opt=value: bash splits it at '=' (COMP_WORDBREAKS).
	if [[ $cur == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 1]} cur=
	elif [[ $prev == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	case ${COMP_WORDS[1]} in
	run)
		opts='-e --eager -t --timeout -n --no-wait -q --quiet -l --lock --gpus -h --help'
		with_value='-t --timeout -l --lock --gpus' ;;
	status)
		opts='-j --json -l --lock -d --slot-dir -h --help'
		with_value='-l --lock -d --slot-dir' ;;
	wait)
		opts='-t --timeout -q --quiet -l --lock -h --help'
		with_value='-t --timeout -l --lock' ;;
	doctor)
		opts='-l --lock -h --help'
		with_value='-l --lock' ;;
	setup)
		opts='-d --dir -s --slots -h --help'
		with_value='-d --dir -s --slots' ;;
	shell-init)
		if ((COMP_CWORD == 2)) && [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W '-h --help' -- "$cur")
		elif ((COMP_CWORD == 2)); then
			mapfile -t COMPREPLY < <(compgen -W 'bash zsh sh fish systemd' -- "$cur")
		fi
		return ;;
	preload-path)
		if ((COMP_CWORD == 2)); then
			mapfile -t COMPREPLY < <(compgen -W '-h --help' -- "$cur")
		fi
		return ;;
	help)
		if ((COMP_CWORD == 2)); then
			mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		fi
		return ;;
	*)
		return ;;
	esac

	# run and doctor take a command after their options: it starts after
	# "--" or at the first word that is not an option (getopt's "+").
	for ((i = 2; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--)
			[[ ${COMP_WORDS[1]} == run || ${COMP_WORDS[1]} == doctor ]] || return
			__gpulock_command_at $((i + 1))
			return ;;
		=) ((i++)) ;; # --opt = value
		-*)
			if [[ " $with_value " == *" ${COMP_WORDS[i]} "* && ${COMP_WORDS[i + 1]} != = ]]; then
				((i++))
			fi ;;
		*)
			[[ ${COMP_WORDS[1]} == run || ${COMP_WORDS[1]} == doctor ]] || return
			__gpulock_command_at "$i"
			return ;;
		esac
	done

	case $prev in
	-l | --lock)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return ;;
	-d | --slot-dir | --dir)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return ;;
	--gpus)
		mapfile -t COMPREPLY < <(compgen -W '1 2 3 4 5 6 7 8 all' -- "$cur")
		return ;;
	-s | --slots)
		mapfile -t COMPREPLY < <(compgen -W '3 4 8 16' -- "$cur")
		return ;;
	-t | --timeout)
		mapfile -t COMPREPLY < <(compgen -W 'forever' -- "$cur")
		return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
	elif [[ ${COMP_WORDS[1]} == run || ${COMP_WORDS[1]} == doctor ]]; then
		__gpulock_command_at "$COMP_CWORD"
	fi
}
complete -F _gpulock gpulock
