/** Assignments as the control plane sends them (proto defaults filled), for tests. */
import { Assignment__Output, ContainerSpec__Output } from '@tide/proto';

export function assignment(
  name: string,
  overrides: Partial<Omit<Assignment__Output, 'container'>> & { container?: Partial<ContainerSpec__Output> } = {},
): Assignment__Output {
  const { container, ...rest } = overrides;
  return {
    namespace: 'default', name, service: name.split('-')[0], templateHash: 'hash1',
    ...rest,
    container: {
      image: 'busybox', command: ['sleep', '1000'], args: [], env: {}, workingDir: '',
      cpuLimitMillis: 0, memoryLimitBytes: 0, pidsLimit: 0, cpuRequestMillis: 0, memoryRequestBytes: 0,
      restartPolicy: 'Always', terminationGracePeriodSeconds: 30, network: 'host', ports: [],
      user: '', readOnlyRootFilesystem: false, probes: null,
      ...container,
    },
  };
}
