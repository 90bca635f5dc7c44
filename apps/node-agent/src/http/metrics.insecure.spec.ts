import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { startInsecureMetrics } from './metrics.insecure';

describe('--metrics-insecure-listen', () => {
  it('serves GET /metrics in plain HTTP without credentials, and nothing else', async () => {
    const registry = new Registry();
    new Counter({ name: 'tide_test_total', help: 'a test counter', registers: [registry] }).inc();
    const server = await startInsecureMetrics({ host: '127.0.0.1', port: 0 }, { registry });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const metrics = await fetch(`${base}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(await metrics.text(), /^tide_test_total 1$/m);
      for (const route of ['/v1/logs/default/x', '/v1/images', '/healthz']) assert.equal((await fetch(`${base}${route}`)).status, 404, route);
      assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
    } finally {
      await server.close();
    }
  });

  it('names the flag when it cannot listen', async () => {
    const first = await startInsecureMetrics({ host: '127.0.0.1', port: 0 }, { registry: new Registry() });
    try {
      await assert.rejects(startInsecureMetrics({ host: '127.0.0.1', port: first.port }, { registry: new Registry() }),
        /^Error: --metrics-insecure-listen: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE$/);
    } finally {
      await first.close();
    }
  });
});
