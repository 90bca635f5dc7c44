/**
 * etcd-nospace: a 64 MiB etcd quota filled through the API (Services of no replicas carrying 500 kB
 * of env each) until writes get 507 NOSPACE; the writes go on failing for 5 s; then the fillers are
 * deleted through the API (deletes work under NOSPACE) and the control plane's upkeep must compact,
 * defragment and disarm the alarm so that writes work again.
 */
import { churnService } from './write.stream';
import type { ChaosContext, ChaosScenario } from './scenario';

const QUOTA_BYTES = 64 * 2 ** 20;
const FILLER_BYTES = 500 * 1024;
/** Enough to fill the quota several times over: the fill stops at the first 507. */
const MAX_FILLERS = 400;

export const etcdNospace: ChaosScenario = {
  name: 'etcd-nospace',
  fault: 'a 64 MiB etcd quota filled through the API until NOSPACE, then the fillers deleted',
  takesServingReplicas: false,
  needs: { upFlags: ['--etcd-quota-bytes', String(QUOTA_BYTES)] },
  async inject({ writes, log }: ChaosContext) {
    const fillers: string[] = [];
    for (let i = 0; i < MAX_FILLERS; i++) {
      const name = `chx-fill-${i}`;
      const document = churnService(name, 0, writes.nextMark()) as { spec: { env: Record<string, string> } };
      document.spec.env.PADDING = 'x'.repeat(FILLER_BYTES);
      fillers.push(name);
      const written = await writes.apply(name, document, 0);
      if (written.status === 507) break;
    }
    const full = writes.ledger.at(-1)?.status === 507;
    if (!full) throw new Error(`${fillers.length} fillers of ${FILLER_BYTES} bytes did not fill a ${QUOTA_BYTES}-byte quota`);
    log(`etcd-nospace: NOSPACE after ${fillers.length} fillers`);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    let refusedDeletes = 0;
    for (const name of fillers) if ((await writes.delete(name)).outcome !== 'acknowledged') refusedDeletes++;
    return { figures: { fillers: fillers.length, refused_deletes: refusedDeletes } };
  },
};
