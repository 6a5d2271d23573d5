// DATABASE_CA: PostgreSQL over TLS with verify-ca semantics (the chain checked against the CA,
// not the host name: Cloud SQL's certificate names project:instance and no IP; docs/cloud.md §9).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { parseConfig } from '../../functions/src/lib/config.ts';
import { poolConfig } from '../../functions/src/lib/db.ts';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const URL_WITHOUT_SSLMODE = 'postgres://flashsale:secret@10.1.2.3:5432/flashsale';

/** pg's own reading of a pool's options (connection string merged in), as a client will connect. */
const ConnectionParameters = createRequire(import.meta.url)('pg/lib/connection-parameters.js') as new (config: unknown) => {
  ssl: unknown;
  host: string;
};

test('without DATABASE_CA the pool has no ssl option of its own', () => {
  const options = poolConfig(parseConfig({ DATABASE_URL: URL_WITHOUT_SSLMODE }));
  assert.equal(options.ssl, undefined);
  assert.equal(options.connectionString, URL_WITHOUT_SSLMODE);
});

test('with DATABASE_CA and a URL without sslmode, pg connects with exactly verify-ca: the CA, rejectUnauthorized, no host-name check', () => {
  const cfg = parseConfig({ DATABASE_URL: URL_WITHOUT_SSLMODE, DATABASE_CA: CA, DATABASE_POOL_SIZE: '7' });
  const options = poolConfig(cfg);
  assert.equal(options.max, 7);
  const ssl = new ConnectionParameters(options).ssl as { ca?: string; rejectUnauthorized?: boolean; checkServerIdentity?: () => unknown };
  assert.deepEqual(Object.keys(ssl).sort(), ['ca', 'checkServerIdentity', 'rejectUnauthorized']);
  assert.equal(ssl.ca, CA);
  assert.equal(ssl.rejectUnauthorized, true);
  assert.equal(ssl.checkServerIdentity?.(), undefined, 'any host name is accepted once the chain verifies');
});

test('with DATABASE_CA, an ssl parameter in DATABASE_URL (which would replace the CA check) stops the instance, naming it', () => {
  for (const query of ['sslmode=require', 'sslmode=disable', 'ssl=true', 'sslrootcert=/x.pem']) {
    assert.throws(() => parseConfig({ DATABASE_URL: `${URL_WITHOUT_SSLMODE}?${query}`, DATABASE_CA: CA }), /DATABASE_URL.*DATABASE_CA/);
  }
  assert.doesNotThrow(() => parseConfig({ DATABASE_URL: `${URL_WITHOUT_SSLMODE}?sslmode=require` }), 'without a CA the URL decides');
  assert.throws(() => parseConfig({ DATABASE_CA: 'not a pem' }), /DATABASE_CA/);
});

test('an empty DATABASE_CA or REDIS_TLS_CA is no CA (a store on plain TCP), not a bad certificate', () => {
  const cfg = parseConfig({ DATABASE_CA: '', REDIS_TLS_CA: '' });
  assert.equal(cfg.DATABASE_CA, undefined);
  assert.equal(cfg.REDIS_TLS_CA, undefined);
  assert.throws(() => parseConfig({ DATABASE_CA: 'not a certificate' }), /DATABASE_CA/);
});
