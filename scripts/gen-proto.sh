#!/usr/bin/env bash
# Generates TypeScript types for proto/ into libs/proto/src/generated (never edit those by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
out=libs/proto/src/generated
rm -rf "$out"
node node_modules/@grpc/proto-loader/build/bin/proto-loader-gen-types.js \
  --longs=Number --enums=String --defaults --oneofs --grpcLib=@grpc/grpc-js \
  -I proto -O "$out" tide/v1/agent.proto tide/v1/peer.proto >/dev/null
# A barrel so that users import message types from @tide/proto.
for f in "$out"/tide/v1/*.ts; do
  echo "export * from './tide/v1/$(basename "$f" .ts)';"
done > "$out/messages.ts"
