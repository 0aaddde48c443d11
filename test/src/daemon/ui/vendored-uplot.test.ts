/**
 * The dashboard's vendored uPlot is the pinned package's file, byte for byte,
 * with its license beside it: an upgrade of the dev dependency without a new
 * copy (or a hand-edited copy) fails here, so the two cannot drift.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadUiAssets, UI_STATIC_DIR } from '../../../../src/daemon/ui/ui-assets.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const require = createRequire(import.meta.url);
const UPLOT = dirname(require.resolve('uplot/package.json'));
const VENDOR = join(UI_STATIC_DIR, 'vendor');

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
const installed = JSON.parse(readFileSync(join(UPLOT, 'package.json'), 'utf8')) as { version: string };

describe('the vendored uPlot', () => {
  it('is pinned to an exact version in package.json, the one installed', () => {
    expect(pkg.devDependencies.uplot).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed.version).toBe(pkg.devDependencies.uplot);
  });

  it.each([
    ['uPlot.iife.min.js', 'dist/uPlot.iife.min.js'],
    ['uPlot.min.css', 'dist/uPlot.min.css'],
    ['uPlot.LICENSE.txt', 'LICENSE'],
  ])('has %s equal to the installed package file %s', (vendored, original) => {
    expect(readFileSync(join(VENDOR, vendored)).equals(readFileSync(join(UPLOT, original)))).toBe(true);
  });

  it('names the pinned version in the vendored file', () => {
    expect(readFileSync(join(VENDOR, 'uPlot.iife.min.js'), 'utf8')).toContain(`(v${pkg.devDependencies.uplot})`);
  });

  it('is among the files the daemon serves, with the page that loads it', () => {
    const assets = loadUiAssets();
    for (const name of ['index.html', 'app.js', 'dashboard.css', 'vendor/uPlot.iife.min.js', 'vendor/uPlot.min.css', 'vendor/uPlot.LICENSE.txt']) {
      expect(assets.has(name), name).toBe(true);
    }
    const page = assets.get('index.html')!.body.toString('utf8');
    expect(page).toContain('src="vendor/uPlot.iife.min.js"');
    // No CDN, no inline script or style: everything from this origin.
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(page).not.toMatch(/<style|\sstyle=/);
  });
});
