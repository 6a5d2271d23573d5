// The error catalogue: one place for every code, the same codes in openapi.yaml, and the
// mapping of script codes and framework errors onto it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';
import { ApiError, ERRORS } from '../../functions/src/lib/errors.ts';
import { toApiError } from '../../functions/src/lib/http.ts';
import { TAKE_CODES } from '../../functions/src/lib/scripts.ts';
import { takeOutcome } from '../../functions/src/orders/take.ts';

test('openapi.yaml names exactly the codes of the catalogue', () => {
  const spec = parse(readFileSync(new URL('../../openapi.yaml', import.meta.url), 'utf8')) as {
    definitions: { Error: { properties: { error: { enum: string[] } } } };
  };
  assert.deepEqual([...spec.definitions.Error.properties.error.enum].sort(), Object.keys(ERRORS).sort());
});

test('every code of docs/api.md is in the catalogue with its status', () => {
  const apiMd = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
  for (const [, status, code] of apiMd.matchAll(/`([45]\d\d) ([a-z_]+)`/g)) {
    assert.ok(code && code in ERRORS, `docs/api.md's ${code} is in the catalogue`);
    assert.equal(ERRORS[code as keyof typeof ERRORS].status, Number(status), code);
  }
});

test('an ApiError carries its status and a body of error, message and details', () => {
  const err = new ApiError('invalid_request', 'bad', { details: [{ field: 'x', problem: 'y' }] });
  assert.equal(err.status, 400);
  assert.deepEqual(err.toBody(), { error: 'invalid_request', message: 'bad', details: [{ field: 'x', problem: 'y' }] });
  assert.deepEqual(new ApiError('sold_out').toBody(), { error: 'sold_out', message: ERRORS.sold_out.message });
});

test("the framework's body-parser errors are the client's fault; anything else is internal and says nothing", () => {
  assert.equal(toApiError(Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed' })).code, 'invalid_request');
  const tooLarge = toApiError(Object.assign(new Error('too big'), { type: 'entity.too.large' }));
  assert.equal(tooLarge.code, 'payload_too_large');
  assert.equal(tooLarge.status, 413);
  assert.equal(tooLarge.headers?.connection, 'close', 'the rest of the body is not read: the connection cannot carry another request');
  const oversizedAndMalformed = Object.assign(new SyntaxError('Unexpected end'), { type: 'entity.parse.failed', body: '{"a": "' + 'x'.repeat(70 * 1024) });
  assert.equal(toApiError(oversizedAndMalformed).code, 'payload_too_large', 'the limit is looked at before the syntax');
  const crash = toApiError(new Error('secret connection string in here'));
  assert.equal(crash.code, 'internal');
  assert.equal(crash.status, 500);
  assert.doesNotMatch(JSON.stringify(crash.toBody()), /secret/);
});

test('each code of the take script maps to one answer', () => {
  assert.deepEqual(takeOutcome([TAKE_CODES.taken, 'o-1', 1234, 0, 0]), { outcome: 'taken', orderId: 'o-1', takenMs: 1234, replayed: false });
  assert.deepEqual(takeOutcome([TAKE_CODES.taken, 'o-1', 1234, 0, 1]), { outcome: 'taken', orderId: 'o-1', takenMs: 1234, replayed: true });
  assert.deepEqual(takeOutcome([TAKE_CODES.notLoaded, '', 1, 0, 0]), { outcome: 'not_loaded' });
  assert.throws(
    () => takeOutcome([TAKE_CODES.rateLimited, '', 1, 1500, 0]),
    (err: unknown) => err instanceof ApiError && err.status === 429 && err.headers?.['retry-after'] === '2',
  );
  const refusals: [number, string][] = [
    [TAKE_CODES.soldOut, 'sold_out'],
    [TAKE_CODES.alreadyPurchased, 'already_purchased'],
    [TAKE_CODES.notStarted, 'sale_not_started'],
    [TAKE_CODES.ended, 'sale_ended'],
  ];
  for (const [code, error] of refusals) {
    assert.throws(() => takeOutcome([code, '', 1]), (err: unknown) => err instanceof ApiError && err.code === error && err.status === 409);
  }
  assert.throws(() => takeOutcome([99, '', 1]), /unknown code 99/);
});
