import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/agent';
import type { ProtoGrpcType as PeerProtoGrpcType } from './generated/peer';

export * from './generated/messages';
export * from './agent.mapper';
export * from './assignments.encoder';
export type { ProtoGrpcType } from './generated/agent';
export type { PeerProtoGrpcType };

/** Directory holding the .proto files (proto/ at the repository root). */
export const PROTO_DIR = path.resolve(__dirname, '../../../proto');

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

function loadProto(file: string): unknown {
  const definition = protoLoader.loadSync(path.join(PROTO_DIR, file), { ...LOADER_OPTIONS, includeDirs: [PROTO_DIR] });
  return grpc.loadPackageDefinition(definition);
}

/** Loads proto/tide/v1/agent.proto and returns the typed gRPC package object. */
export function loadAgentProto(): ProtoGrpcType {
  return loadProto('tide/v1/agent.proto') as ProtoGrpcType;
}

/** Loads proto/tide/v1/peer.proto (between control planes; it imports agent.proto's messages). */
export function loadPeerProto(): PeerProtoGrpcType {
  return loadProto('tide/v1/peer.proto') as PeerProtoGrpcType;
}
export * from './certificate.provider';
