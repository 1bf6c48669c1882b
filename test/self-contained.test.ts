// The repository stands alone: a clone has nothing beside it, so no code, test, benchmark or script may refer to a
// path outside it (a sibling checkout, reference material on a developer's machine). Facts taken from outside
// material are written into the project's own test data instead.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');
const FOLDERS = ['src', 'test', 'bench', 'scripts'];
const CODE = /\.(ts|mts|cts|js|mjs|cjs|json|sh)$/;

// Where a string names a file the code opens or imports: module specifiers, path building, file-system calls.
const IMPORT = /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*)(['"`])([^'"`]+)\1/g;
const PATH_CALL =
  /\b(?:path\.(?:resolve|join)|readFileSync|readFile|readdirSync|readdir|existsSync|createReadStream|statSync|stat|lstat|access)\s*\(([^()]*)\)/g;
const LITERAL = /(['"`])((?:(?!\1)[^\\]|\\.)*)\1/g;
// Anywhere at all: the workplace's reference folders, and absolute paths into someone's machine.
const FOREIGN = /(?:^|[^\w.-])(?:shared\/reference|\.\.\/shared\/|\/work\/|\/root\/|\/home\/)/;

interface Finding {
  line: number;
  text: string;
}

function outside(target: string): boolean {
  const rel = path.relative(ROOT, target);
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel);
}

/** The places in a file (its path and text) that refer to a path outside the repository. */
function foreignPaths(file: string, text: string): Finding[] {
  const dir = path.dirname(file);
  const findings: Finding[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  const flag = (index: number, what: string) => findings.push({ line: lineOf(index), text: what });

  for (const m of text.matchAll(IMPORT)) {
    const spec = m[2] ?? '';
    if (spec.startsWith('.') && outside(path.resolve(dir, spec))) flag(m.index, spec);
  }
  for (const m of text.matchAll(PATH_CALL)) {
    const args = m[1] ?? '';
    const literals = [...args.matchAll(LITERAL)].map((l) => l[2] ?? '');
    if (literals.length === 0) continue;
    // Relative to this file's folder when built from it; otherwise from a variable, which here is the root.
    const base = /import\.meta\.dirname|__dirname/.test(args) ? dir : ROOT;
    const absolute = literals.find((l) => l.startsWith('/'));
    const target = absolute
      ? path.resolve(absolute, ...literals.slice(literals.indexOf(absolute) + 1))
      : path.resolve(base, ...literals);
    const relative = literals.some((l) => l.split(/[\\/]/).includes('..'));
    if (relative && outside(target)) flag(m.index, m[0]);
  }
  for (const m of text.matchAll(LITERAL)) {
    if (FOREIGN.test(m[2] ?? '')) flag(m.index, m[0]);
  }
  return findings;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : files(full);
    return CODE.test(entry.name) ? [full] : [];
  });
}

test('the checker finds the references it is meant to find', () => {
  const here = path.join(ROOT, 'src', 'compat', 'dnsimple', 'x.test.ts');
  const cases: [string, boolean][] = [
    ["const F = path.resolve(import.meta.dirname, '../../../../shared/reference/vendors/dnsimple');", true],
    ["const F = path.resolve(import.meta.dirname, '..', '..', '..', '..', 'elsewhere');", true],
    ["import { x } from '../../../../outside/helpers.ts';", true],
    ["readFileSync('/work/shared/reference/seeds/000.txt', 'utf8');", true],
    ["const root = path.resolve(import.meta.dirname, '..', '..', '..');", false],
    ["import { helpers } from '../../../test/helpers.ts';", false],
    ["const payload = '../../etc/passwd'; // hostile input, not a path we open", false],
    ["spawn('/usr/bin/chromium', []);", false],
  ];
  for (const [line, bad] of cases) {
    assert.equal(foreignPaths(here, line).length > 0, bad, line);
  }
});

test('no file under src/, test/, bench/ or scripts/ refers to a path outside the repository', () => {
  const found: string[] = [];
  for (const folder of FOLDERS) {
    for (const file of files(path.join(ROOT, folder))) {
      if (file === import.meta.filename) continue;
      for (const f of foreignPaths(file, readFileSync(file, 'utf8'))) {
        found.push(`${path.relative(ROOT, file)}:${f.line}: ${f.text}`);
      }
    }
  }
  assert.deepEqual(found, []);
});
