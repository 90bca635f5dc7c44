/** Small Kubernetes documents for the converter's table tests, each changed by a test as it needs. */
type Json = Record<string, any>;

export function deployment(change: (d: Json) => void = () => undefined, name = 'web'): Json {
  const d: Json = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas: 2, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name, image: `${name}:1`, ports: [{ name: 'http', containerPort: 8080 }], resources: { requests: { cpu: '100m' } } }] },
      },
    },
  };
  change(d);
  return d;
}

/** The deployment's one container, to change in place. */
export function container(d: Json): Json {
  return d.spec.template.spec.containers[0];
}

export function service(change: (s: Json) => void = () => undefined, name = 'web'): Json {
  const s: Json = {
    apiVersion: 'v1', kind: 'Service', metadata: { name },
    spec: { type: 'NodePort', selector: { app: name }, ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }] },
  };
  change(s);
  return s;
}

export function hpa(change: (h: Json) => void = () => undefined, target = 'web'): Json {
  const h: Json = {
    apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: target },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, minReplicas: 2, maxReplicas: 10,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  };
  change(h);
  return h;
}
