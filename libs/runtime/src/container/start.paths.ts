/** The two scripts a start runs: the worker thread that unshares and spawns (start.worker.ts), and the
 *  container's init it spawns (init/container-init.ts). Both launch.ts and spare.worker.ts start them. */
import * as path from 'node:path';

export const INIT_SCRIPT = path.join(__dirname, '../init/container-init.js');
export const START_WORKER = path.join(__dirname, 'start.worker.js');
