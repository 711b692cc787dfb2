# SPDX-License-Identifier: MIT
# bash completion for sonde: commands, each command's options (read from its
# --help, so they never drift), and the values the options take.

# Every option of `sonde CMD --help`.
_sonde_options()
{
	"$1" "$2" --help 2>/dev/null | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | tr -d ' ,' |
		sort -u
}

# The long options that take a value: "--title TEXT" in --help.
_sonde_takes_value()
{
	case $2 in
	-p | -d | -e | -F | -o | -f) return 0 ;;
	esac
	"$1" "$3" --help 2>/dev/null | grep -qE -- "(^|[ ,])$2 [A-Z]"
}

_sonde()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local sonde=${COMP_WORDS[0]} cmd=${COMP_WORDS[1]} i
	COMPREPLY=()

	if ((COMP_CWORD == 1)); then
		COMPREPLY=($(compgen -W "record trace llm report diff --help --version" -- "$cur"))
		return
	fi
	# After "--": the command to launch, then its own arguments (files).
	for ((i = 2; i < COMP_CWORD; i++)); do
		if [[ ${COMP_WORDS[i]} == -- ]]; then
			if ((i + 1 == COMP_CWORD)); then
				COMPREPLY=($(compgen -c -- "$cur"))
			else
				COMPREPLY=($(compgen -f -- "$cur"))
			fi
			return
		fi
	done
	case $prev in
	-o | --output | --spans)
		COMPREPLY=($(compgen -f -- "$cur"))
		return
		;;
	-p | --pid)
		COMPREPLY=($(compgen -W "$(ps -eo pid= 2>/dev/null)" -- "$cur"))
		return
		;;
	-e | --probe)
		COMPREPLY=($(compgen -W "cpu uprobe offcpu alloc faults tls" -- "$cur"))
		return
		;;
	--call-graph)
		COMPREPLY=($(compgen -W "dwarf fp" -- "$cur"))
		return
		;;
	--format)
		COMPREPLY=($(compgen -W "folded svg pprof" -- "$cur"))
		return
		;;
	--log-format)
		COMPREPLY=($(compgen -W "text json" -- "$cur"))
		return
		;;
	-*)
		# Any other option with a value (a number, a name): nothing to offer.
		_sonde_takes_value "$sonde" "$prev" "$cmd" && return
		;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_sonde_options "$sonde" "$cmd")" -- "$cur"))
		return
	fi
	case $cmd in
	report | diff)
		# Profiles and directories of profile windows.
		COMPREPLY=($(compgen -f -- "$cur"))
		;;
	esac
}
complete -F _sonde sonde
