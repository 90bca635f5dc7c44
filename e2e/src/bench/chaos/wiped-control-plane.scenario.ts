/**
 * wiped-control-plane: the control plane (and the etcd it supervises) stopped, and one started in its
 * place on an empty state directory, on the same addresses and with the cluster's CA, for 45 s (the
 * issue saw the agents kill every container 30-45 s after such a control plane took over). Its store
 * is empty: the agents must refuse it and keep their containers. Then the cluster's own control
 * plane comes back.
 */
import * as path from 'node:path';
import { controlPlaneCommandLine, replaceFlags, startDetached, stopProcessesMentioning } from '../../process.tools';
import { waitFor } from '../../harness';
import type { ChaosContext, ChaosScenario } from './scenario';

const WIPED_MS = 45_000;

export const wipedControlPlane: ChaosScenario = {
  name: 'wiped-control-plane',
  fault: 'a control plane on an empty state dir in place of the cluster\'s for 45 s',
  takesServingReplicas: false,
  needs: {},
  async inject({ cluster, log }: ChaosContext) {
    const controlPlaneDir = path.join(cluster.stateDir, 'control-plane');
    const wipedDir = path.join(cluster.stateDir, 'wiped-control-plane');
    const { argv } = controlPlaneCommandLine(controlPlaneDir);
    await stopProcessesMentioning(controlPlaneDir);
    startDetached(replaceFlags(argv, { '--state-dir': wipedDir, '--audit-log': path.join(wipedDir, 'audit.log') }), path.join(cluster.stateDir, 'wiped-control-plane.log'));
    try {
      await waitFor('the wiped control plane answering', async () => (await cluster.fetch('/healthz').catch(() => undefined))?.ok, 120_000, 500);
      log('wiped-control-plane: the empty control plane serves');
      await new Promise((resolve) => setTimeout(resolve, WIPED_MS));
    } finally {
      await stopProcessesMentioning(wipedDir);
    }
    startDetached(argv, path.join(cluster.stateDir, 'control-plane-restarted.log'));
    log('wiped-control-plane: the cluster\'s control plane started again');
  },
};
