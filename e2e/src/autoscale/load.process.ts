/**
 * The load generator's own process (`runTraceApart` forks it): the trace is sent from a process that
 * does nothing else, so that the test's own work (polling the API, parsing answers) never delays a
 * request's sending or the reading of its answer. Argument: the trace and options as JSON; messages
 * to the parent: `{ start }` (ms since the epoch, when the trace starts), then `{ results }`.
 */
import { LoadOptions, TracePhase, runTrace } from './load.generator';

async function main(): Promise<void> {
  const { phases, options } = JSON.parse(process.argv[2] ?? '{}') as { phases: TracePhase[]; options: LoadOptions };
  if (!Array.isArray(phases) || !options?.host) throw new Error('load.process: expects {"phases": [...], "options": {"host", "port", ...}} as its argument');
  const results = await runTrace(phases, options, (start) => process.send!({ start }));
  process.send!({ results }, () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
