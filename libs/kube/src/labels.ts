/** Kubernetes label selectors, evaluated against a pod template's labels. */
import { DocContext, Json, Report, applyRules, isObject, listAt, objectAt } from './report';

export type Labels = Record<string, string>;

/** `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist): all must hold. */
export function selectorMatches(selector: Json, labels: Labels): boolean {
  const matchLabels = isObject(selector.matchLabels) ? selector.matchLabels : {};
  if (!Object.entries(matchLabels).every(([k, v]) => labels[k] === v)) return false;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  return expressions.every((e) => isObject(e) && expressionHolds(e, labels));
}

function expressionHolds(expression: Json, labels: Labels): boolean {
  const key = String(expression.key);
  const values = Array.isArray(expression.values) ? expression.values.map(String) : [];
  switch (expression.operator) {
    case 'In': return key in labels && values.includes(labels[key]);
    case 'NotIn': return !(key in labels) || !values.includes(labels[key]);
    case 'Exists': return key in labels;
    case 'DoesNotExist': return !(key in labels);
    default: return false;
  }
}

/** Checks a LabelSelector's shape (refusing unknown operators); answers it, or undefined when absent or broken. */
export function checkSelector(report: Report, ctx: DocContext, value: unknown, path: string): Json | undefined {
  const selector = objectAt(report, ctx, value, path);
  if (!selector) return undefined;
  const before = report.errors.length;
  applyRules(report, ctx, path, selector, { matchLabels: 'use', matchExpressions: 'use' });
  listAt(report, ctx, selector.matchExpressions, `${path}.matchExpressions`).forEach((e, i) => {
    if (!isObject(e) || !['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(String(e.operator))) {
      report.refuse(ctx, `${path}.matchExpressions[${i}]`, 'needs key and operator In, NotIn, Exists or DoesNotExist');
    }
  });
  return report.errors.length === before ? selector : undefined;
}

/** The labels at `path` as a string map (other values refused). */
export function labelsAt(report: Report, ctx: DocContext, value: unknown, path: string): Labels {
  const labels: Labels = {};
  for (const [key, label] of Object.entries(objectAt(report, ctx, value, path) ?? {})) {
    if (typeof label === 'string') labels[key] = label;
    else report.refuse(ctx, `${path}.${key}`, `a label value is a string, got ${JSON.stringify(label)}`);
  }
  return labels;
}
