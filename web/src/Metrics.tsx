// The admin page's sale-day panel: the numbers an operator watches (GET /admin/metrics, polled)
// and, per sale, the export of its confirmed orders (GET /sales/{id}/orders.csv).
import { useEffect, useState } from 'react';
import { API_URL, call, type Metrics, type Sale } from './api';

const POLL_MS = 2000;

const listed = (counts: Record<string, number>) =>
  Object.entries(counts).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';

const bound = (ms: number | null, count: number) => (count === 0 ? '—' : ms === null ? '> 60 s' : `≤ ${ms} ms`);

/** Downloads the CSV with the admin's token (a plain link could not send it). */
async function downloadCsv(token: string, sale: Sale): Promise<string | null> {
  try {
    const answer = await fetch(`${API_URL}/sales/${sale.sale_id}/orders.csv`, { headers: { authorization: `Bearer ${token}` } });
    if (answer.status !== 200) return `Export failed (${answer.status}).`;
    const url = URL.createObjectURL(await answer.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = `${sale.product.name}-confirmed-orders.csv`;
    link.click();
    URL.revokeObjectURL(url);
    return null;
  } catch {
    return 'Export failed: no connection.';
  }
}

export function MetricsPanel({ token, sales }: { token: string; sales: Sale[] }) {
  const [metrics, setMetrics] = useState<Metrics | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      const answer = await call<Metrics>('GET', '/admin/metrics', { token });
      if (stopped) return;
      if (answer.status === 200) setMetrics(answer.body);
      timer = setTimeout(() => void poll(), POLL_MS);
    };
    let timer = setTimeout(() => void poll(), 0);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [token]);

  return (
    <section className="card" aria-label="Sale-day numbers">
      <h3>Sale-day numbers</h3>
      {metrics ? (
        <dl>
          <dt>Purchase attempts</dt>
          <dd data-metric="attempts">{listed(metrics.attempts)}</dd>
          <dt>202 → final, p50 / p99</dt>
          <dd>{bound(metrics.final_latency_ms.p50_at_most, metrics.final_latency_ms.count)} / {bound(metrics.final_latency_ms.p99_at_most, metrics.final_latency_ms.count)}</dd>
          <dt>Tasks retried</dt>
          <dd>{metrics.tasks_retried}</dd>
          <dt>Orders failed</dt>
          <dd>{listed(metrics.failed_by_reason)}</dd>
          <dt>Pending past the redrive time</dt>
          <dd className={metrics.pending_stale > 0 ? 'error' : undefined}>{metrics.pending_stale} (redriven {metrics.redriven}, given up {metrics.gave_up})</dd>
          <dt>Drift repaired</dt>
          <dd>{metrics.drift_repaired}</dd>
          <dt>5xx answers</dt>
          <dd>{listed(metrics.errors_5xx)}</dd>
        </dl>
      ) : (
        <p>Loading…</p>
      )}
      <p>
        Confirmed orders (CSV):{' '}
        {sales.map((s) => (
          <button key={s.sale_id} type="button" aria-label={`Export the confirmed orders of ${s.product.name}`} onClick={() => void downloadCsv(token, s).then(setProblem)}>
            {s.product.name}
          </button>
        ))}
      </p>
      {problem && <p className="error" role="alert">{problem}</p>}
    </section>
  );
}
