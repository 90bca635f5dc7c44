/**
 * The HTTPS API server: NestJS on the serving certificate of STATE/pki, with its guard (auth/), the
 * exec upgrade, body limits and request deadlines, the audit log, and the serving certificate
 * swapped in place when renewed (pki/certificate.rotation.ts calls reloadTls). The control plane and
 * the route tests start it the same way.
 */
import type * as https from 'node:https';
import { INestApplication, LogLevel, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { readCertificateFile, readKeyFile, type ClusterPkiLayout } from '@tide/pki';
import { Etcd3, TokenStore } from '@tide/store';
import { AppModule } from '../app.module';
import { ApiAuth } from '../auth/api.auth';
import * as tlsModule from 'node:tls';
import { applyRequestDeadlines, loadApiTls, type ApiTls } from '../auth/api.tls';
import { AuditLog } from '../auth/audit.log';
import { useBodyLimits } from '../auth/body.limits';
import type { AgentCredentials } from './agent.client';
import { ClusterContext } from './cluster.context';
import { attachExecProxy } from './exec.proxy';

type NestHttpsOptions = NonNullable<NestApplicationOptions['httpsOptions']>;

export interface ApiServerOptions {
  cluster: Omit<ClusterContext, 'tokens' | 'auth' | 'agentCredentials'>;
  etcd: Etcd3;
  pki: ClusterPkiLayout;
  auditLog: string;
  listen: { host: string; port: number };
  log: (line: string) => void;
  warn: (line: string) => void;
  logger: LogLevel[] | false;
}

export interface ApiServer {
  app: INestApplication;
  server: https.Server;
  port: number;
  names(): readonly string[];
  /** The control plane's client certificate and the cluster CA, for calls to agents (renewed in place). */
  agentCredentials(): AgentCredentials;
  /** Reads STATE/pki again: new connections get the serving certificate there, calls to agents the client one. */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  let tls: ApiTls = await loadApiTls(options.pki);
  let agentCredentials = await loadAgentCredentials(options.pki);
  const tokens = new TokenStore(options.etcd, options.cluster.etcdHealth);
  const audit = new AuditLog(options.auditLog, options.warn);
  const auth = new ApiAuth({ tokens, audit, serverNames: () => tls.names, clusterCa: () => agentCredentials.ca });
  const app = await NestFactory.create(AppModule.forCluster({ ...options.cluster, tokens, auth, agentCredentials: () => agentCredentials }), {
    logger: options.logger, httpsOptions: tls.options as NestHttpsOptions, bodyParser: false,
  });
  useBodyLimits(app);
  const server = app.getHttpServer() as https.Server;
  applyRequestDeadlines(server);
  const endExecSessions = attachExecProxy(server, options.cluster.store, auth, () => agentCredentials);
  await app.listen(options.listen.port, options.listen.host);
  return {
    app, server,
    port: (server.address() as { port: number }).port,
    names: () => tls.names,
    agentCredentials: () => agentCredentials,
    async reloadTls() {
      const next = await loadApiTls(options.pki);
      const nextAgentCredentials = await loadAgentCredentials(options.pki);
      // Open connections keep the context they were made with; the next handshake takes this one.
      server.setSecureContext(next.options as tlsModule.SecureContextOptions);
      tls = next;
      agentCredentials = nextAgentCredentials;
      options.log(`API serving certificate in use for new connections (${next.names.join(', ')})`);
    },
    async close() {
      endExecSessions();
      await app.close();
      await audit.close();
    },
  };
}

/** The control plane's client certificate and the CA, for its calls to agents (agent.client.ts). */
export async function loadAgentCredentials(layout: ClusterPkiLayout): Promise<AgentCredentials> {
  return {
    ca: await readCertificateFile(layout.caCertificate),
    cert: await readCertificateFile(layout.clientCertificate),
    key: (await readKeyFile(layout.clientKey)).toPem(),
  };
}
