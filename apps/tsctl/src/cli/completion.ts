/**
 * `tsctl completion bash|zsh`: a script completing tsctl's commands, their first words (kinds,
 * subcommands), their flags, and file names after -f. Built from the commands' own declarations, so
 * a new flag completes without touching this file. zsh runs the bash function through bashcompinit.
 */
import { OptionSpec, UsageError } from './args';

export const COMPLETION_SHELLS = ['bash', 'zsh'] as const;
export type CompletionShell = (typeof COMPLETION_SHELLS)[number];

/** What the first argument of a command may be; rollout's and image's take a kind after their subcommand. */
export const ARGUMENT_WORDS: Record<string, string[]> = {
  get: ['services', 'replicas', 'nodes', 'events', 'configmaps', 'secrets', 'volumes'],
  describe: ['service', 'replica', 'node'],
  delete: ['service'],
  scale: ['service'],
  logs: [],
  rollout: ['status', 'history', 'undo', 'restart'],
  token: ['create', 'ls', 'revoke'],
  node: ['delete'],
  image: ['import', 'ls', 'rm', 'build', 'push', 'pull', 'prune', 'commit', 'history'],
  top: ['nodes', 'replicas'],
  completion: [...COMPLETION_SHELLS],
};
/** The word after `rollout SUBCOMMAND`. */
const SECOND_WORDS: Record<string, string[]> = { rollout: ['service'] };

export interface CompletedCommand {
  name: string;
  options: OptionSpec[];
}

export function parseShell(word: string | undefined): CompletionShell {
  const shell = COMPLETION_SHELLS.find((s) => s === word);
  if (!shell) throw new UsageError(`completion needs bash or zsh${word ? `, got "${word}"` : ''}\nusage: tsctl completion bash|zsh`);
  return shell;
}

function flagsOf(options: OptionSpec[]): string {
  return options.flatMap((o) => [`--${o.long}`, ...(o.short ? [`-${o.short}`] : [])]).join(' ');
}

function caseArms(entries: [string, string][]): string {
  return entries.filter(([, words]) => words !== '').map(([name, words]) => `      ${name}) words="${words}" ;;`).join('\n');
}

export function completionScript(shell: CompletionShell, commands: CompletedCommand[], global: OptionSpec[]): string {
  const valueOptions = global.filter((o) => !o.boolean).map((o) => `--${o.long}`).join('|');
  const bash = `# tsctl completion (${shell}): source <(tsctl completion ${shell})
_tsctl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" command="" words="" i positional=0
  # The command is the first word that is not an option (nor the value of a global option).
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${valueOptions}) ((i++)) ;;
      -*) ;;
      *) if [[ -z "$command" ]]; then command="\${COMP_WORDS[i]}"; else ((positional++)); fi ;;
    esac
  done
  case "$prev" in
    -f|--filename|--ca-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [[ -z "$command" ]]; then
    if [[ "$cur" == -* ]]; then words="${flagsOf(global)}"; else words="${commands.map((c) => c.name).join(' ')}"; fi
  elif [[ "$cur" == -* ]]; then
    case "$command" in
${caseArms(commands.map((c) => [c.name, flagsOf([...c.options, ...global])]))}
    esac
  elif ((positional == 0)); then
    case "$command" in
${caseArms(Object.entries(ARGUMENT_WORDS).map(([name, list]) => [name, list.join(' ')]))}
    esac
  elif ((positional == 1)); then
    case "$command" in
${caseArms(Object.entries(SECOND_WORDS).map(([name, list]) => [name, list.join(' ')]))}
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _tsctl tsctl
`;
  return shell === 'bash' ? bash : `#compdef tsctl\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}
