// The pure parts of observability and pagination: the trace fields Cloud Logging joins on, the
// latency string, path templates, the metrics view, cursors and CSV fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathTemplate } from '../../functions/src/lib/http.ts';
import { durationString, traceFields } from '../../functions/src/lib/log.ts';
import { metricsView } from '../../functions/src/lib/metrics.ts';
import { decodeCursor, encodeCursor, newestFirst, orderPositionSchema, pageOf } from '../../functions/src/lib/pages.ts';
import { csvField } from '../../functions/src/sales/admin-reads.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

test('the trace comes from traceparent, else X-Cloud-Trace-Context, in the fields Cloud Logging joins on', () => {
  assert.deepEqual(traceFields({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01` }), {
    'logging.googleapis.com/trace': `projects/local/traces/${TRACE}`,
    'logging.googleapis.com/spanId': '00f067aa0ba902b7',
    'logging.googleapis.com/trace_sampled': true,
  });
  assert.deepEqual(traceFields({ 'x-cloud-trace-context': `${TRACE.toUpperCase()}/1;o=0` }), {
    'logging.googleapis.com/trace': `projects/local/traces/${TRACE}`,
    'logging.googleapis.com/spanId': '0000000000000001',
  });
  assert.deepEqual(traceFields({ 'x-cloud-trace-context': TRACE }), { 'logging.googleapis.com/trace': `projects/local/traces/${TRACE}` });
  for (const bad of ['00-0000000000000000000000000000000-00f067aa0ba902b7-01', 'garbage', `00-${TRACE}-short-01`]) {
    assert.deepEqual(traceFields({ traceparent: bad }), {}, bad);
  }
  assert.deepEqual(traceFields({ traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }), {}, 'the all-zero trace id is invalid');
  assert.deepEqual(traceFields({}), {});
});

test('latency is a duration string; routes are written as openapi.yaml writes them', () => {
  assert.equal(durationString(12.3456), '0.012346s');
  assert.equal(durationString(-1), '0.000000s');
  assert.equal(pathTemplate('/orders/:order_id/checkout'), '/orders/{order_id}/checkout');
  assert.equal(pathTemplate('/sales/:sale_id/orders.csv'), '/sales/{sale_id}/orders.csv');
});

test('the metrics view groups the counters and bounds the percentiles by bucket', () => {
  const view = metricsView({
    'attempt:accepted': '3',
    'attempt:sold_out': '7',
    'final_ms_le:100': '98',
    'final_ms_le:1000': '1',
    'final_ms_le:inf': '1',
    'failed:sold_out': '2',
    pending_stale: '4',
    pending_stale_at: '2026-01-01T00:00:00.000Z',
    '5xx:orders': '1',
  });
  assert.deepEqual(view.attempts, { accepted: 3, sold_out: 7 });
  assert.deepEqual(view.failed_by_reason, { sold_out: 2 });
  assert.equal(view.final_latency_ms.count, 100);
  assert.equal(view.final_latency_ms.p50_at_most, 100);
  assert.equal(view.final_latency_ms.p99_at_most, 1000);
  assert.equal(view.pending_stale, 4);
  assert.deepEqual(view.errors_5xx, { orders: 1 });
  assert.equal(metricsView({ 'final_ms_le:inf': '1' }).final_latency_ms.p99_at_most, null, 'above the last bucket');
  assert.equal(metricsView({}).final_latency_ms.p50_at_most, null, 'nothing yet');
});

test('cursors round-trip, and one that is not a cursor of this list is refused', () => {
  const position = { t: '1700000000123456', id: '0b7e3a48-3d4b-4c4e-9f0e-2b1f5c1a9d00' };
  assert.deepEqual(decodeCursor(encodeCursor(position), orderPositionSchema), position);
  for (const bad of ['x', encodeCursor({ t: 'now', id: position.id }), encodeCursor({ ...position, extra: 1 })]) {
    assert.throws(() => decodeCursor(bad, orderPositionSchema), { code: 'invalid_request' });
  }
  const a = { t: '2', id: '00000000-0000-4000-8000-000000000001' };
  const b = { t: '2', id: '00000000-0000-4000-8000-000000000002' };
  assert.deepEqual([a, b, { t: '3', id: a.id }].sort(newestFirst), [{ t: '3', id: a.id }, b, a], 'newest first, the larger id first on a tie');
  assert.deepEqual(pageOf([1, 2, 3], 3, (n) => n), { items: [1, 2, 3] }, 'no next_cursor on the last page');
  assert.equal(decodeCursor(pageOf([1, 2, 3], 2, (n) => ({ t: String(n), id: a.id })).next_cursor ?? '', orderPositionSchema).t, '2');
});

test('CSV fields are quoted as RFC 4180 says', () => {
  assert.equal(csvField('plain@example.com'), 'plain@example.com');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
});
