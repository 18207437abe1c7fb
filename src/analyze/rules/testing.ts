/** Builds a rule context for rule tests, with the options analyzeSeries would resolve. */
import { resolveOptions, type AnalyzeOptions } from '../trend.js';
import type { RuleContext } from './rule.js';

export function contextFor(t: Float64Array, v: Float64Array, options: AnalyzeOptions = {}): RuleContext {
  const view = { t, v, what: 'samples' };
  return { subject: options.subject ?? 'test', options: resolveOptions(v, options), full: view, view };
}
