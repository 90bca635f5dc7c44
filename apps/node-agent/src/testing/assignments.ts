/** Assignments as the agent's planning code sees them (decoded by libs/proto's mapper), for tests. */
import { AssignedTemplate, ReplicaAssignment } from '@tide/api';

export function assignment(
  name: string,
  overrides: Partial<Omit<ReplicaAssignment, 'template'>> & { template?: Partial<AssignedTemplate> } = {},
): ReplicaAssignment {
  const { template, ...rest } = overrides;
  return {
    namespace: 'default', name, service: name.split('-')[0], templateHash: 'hash1',
    ...rest,
    template: {
      image: 'busybox', command: ['sleep', '1000'], args: [], env: {}, requests: { cpuMillis: 100, memoryBytes: 64 * 2 ** 20 }, limits: {},
      restartPolicy: 'Always', terminationGracePeriodSeconds: 30, network: 'host', ports: [],
      ...template,
    },
  };
}
