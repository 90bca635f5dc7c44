/**
 * `node-agent balancer --state-dir DIR`: the node's balancer process, started (and restarted should it
 * crash) by the node's reaper beside the agent, renamed `node-agent-balancer DIR`. It holds every
 * published port's listener and the connections through it, so a killed agent takes none of them
 * along; the agent configures it over `STATE/balancer.sock` (balancer.protocol.ts).
 *
 * It ends when asked (`shutdown` on the channel: `node-agent cleanup`), on SIGTERM, and when its
 * reaper is gone (the IPC channel to it closes, also after a kill -9): it never outlives the node's
 * reaper. SIGINT and SIGHUP, which a terminal sends the whole process group, are not for it: the agent
 * stops on them and its ports keep serving, as its containers keep running.
 */
import { BalancerService, serveBalancerChannel } from './balancer.server';

export function runBalancer(stateDir: string): void {
  const log = (line: string) => console.log(`${new Date().toISOString()} node-agent-balancer: ${line}`);
  const service = new BalancerService(log);
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: closing ${service.ports().length} published port(s)`);
    server.close();
    void service.close().finally(() => process.exit(0));
  };
  const server = serveBalancerChannel(stateDir, service, {
    agents: (connected) => {
      if (connected > 0) return log('the agent connected');
      log(`no agent connected: serving ${service.ports().length} published port(s) with the last config`);
    },
    shutdown: () => stop('asked to shut down'),
    // The reaper keeps this process after a failed agent only while it serves something (node.reaper.ts).
    configured: (applied) => process.send?.({ serving: applied.listening.length > 0 || applied.routes.length > 0 }),
  });
  server.on('error', (error: Error) => {
    // Without its channel no agent can configure it: exit, and the reaper starts it again.
    log(`cannot serve ${stateDir}/balancer.sock: ${error.message}`);
    process.exit(1);
  });
  process.on('disconnect', () => stop('the node\'s reaper is gone'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  log(`serving the published ports of ${stateDir}`);
}
