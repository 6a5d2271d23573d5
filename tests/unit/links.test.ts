// The README and docs/ link only to what is inside the repository: every relative link and
// image resolves to a file or folder here, and every #anchor to a heading of its page.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.join(import.meta.dirname, '../..');

function pages(): string[] {
  const docs = path.join(ROOT, 'docs');
  const inDocs = readdirSync(docs, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => path.join(docs, f));
  return [path.join(ROOT, 'README.md'), ...inDocs];
}

/** The text outside fenced code blocks and inline code, where a link is a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Targets of inline links and images, `[text](target)` / `![alt](target "title")`, and of `[ref]: target`. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown);
  const inline = [...text.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
  const references = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$/gm)].map((m) => m[1] ?? '');
  return [...inline, ...references];
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const [, heading = ''] of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

test('the anchors and links are read as GitHub reads them', () => {
  assert.deepEqual(
    [...headingAnchors('# Flash sale\n## 4. The purchase path\n## `POST /orders`\n## Holds\n## Holds\n```\n# not a heading\n```')],
    ['flash-sale', '4-the-purchase-path', 'post-orders', 'holds', 'holds-1'],
  );
  assert.deepEqual(
    linkTargets('[a](docs/api.md) ![b](x.png "t") [c](https://x.org) `[d](code.md)`\n```\n[e](fenced.md)\n```\n[f]: ../g.md'),
    ['docs/api.md', 'x.png', 'https://x.org', '../g.md'],
  );
});

test('every relative link of README.md and docs/ resolves inside the repository', () => {
  const problems: string[] = [];
  let checked = 0;
  for (const page of pages()) {
    const markdown = readFileSync(page, 'utf8');
    const from = path.relative(ROOT, page);
    for (const target of linkTargets(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: — not a file here
      checked++;
      const [file = '', anchor] = target.split('#', 2);
      const resolved = file ? path.resolve(path.dirname(page), decodeURIComponent(file)) : page;
      const inside = path.relative(ROOT, resolved);
      if (inside.startsWith('..') || path.isAbsolute(inside)) {
        problems.push(`${from}: ${target} leaves the repository`);
        continue;
      }
      if (inside.split(path.sep).includes('node_modules') || !existsSync(resolved)) {
        problems.push(`${from}: ${target} does not exist`);
        continue;
      }
      if (anchor && resolved.endsWith('.md') && statSync(resolved).isFile()) {
        if (!headingAnchors(readFileSync(resolved, 'utf8')).has(anchor)) problems.push(`${from}: ${target} names no heading`);
      }
    }
  }
  assert.ok(checked >= 10, `${checked} relative links checked`);
  assert.deepEqual(problems, []);
});
