/** A flag or setting of the control plane's command line that cannot be used: main prints its message and exits 2. */
export class ConfigError extends Error {}
