// The house's import rules (STYLE.md, "Our own habits"), read from the sources: no import cycle
// in the functions, nothing in lib/ from a function's own folder, and the scripts and the
// tests' helpers take what they share with the functions from lib/ alone, and the web client
// reaches into no other folder.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FUNCTION_NAMES } from '../../functions/src/function-names.ts';

const ROOT = path.join(import.meta.dirname, '../..');
const FUNCTIONS_SRC = path.join(ROOT, 'functions/src');

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.tsx?$/.test(f) && !f.split(path.sep).includes('node_modules'))
    .map((f) => path.join(dir, f));
}

/** The files a source imports by relative path, static or dynamic, as .ts paths. */
function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:\bfrom|\bimport\(?)\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
    path.resolve(path.dirname(file), (m[1] as string).replace(/\.js$/, '.ts')),
  );
}

const functionFolders = FUNCTION_NAMES.map((name) => path.join(FUNCTIONS_SRC, name) + path.sep);
const inFunctionFolder = (file: string) => functionFolders.some((folder) => file.startsWith(folder));
const rel = (file: string) => path.relative(ROOT, file);

test('the functions import no module that imports them back', () => {
  const graph = new Map(sourcesUnder(FUNCTIONS_SRC).map((f) => [f, relativeImports(f)]));
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (state.get(dep) === 'open') cycles.push([...stack.slice(stack.indexOf(dep)), dep].map(rel).join(' → '));
      else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});

test("nothing in functions/src/lib imports from a function's own folder", () => {
  const wrong = sourcesUnder(path.join(FUNCTIONS_SRC, 'lib')).flatMap((f) => relativeImports(f).filter(inFunctionFolder).map((d) => `${rel(f)} → ${rel(d)}`));
  assert.deepEqual(wrong, []);
});

test("the scripts and the tests' helpers use lib/, never a function's own folder", () => {
  const files = [...sourcesUnder(path.join(ROOT, 'scripts')), path.join(ROOT, 'tests/helpers.ts')];
  const wrong = files.flatMap((f) => relativeImports(f).filter(inFunctionFolder).map((d) => `${rel(f)} → ${rel(d)}`));
  assert.deepEqual(wrong, []);
});

test('the web client reaches nothing outside web/ by path: what it shares with the functions is @flash-sale/contract', () => {
  const web = path.join(ROOT, 'web') + path.sep;
  const wrong = sourcesUnder(path.join(ROOT, 'web/src')).flatMap((f) => relativeImports(f).filter((d) => !d.startsWith(web)).map((d) => `${rel(f)} → ${rel(d)}`));
  assert.deepEqual(wrong, []);
});
