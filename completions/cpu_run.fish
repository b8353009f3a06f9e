# fish completion for cpu_run: its options (cpu_run --help, in its order)
# and their values, then the command with its own completion.

# The words of the command cpu_run runs, the one being typed last: they
# start after "--" or at the first word that is not an option (getopt's
# "+"). Nothing (status 1) while cpu_run's own words are being typed.
function __cpu_run_command_words
    set -l words (commandline -opc)
    set -l i 2
    while test $i -le (count $words)
        switch $words[$i]
            case --
                set i (math $i + 1)
                break
            case -s --slots -t --threads -w --max-wait --on-timeout -d --slot-dir --mem-avail --mem-max --nice
                set i (math $i + 2)
            case '-*'
                set i (math $i + 1)
            case '*'
                break
        end
    end
    set words $words (commandline -ct)
    # the word being typed is the first: an option of cpu_run's, unless after --
    if test $i -eq (count $words); and test "$words[-2]" != --
        string match -q -- '-*' $words[-1]; and return 1
    end
    test $i -le (count $words); or return 1
    printf '%s\n' $words[$i..-1]
end

function __cpu_run_complete_command
    set -l words (__cpu_run_command_words)
    # the typed words, quoted again; the one being typed as it is
    complete --do-complete=(string join ' ' -- (string escape -- $words[1..-2]) (commandline -ct))
end

complete -c cpu_run -f
set -l own 'not __cpu_run_command_words >/dev/null'
complete -c cpu_run -n $own -s s -l slots -x -d 'Jobs at once, machine-wide'
complete -c cpu_run -n $own -s t -l threads -x -d 'Thread cap for the thread pools'
complete -c cpu_run -n $own -s w -l max-wait -x -a forever -d 'Wait at most this long for a slot'
complete -c cpu_run -n $own -l on-timeout -x -a 'run fail' -d 'Then run without a slot, or exit 75'
complete -c cpu_run -n $own -s d -l slot-dir -x -a '(__fish_complete_directories)' -d 'Where the slots live'
complete -c cpu_run -n $own -l mem-avail -x -d 'Start only when this much memory is available'
complete -c cpu_run -n $own -l mem-max -x -d 'Cap the memory of the job'
complete -c cpu_run -n $own -l force-threads -d 'Set the thread variables even where set'
complete -c cpu_run -n $own -l no-force-threads -d 'Keep thread variables already set'
complete -c cpu_run -n $own -l pin -d 'Bind the job to CPUs chosen by its slot'
complete -c cpu_run -n $own -l no-pin -d 'Do not bind the job to CPUs'
complete -c cpu_run -n $own -l nice -x -d 'Niceness at least this, -20..19'
complete -c cpu_run -n $own -l ionice -d 'Idle I/O class'
complete -c cpu_run -n $own -l no-ionice -d "Keep the caller's I/O class"
complete -c cpu_run -n $own -s q -l quiet -d 'No line when waiting and starting'
complete -c cpu_run -n $own -l no-quiet -d 'A line when waiting and starting'
complete -c cpu_run -n $own -s h -l help -d 'Show the help'
complete -c cpu_run -n $own -s V -l version -d 'Show the version'
complete -c cpu_run -n __cpu_run_command_words -a '(__cpu_run_complete_command)'
