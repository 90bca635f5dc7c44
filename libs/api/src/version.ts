/**
 * Tide's release: what `tsctl version` prints for the client and `GET /api/v1/version` answers for
 * the server. Kept equal to the workspace's package.json version (a tsctl spec checks).
 */
export const TIDE_VERSION = '0.1.0';
