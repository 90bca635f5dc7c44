import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Module boundaries (see STYLE.md): domain libs import only domain libs; node-side and control-side
// code never import each other; apps import no apps. Tags live in each package.json ("nx.tags").

// The wire format stays at the edge: in the apps, only the gRPC adapters import @tide/proto (its
// generated messages and the mapper); everything else works on @tide/api's agent.protocol.ts types.
const GRPC_ADAPTERS = [
  'apps/control-plane/src/agent-service/agent.grpc.ts',
  'apps/control-plane/src/peers/peer.grpc.ts',
  'apps/control-plane/src/peers/peer.client.ts',
  'apps/control-plane/src/testing/test-agent.grpc.ts',
  'apps/node-agent/src/control-plane/control-plane.client.ts',
  'apps/node-agent/src/control-plane/control-plane.client.spec.ts',
];

// One adapter per outside thing (STYLE.md): only libs/store speaks etcd3; everyone else goes through
// @tide/store, which re-exports the etcd3 types the others need (Etcd3, Watcher).
const ETCD3_ONLY_IN_STORE = {
  group: ['etcd3', 'etcd3/*'],
  message: 'only libs/store imports etcd3: use @tide/store (it re-exports the etcd3 types others need)',
};

// Packages are imported through their entry points: '@tide/x', or '@tide/x/testing' for test helpers
// (each package's testing/package.json points into its dist/); never through their compiled files.
const NO_DIST_PATHS = {
  group: ['@tide/*/dist', '@tide/*/dist/*'],
  message: "import a package through its entry point ('@tide/x', or '@tide/x/testing' for test helpers), not its dist/ files",
};

// Domain libraries stay framework-free and side-effect-free (STYLE.md); Nx does not see Node builtins.
const DOMAIN_LIBS = ['libs/api/**/*.ts', 'libs/scheduler/**/*.ts', 'libs/autoscaler/**/*.ts', 'libs/auth/**/*.ts', 'libs/kube/**/*.ts', 'libs/control/**/*.ts'];

export default [
  { ignores: ['**/dist', '**/node_modules', '**/generated', 'apps/dashboard/bundle'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_' }],
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'],
              bannedExternalImports: ['@nestjs/*', 'etcd3', 'koffi', '@grpc/*', 'child_process', 'node:child_process', 'fs', 'node:fs'] },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:domain', 'type:adapter'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:adapter'] },
            { sourceTag: 'scope:node', onlyDependOnLibsWithTags: ['scope:node', 'scope:shared'] },
            { sourceTag: 'scope:control', onlyDependOnLibsWithTags: ['scope:control', 'scope:shared'] },
            { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:shared'] },
            // The dashboard runs in a browser: the API's types only.
            { sourceTag: 'scope:ui', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            // End-to-end tests drive the processes from outside; they may use the API types only.
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:domain'] },
            // Benchmarks measure a lib against its reference directly.
            { sourceTag: 'type:bench', onlyDependOnLibsWithTags: ['type:domain', 'type:adapter'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    ignores: ['libs/store/**'],
    rules: { 'no-restricted-imports': ['error', { patterns: [ETCD3_ONLY_IN_STORE, NO_DIST_PATHS] }] },
  },
  {
    files: ['libs/store/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [NO_DIST_PATHS] }] },
  },
  {
    // A later block's no-restricted-imports replaces an earlier one's for the files both match:
    // each block below bans etcd3 again (the domain group names it, the others add ETCD3_ONLY_IN_STORE).
    files: DOMAIN_LIBS,
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['fs', 'node:fs', 'fs/*', 'node:fs/*', 'child_process', 'node:child_process', 'koffi', 'etcd3', '@grpc/*', '@nestjs/*'],
          message: 'domain libraries import no I/O, framework or kernel modules: move this to an adapter' },
        // libs/auth decides; the HTTP and gRPC adapters in the apps ask it.
        { group: ['http', 'node:http', 'https', 'node:https', 'http2', 'node:http2', 'net', 'node:net', 'tls', 'node:tls'],
          message: 'domain libraries serve nothing: the network belongs to the adapters' },
        NO_DIST_PATHS,
      ] }],
    },
  },
  {
    // libs/pki touches the disk only through its PkiFs seam (pem.files.ts), and loads @peculiar/x509
    // only through x509.provider.ts, which installs the Reflect polyfill and Node's WebCrypto first.
    files: ['libs/pki/src/**/*.ts'],
    ignores: ['libs/pki/src/pem.files.ts', 'libs/pki/src/x509.provider.ts', 'libs/pki/src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['fs', 'node:fs', 'fs/*', 'node:fs/*'], message: 'libs/pki reads and writes files through pem.files.ts (PkiFs) only' },
        { group: ['@peculiar/x509'], message: "import { x509 } from './x509.provider' (it sets up Reflect and WebCrypto first)" },
        ETCD3_ONLY_IN_STORE, NO_DIST_PATHS,
      ] }],
    },
  },
  {
    files: ['libs/pki/src/pem.files.ts', 'libs/pki/src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['@peculiar/x509'], message: "import { x509 } from './x509.provider' (it sets up Reflect and WebCrypto first)" },
        ETCD3_ONLY_IN_STORE, NO_DIST_PATHS,
      ] }],
    },
  },
  {
    files: ['apps/**/*.ts'],
    ignores: GRPC_ADAPTERS,
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['@tide/proto', '@tide/proto/*'],
          message: 'only the gRPC adapters speak proto (eslint.config.mjs GRPC_ADAPTERS): use the agent protocol types of @tide/api' },
        ETCD3_ONLY_IN_STORE, NO_DIST_PATHS,
      ] }],
    },
  },
];
