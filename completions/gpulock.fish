# fish completion for gpulock: its commands, their options and values, the
# shells of shell-init, and after run's or doctor's options the command
# with its own completion.

# The words of the command run or doctor runs, the one being typed last:
# they start after "--" or at the first word that is not an option (getopt's
# "+"). Nothing (status 1) while gpulock's own words are being typed.
function __gpulock_command_words
    set -l words (commandline -opc)
    contains -- "$words[2]" run doctor; or return 1
    set -l i 3
    while test $i -le (count $words)
        switch $words[$i]
            case --
                set i (math $i + 1)
                break
            case -t --timeout -l --lock --gpus
                set i (math $i + 2)
            case '-*'
                set i (math $i + 1)
            case '*'
                break
        end
    end
    set words $words (commandline -ct)
    # the word being typed is the first: an option of gpulock's, unless after --
    if test $i -eq (count $words); and test "$words[-2]" != --
        string match -q -- '-*' $words[-1]; and return 1
    end
    test $i -le (count $words); or return 1
    printf '%s\n' $words[$i..-1]
end

# Completing gpulock's own words of subcommand $argv[1].
function __gpulock_in
    test (count (commandline -opc)) -ge 2; or return 1
    test (commandline -opc)[2] = $argv[1]; or return 1
    not __gpulock_command_words >/dev/null
end

function __gpulock_complete_command
    set -l words (__gpulock_command_words)
    # the typed words, quoted again; the one being typed as it is
    complete --do-complete=(string join ' ' -- (string escape -- $words[1..-2]) (commandline -ct))
end

set -l commands run status wait shell-init preload-path doctor setup help
complete -c gpulock -f
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -s h -l help -d 'Show the help'
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -s V -l version -d 'Show the version'
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -a run -d 'Run a command under the GPU lock'
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -a status -d 'Who holds the GPU lock, who waits'
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -a wait -d 'Block until the GPU lock is free'
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -a shell-init -d 'Profile lines or a systemd drop-in'
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -a preload-path -d "The preload library's path"
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -a doctor -d 'Check the set-up'
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -a setup -d '(root) Make the hardened /run/gpulock'
complete -c gpulock -n "not __fish_seen_subcommand_from $commands" -a help -d 'Show the help of a command'

complete -c gpulock -n '__gpulock_in run' -s e -l eager -d 'Take the lock before the command starts'
complete -c gpulock -n '__gpulock_in run; or __gpulock_in wait' -s t -l timeout -x -a forever -d 'Wait at most this long'
complete -c gpulock -n '__gpulock_in run' -s n -l no-wait -d 'Do not wait: the lock must be free now'
complete -c gpulock -n '__gpulock_in run; or __gpulock_in wait' -s q -l quiet -d 'Do not announce waits'
complete -c gpulock -n '__gpulock_in run' -l gpus -x -a '1 2 3 4 5 6 7 8 all' -d 'How many GPUs to lock'
for c in run status wait doctor
    complete -c gpulock -n "__gpulock_in $c" -s l -l lock -r -F -d 'The lock file'
end
for c in run status wait shell-init preload-path doctor setup
    complete -c gpulock -n "__gpulock_in $c" -s h -l help -d 'Show the help'
end
complete -c gpulock -n '__gpulock_in status' -s j -l json -d 'Print JSON'
complete -c gpulock -n '__gpulock_in setup' -s d -l dir -x -a '(__fish_complete_directories)' -d 'Where to make the layout'
complete -c gpulock -n '__gpulock_in setup' -s s -l slots -x -a '3 4 8 16' -d 'How many slot files to make'
complete -c gpulock -n '__gpulock_in status' -s d -l slot-dir -x -a '(__fish_complete_directories)' -d 'The cpu_run slot directory'
complete -c gpulock -n '__gpulock_in shell-init; and test (count (commandline -opc)) -eq 2' -a 'bash zsh sh fish systemd'
complete -c gpulock -n '__gpulock_in help; and test (count (commandline -opc)) -eq 2' -a "$commands"
complete -c gpulock -n __gpulock_command_words -a '(__gpulock_complete_command)'
