// The live view's deployment, offline: which functions Terraform lets publish to Firestore
// (FIRESTORE_PROJECT_ID and roles/datastore.user: the publishing ones, nothing for the others),
// the Firestore database, the Hosting site, and the Hosting origins allowed by CORS.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parityDeployment } from '../../scripts/parity/deployment.ts';
import { FUNCTION_NAMES } from '../../functions/src/function-names.ts';
import { ROOT, TF, parseModule, resourceBody } from '../../scripts/terraform-model.ts';

const PUBLISHERS = ['sales', 'orders', 'order-worker', 'sweeper'];

test('the publishing functions, and only they, are given the Firestore project', async () => {
  const deployment = await parityDeployment({
    root: ROOT,
    projectId: 'p-live',
    projectNumber: '123456789012',
    region: 'europe-west1',
    jwtIssuer: 'https://issuer.example',
    corsAllowedOrigins: [],
    secrets: { DATABASE_URL: 'postgres://x', REDIS_URL: 'redis://x', JWT_PRIVATE_KEY: 'k' },
    jwtPublicKeyPem: 'pem',
  });
  for (const name of FUNCTION_NAMES) {
    const env = deployment.functions[name]?.env ?? {};
    assert.equal(env.FIRESTORE_PROJECT_ID, PUBLISHERS.includes(name) ? 'p-live' : undefined, name);
    assert.equal(env.FIRESTORE_EMULATOR_HOST, undefined, `${name}: the real service in the cloud`);
  }
});

test('roles/datastore.user goes to the functions whose environment names Firestore, project-wide', async () => {
  const grant = resourceBody(await parseModule('modules/functions'), 'google_project_iam_member', 'live_view_publisher');
  assert.equal(grant.role, 'roles/datastore.user');
  assert.match(grant.for_each as string, /module\.env\.environment/);
  assert.match(grant.for_each as string, /"FIRESTORE_PROJECT_ID"/);
  assert.equal(grant.member, 'serviceAccount:${google_service_account.function[each.key].email}');
});

test('the Firestore database is native, in the region of the rest; Hosting has a site and its origins may call the API', async () => {
  const flashSale = await parseModule('modules/flash-sale');
  const db = resourceBody(flashSale, 'google_firestore_database', 'live_view');
  assert.deepEqual([db.name, db.type, db.location_id], ['(default)', 'FIRESTORE_NATIVE', '${var.region}']);
  assert.equal(resourceBody(flashSale, 'google_firebase_hosting_site', 'web').app_id, '${google_firebase_web_app.web.app_id}');
  const main = readFileSync(path.join(TF, 'modules/flash-sale/main.tf'), 'utf8');
  for (const api of ['firestore.googleapis.com', 'firebase.googleapis.com', 'firebasehosting.googleapis.com', 'firebaserules.googleapis.com']) assert.ok(main.includes(`"${api}"`), api);
  assert.match(main, /cors_allowed_origins = concat\(var\.cors_allowed_origins, local\.hosting_origins\)/);
  assert.match(main, /hosting_origins = \["https:\/\/\$\{var\.project_id\}\.web\.app", "https:\/\/\$\{var\.project_id\}\.firebaseapp\.com"\]/);
});
