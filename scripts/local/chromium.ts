// The browser of the end-to-end tests: Debian's chromium, installed by the project if missing
// (a test tool's own browser download cannot reach its servers from here).
import { findBinary, installDebianPackage } from './system.ts';

export function chromiumPath(): string {
  const found = findBinary('chromium', ['/usr/bin/chromium']);
  if (found) return found;
  installDebianPackage('chromium');
  const installed = findBinary('chromium', ['/usr/bin/chromium']);
  if (!installed) throw new Error('chromium is still missing after installing the chromium package');
  return installed;
}

/** Headless, and quiet: the closed network refuses Chromium's own background connections. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
