/** Real-world shaped Kubernetes manifests for the converter's tests (as people write them, and as kubectl prints them). */

/** A web tier as a typical repository holds it: namespace, config, secret, deployment, service, HPA. */
export const SHOP_YAML = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
  labels: { app: web }
data:
  LOG_LEVEL: info
  nginx.conf: |
    worker_processes 1;
---
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
type: Opaque
data:
  username: c2hvcA==
stringData:
  password: s3cret
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: { app: web, tier: frontend }
  annotations:
    deployment.kubernetes.io/revision: "3"
spec:
  replicas: 3
  revisionHistoryLimit: 5
  selector:
    matchLabels: { app: web }
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
  template:
    metadata:
      labels: { app: web }
    spec:
      terminationGracePeriodSeconds: 20
      containers:
        - name: web
          image: shop/web:1.4.2
          imagePullPolicy: IfNotPresent
          command: ["node", "server.js"]
          args: ["--port=8080"]
          ports:
            - { name: http, containerPort: 8080 }
          env:
            - { name: NODE_ENV, value: production }
            - name: LOG_LEVEL
              valueFrom:
                configMapKeyRef: { name: web-config, key: LOG_LEVEL }
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: { name: db, key: password }
          envFrom:
            - configMapRef: { name: web-config }
          resources:
            requests: { cpu: 250m, memory: 128Mi }
            limits: { cpu: "1", memory: 256Mi }
          readinessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 5
          livenessProbe:
            tcpSocket: { port: 8080 }
            initialDelaySeconds: 10
          volumeMounts:
            - { name: config, mountPath: /etc/nginx, readOnly: true }
            - { name: db, mountPath: /run/secrets/db, readOnly: true }
            - { name: cache, mountPath: /var/cache/web }
          securityContext:
            runAsUser: 1000
            runAsGroup: 1000
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
      volumes:
        - name: config
          configMap:
            name: web-config
            items: [{ key: nginx.conf, path: nginx.conf }]
        - name: db
          secret: { secretName: db, defaultMode: 0400 }
        - name: cache
          emptyDir: { sizeLimit: 256Mi }
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  type: NodePort
  selector: { app: web }
  ports:
    - { name: http, port: 80, targetPort: http, nodePort: 30080 }
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  minReplicas: 2
  maxReplicas: 20
  metrics:
    - type: Resource
      resource:
        name: cpu
        target: { type: Utilization, averageUtilization: 60 }
    - type: Pods
      pods:
        metric: { name: http_requests_per_second }
        target: { type: AverageValue, averageValue: "50" }
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 120
      policies: [{ type: Percent, value: 50, periodSeconds: 60 }]
`;

/** The Tide service the converter makes of SHOP_YAML's Deployment, Service and HPA. */
export const SHOP_SERVICE = {
  apiVersion: 'tide/v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', tier: 'frontend' } },
  spec: {
    replicas: 3,
    image: 'shop/web:1.4.2',
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: { valueFrom: { configMapKeyRef: { name: 'web-config', key: 'LOG_LEVEL' } } },
      DB_PASSWORD: { valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    },
    command: ['node', 'server.js'],
    args: ['--port=8080'],
    envFrom: [{ configMapRef: { name: 'web-config' } }],
    ports: [{ containerPort: 8080, name: 'http', port: 80, publish: 30080, protocol: 'HTTP' }],
    resources: { requests: { cpu: '250m', memory: '128Mi' }, limits: { cpu: '1', memory: '256Mi' } },
    probes: {
      readiness: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 },
      liveness: { tcpSocket: { port: 8080 }, initialDelaySeconds: 10 },
    },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/nginx', readOnly: true },
      { name: 'db', mountPath: '/run/secrets/db', readOnly: true },
      { name: 'cache', mountPath: '/var/cache/web' },
    ],
    user: '1000:1000',
    readOnlyRootFilesystem: true,
    terminationGracePeriodSeconds: 20,
    volumes: [
      { name: 'config', configMap: { name: 'web-config', items: [{ key: 'nginx.conf', path: 'nginx.conf' }] } },
      { name: 'db', secret: { secretName: 'db', defaultMode: 0o400 } },
      { name: 'cache', emptyDir: { sizeLimit: '256Mi' } },
    ],
    update: { maxSurge: 1, maxUnavailable: 0 },
    autoscale: {
      minReplicas: 2, maxReplicas: 20, targetCPUUtilizationPercentage: 60, targetRequestsPerSecond: 50,
      behavior: { scaleDown: { stabilizationWindowSeconds: 120, policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }] } },
    },
  },
};

/** What \`kubectl get deployment,service -o yaml\` prints: a List, with fields Kubernetes set. */
export const KUBECTL_LIST_YAML = `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    annotations:
      deployment.kubernetes.io/revision: "1"
    creationTimestamp: "2024-05-01T10:00:00Z"
    generation: 1
    labels:
      app: hello
    name: hello
    namespace: default
    resourceVersion: "12345"
    uid: 0f5c3a1e-6d2b-4f0e-9a3c-2b7d8e9f0a1b
  spec:
    progressDeadlineSeconds: 600
    replicas: 2
    revisionHistoryLimit: 10
    selector:
      matchLabels:
        app: hello
    strategy:
      rollingUpdate:
        maxSurge: 25%
        maxUnavailable: 25%
      type: RollingUpdate
    template:
      metadata:
        creationTimestamp: null
        labels:
          app: hello
      spec:
        containers:
        - image: hello:1
          imagePullPolicy: IfNotPresent
          name: hello
          ports:
          - containerPort: 8080
            protocol: TCP
          resources: {}
          terminationMessagePath: /dev/termination-log
          terminationMessagePolicy: File
        dnsPolicy: ClusterFirst
        restartPolicy: Always
        schedulerName: default-scheduler
        securityContext: {}
        terminationGracePeriodSeconds: 30
  status:
    availableReplicas: 2
    readyReplicas: 2
- apiVersion: v1
  kind: Service
  metadata:
    name: hello
    namespace: default
  spec:
    clusterIP: 10.96.12.34
    clusterIPs: [10.96.12.34]
    externalTrafficPolicy: Cluster
    internalTrafficPolicy: Cluster
    ipFamilies: [IPv4]
    ipFamilyPolicy: SingleStack
    ports:
    - nodePort: 31234
      port: 80
      protocol: TCP
      targetPort: 8080
    selector:
      app: hello
    sessionAffinity: None
    type: NodePort
  status:
    loadBalancer: {}
`;
