// Which errors are a store not answering (503 unavailable, with Retry-After) and which are ours (500).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, isStoreUnavailable } from '../../functions/src/lib/errors.ts';
import { toApiError } from '../../functions/src/lib/http.ts';

function pgError(code: string): Error {
  return Object.assign(new Error('pg'), { code, severity: 'ERROR' });
}

function named(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

test('a store that does not answer, or says "not now", is 503 unavailable with Retry-After', () => {
  const unavailable = [
    new Error('Command timed out'),
    new Error('Connection is closed.'),
    named('MaxRetriesPerRequestError', 'Reached the max retries per request limit (which is 2).'),
    named('ReplyError', 'LOADING Redis is loading the dataset in memory'),
    named('ReplyError', 'BUSY Redis is busy running a script.'),
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' }),
    new Error('Connection terminated unexpectedly'),
    new Error('Query read timeout'),
    new Error('timeout exceeded when trying to connect'),
    pgError('57014'), // statement_timeout
    pgError('55P03'), // lock_timeout
    pgError('57P01'), // admin shutdown
    pgError('08006'),
    pgError('53300'),
  ];
  for (const err of unavailable) {
    assert.equal(isStoreUnavailable(err), true, err.message);
    const answer = toApiError(err);
    assert.equal(answer.status, 503, err.message);
    assert.equal(answer.headers?.['retry-after'], '1');
  }
});

test('a bug or a refusal is not: it stays 500 internal', () => {
  for (const err of [new Error('boom'), named('ReplyError', 'ERR Error running script'), pgError('23505'), pgError('42P01'), 'a string']) {
    assert.equal(isStoreUnavailable(err), false, String(err));
    assert.equal(toApiError(err).status, 500);
  }
});

test('every 503 says when to come back', () => {
  assert.equal(new ApiError('unavailable', 'The sale is being loaded; try again.').headers?.['retry-after'], '1');
  assert.equal(new ApiError('sold_out').headers, undefined);
});
