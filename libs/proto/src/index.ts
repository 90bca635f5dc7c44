import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/agent';

export * from './generated/messages';
export * from './agent.mapper';
export * from './assignments.encoder';
export type { ProtoGrpcType } from './generated/agent';

/** Directory holding the .proto files (proto/ at the repository root). */
export const PROTO_DIR = path.resolve(__dirname, '../../../proto');

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Loads proto/tide/v1/agent.proto and returns the typed gRPC package object. */
export function loadAgentProto(): ProtoGrpcType {
  const definition = protoLoader.loadSync(path.join(PROTO_DIR, 'tide/v1/agent.proto'), {
    ...LOADER_OPTIONS,
    includeDirs: [PROTO_DIR],
  });
  return grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
}
export * from './certificate.provider';
