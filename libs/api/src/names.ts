/** Name rules shared by the validators (Kubernetes' DNS label and subdomain, ConfigMap keys). */
import type { Checker } from './field.checker';

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A key of a ConfigMap or Secret: it becomes a file name and may become a variable name. */
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** A ConfigMap, Secret or volume name: lower-case DNS subdomain of at most 253 characters. */
export function checkSubdomain(c: Checker, value: unknown, path: string): value is string {
  if (value === undefined) {
    c.fail(path, 'required');
    return false;
  }
  if (!c.string(value, path)) return false;
  if (!DNS_SUBDOMAIN.test(value) || value.length > 253) {
    c.fail(path, `"${value}" must be lower-case letters, digits, '-' and '.', at most 253 characters`);
    return false;
  }
  return true;
}

export function checkDnsLabel(c: Checker, value: unknown, path: string, max = 63): value is string {
  if (value === undefined) {
    c.fail(path, 'required');
    return false;
  }
  if (!c.string(value, path)) return false;
  if (!DNS_LABEL.test(value) || value.length > max) {
    c.fail(path, `"${value}" must be lower-case letters, digits and '-', at most ${max} characters`);
    return false;
  }
  return true;
}

export function checkConfigKey(c: Checker, value: unknown, path: string): value is string {
  if (value === undefined) {
    c.fail(path, 'required');
    return false;
  }
  if (!c.string(value, path)) return false;
  if (!CONFIG_KEY.test(value) || value.length > 253 || value === '.' || value === '..') {
    c.fail(path, `"${value}" must be letters, digits, '-', '_' and '.' (not "." or ".."), at most 253 characters`);
    return false;
  }
  return true;
}
