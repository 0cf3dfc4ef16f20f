// The Prometheus text exposition format (version 0.0.4), pure: families in, text out.
import { METRICS, type MetricName } from './catalogue.js';

export type Labels = Readonly<Record<string, string>>;
export interface Sample {
  labels: Labels;
  value: number;
}
export interface HistogramSample {
  labels: Labels;
  /** Cumulative counts, one per bound (the +Inf bucket is count). */
  buckets: readonly number[];
  bounds: readonly number[];
  sum: number;
  count: number;
}
export type Family = { name: MetricName; samples: readonly Sample[] } | { name: MetricName; histograms: readonly HistogramSample[] };

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** One text page; families with no samples still say what they are (HELP and TYPE). */
export function renderMetrics(families: readonly Family[]): string {
  const out: string[] = [];
  for (const f of families) {
    const d = METRICS[f.name];
    out.push(`# HELP ${f.name} ${escapeHelp(d.help)}`, `# TYPE ${f.name} ${d.type}`);
    if ('samples' in f) {
      for (const s of f.samples) out.push(`${f.name}${labelText(s.labels)} ${num(s.value)}`);
      continue;
    }
    for (const h of f.histograms) {
      h.bounds.forEach((b, i) => out.push(`${f.name}_bucket${labelText(h.labels, ['le', num(b)])} ${h.buckets[i] ?? 0}`));
      out.push(`${f.name}_bucket${labelText(h.labels, ['le', '+Inf'])} ${h.count}`, `${f.name}_sum${labelText(h.labels)} ${num(h.sum)}`, `${f.name}_count${labelText(h.labels)} ${h.count}`);
    }
  }
  return out.join('\n') + '\n';
}
