// Checks the compatibility matrix's HTML page in a real headless Chromium (driven by
// playwright-core, with the system's Chromium: nothing is downloaded): the DOM against the
// matrix's JSON, the filters after real clicks, the layout at 1400 px and on a laptop screen, and
// a screenshot. Run by scripts/test-matrix-browser, which builds the matrix first:
//
//   node matrix.test.mjs --html DIR/matrix.html --json DIR/matrix.json \
//     --chromium PATH --screenshots DIR
//
// Exits 0 when every check holds, 1 with the failed checks otherwise.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';

const DEADLINE_MS = 30_000;

function options() {
  const args = process.argv.slice(2);
  const named = {};
  for (let i = 0; i < args.length; i += 2) {
    if (!args[i].startsWith('--') || args[i + 1] === undefined) {
      throw new Error(`usage: node matrix.test.mjs --html F --json F --chromium PATH --screenshots DIR (at ${args[i]})`);
    }
    named[args[i].slice(2)] = args[i + 1];
  }
  for (const name of ['html', 'json', 'chromium', 'screenshots']) {
    if (!named[name]) throw new Error(`--${name} is required`);
  }
  return named;
}

const failures = [];
function check(condition, what) {
  if (condition) {
    console.log(`ok   ${what}`);
  } else {
    console.log(`FAIL ${what}`);
    failures.push(what);
  }
}

/** The word the reports use for a result of the matrix's JSON (results.rs, `Verdict::label`). */
function verdictLabel(result) {
  const verdict = result.expectation.verdict;
  if (verdict === 'known' || verdict === 'known_flaky') return 'KNOWN';
  if (verdict === 'stale') return 'STALE';
  if (result.status === 'pass') return (result.failed_attempts ?? []).length > 0 ? 'FLAKY' : 'PASS';
  return result.status.toUpperCase();
}

function isPng(file) {
  const bytes = fs.readFileSync(file);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes.length > 10_000 && bytes.subarray(0, 8).equals(signature);
}

async function main() {
  const opts = options();
  const matrix = JSON.parse(fs.readFileSync(opts.json, 'utf8'));
  const pageUrl = pathToFileURL(path.resolve(opts.html)).href;
  fs.mkdirSync(opts.screenshots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'matrix-browser-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: opts.chromium,
    headless: true,
    timeout: DEADLINE_MS,
    viewport: { width: 1400, height: 900 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  try {
    context.setDefaultTimeout(DEADLINE_MS);
    const page = context.pages()[0] ?? await context.newPage();
    const pageErrors = [];
    const requests = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(pageUrl, { waitUntil: 'load' });

    // Provenance.
    const provenance = await page.evaluate(() => document.getElementById('provenance')?.innerText ?? '');
    check(provenance.includes(`relay-conformance ${matrix.meta.kit_version}`), 'provenance names the kit and its version');
    check(provenance.includes(matrix.meta.generated_at) && provenance.includes(matrix.meta.machine), 'provenance has the date and the machine');
    check(matrix.meta.corpus_digest !== undefined && provenance.includes(`sha256 ${matrix.meta.corpus_digest.slice(0, 16)}`), 'provenance has the corpus digest');

    // The per-fixture table: a row per fixture, a column per implementation, each label the
    // verdict of that implementation's result in the JSON.
    const table = page.locator('#matrix-fixtures');
    check(await table.count() === 1, 'the per-fixture table is there');
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      id: tr.querySelector('td code').textContent,
      plain: tr.getAttribute('data-plain'),
      area: tr.getAttribute('data-area'),
      cells: [...tr.querySelectorAll('td')].slice(4).map((td) => td.textContent.trim()),
    })));
    check(rows.length === matrix.fixtures.length, `${rows.length} rows for the ${matrix.fixtures.length} fixtures of matrix.json`);
    const implementations = matrix.implementations;
    check(rows.every((row) => row.cells.length === implementations.length), `every row has a cell per implementation (${implementations.length})`);
    implementations.forEach((implementation, column) => {
      const results = implementation.run.ran?.results ?? [];
      const byId = new Map(results.map((result) => [result.id, result]));
      const labelled = rows.filter((row) => !['·', '–'].includes(row.cells[column]));
      const agree = labelled.every((row) => byId.has(row.id) && verdictLabel(byId.get(row.id)) === row.cells[column]);
      check(agree, `${implementation.name}: each of its ${labelled.length} labels is its result's verdict in matrix.json`);
      if (implementation.run.ran) check(labelled.length > 0, `${implementation.name}: it has results in the table`);
    });

    // Only what is not a plain pass.
    const visible = () => table.locator('tbody tr').evaluateAll((trs) => trs.filter((tr) => !tr.hidden && tr.offsetParent !== null).map((tr) => ({
      id: tr.querySelector('td code').textContent,
      plain: tr.getAttribute('data-plain'),
      area: tr.getAttribute('data-area'),
      cells: [...tr.querySelectorAll('td')].slice(4).map((td) => td.textContent.trim()),
    })));
    check((await visible()).length === rows.length, 'every row shows before any filter');
    await page.locator('#only-not-pass').click();
    const notPass = await visible();
    const expectedNotPass = rows.filter((row) => row.cells.some((cell) => !['PASS', '·', '–'].includes(cell)));
    check(notPass.length === expectedNotPass.length, `"only not a plain pass" shows ${notPass.length} rows, those with a label other than PASS (${expectedNotPass.length})`);
    check(notPass.every((row) => row.plain === '0'), 'no plain pass is shown');
    check(rows.some((row) => row.plain === '1') && notPass.length < rows.length, 'plain passes were hidden');
    await page.locator('#only-not-pass').click();
    check((await visible()).length === rows.length, 'unticked, every row shows again');

    // An area.
    const area = matrix.fixtures.find((fixture) => fixture.level)?.id.split('/')[0];
    await page.locator('#filter-area').selectOption(area);
    const inArea = await visible();
    const expectedInArea = matrix.fixtures.filter((fixture) => fixture.level && fixture.id.split('/')[0] === area);
    check(inArea.length === expectedInArea.length && inArea.every((row) => row.id.startsWith(`${area}/`)), `area ${area}: its ${expectedInArea.length} fixtures only`);
    check((await page.locator('#shown-count').innerText()).startsWith(`${expectedInArea.length} of ${rows.length}`), 'the count says how many are shown');
    await page.locator('#filter-area').selectOption('');
    await page.locator('#filter-level').selectOption('SHOULD');
    const should = await visible();
    check(should.length === matrix.fixtures.filter((fixture) => fixture.level === 'SHOULD').length, 'level SHOULD: the SHOULD fixtures only');
    await page.locator('#filter-level').selectOption('');

    // Links: a fixture's id opens its file.
    const href = await table.locator('tbody tr a.fx').first().getAttribute('href');
    const target = href && new URL(href, pageUrl);
    check(target?.protocol === 'file:' && fs.existsSync(fileURLToPath(target)), `a fixture's link opens its file (${href})`);

    // Expected versus actual, side by side, where a failure has them.
    const diffs = page.locator('.diff');
    if (await diffs.count() > 0) {
      const first = diffs.first();
      check(await first.locator('.expected pre').count() === 1 && await first.locator('.actual pre').count() === 1, 'a failure shows expected and actual side by side');
    }

    // The layout at 1400 px: nothing wider than the viewport, no horizontal scroll.
    const overflow = async () => page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')]
        .filter((el) => el.getClientRects().length > 0)
        .filter((el) => el.getBoundingClientRect().right > width + 0.5)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''}`);
      return { width, scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 5), count: wide.length };
    });
    await page.evaluate(() => document.querySelectorAll('details').forEach((d) => { d.open = true; }));
    const at1400 = await overflow();
    check(at1400.scroll <= at1400.width, `1400 px: no horizontal scroll (${at1400.scroll} <= ${at1400.width})`);
    check(at1400.count === 0, `1400 px: no element wider than the viewport (${at1400.count}: ${at1400.wide.join(', ')})`);
    const implementationsTable = await page.locator('table.implementations').evaluate((el) => el.getBoundingClientRect().right);
    check(implementationsTable <= at1400.width, `1400 px: the Implementations table fits (${Math.round(implementationsTable)} <= ${at1400.width})`);
    const wide = path.join(opts.screenshots, 'matrix-1400.png');
    await page.screenshot({ path: wide, fullPage: true });
    check(isPng(wide), `a full-page screenshot at 1400 px: ${wide}`);

    // A laptop screen: the page itself does not scroll sideways (wide tables scroll in their box).
    await page.setViewportSize({ width: 1280, height: 800 });
    const laptop = await overflow();
    check(laptop.scroll <= laptop.width, `1280 px: no horizontal scroll of the page (${laptop.scroll} <= ${laptop.width})`);
    const small = path.join(opts.screenshots, 'matrix-1280.png');
    await page.screenshot({ path: small });
    check(isPng(small), `a screenshot at 1280 px: ${small}`);

    check(pageErrors.length === 0, `no script error (${pageErrors.join('; ')})`);
    const outside = requests.filter((url) => !url.startsWith('file:'));
    check(outside.length === 0, `no request leaves the file (${outside.slice(0, 3).join(', ')})`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.log(`\n${failures.length} check(s) failed`);
    process.exit(1);
  }
  console.log('\nthe matrix page passes every check');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
