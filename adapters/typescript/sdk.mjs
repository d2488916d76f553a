// What the programs of this directory share: finding and loading the pinned `@agent-relay/sdk` (the
// version pinned in package.json, installed by `adapters/typescript/install` in the relay-conformance
// cache, or in $RELAY_TS_SDK_DIR), and a deadline helper.
//
// `loadSdk()` resolves to `{ module, name, version, dir }`, `module` being the `./client` export
// (AgentRelayClient, AgentRelayProtocolError, AgentRelayProcessError). It throws `SdkMissing` when
// the SDK is not installed; the caller decides how to fail.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const SDK_PACKAGE = '@agent-relay/sdk';

export class SdkMissing extends Error {}

export function pinnedVersion() {
  const manifest = JSON.parse(fs.readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
  return manifest.dependencies[SDK_PACKAGE];
}

// The cache root, as relay-conformance computes it: $RELAY_CONFORMANCE_CACHE, else an absolute
// $XDG_CACHE_HOME/relay-conformance, else $HOME/.cache/relay-conformance.
export function cacheRoot() {
  const { RELAY_CONFORMANCE_CACHE: explicit, XDG_CACHE_HOME: xdg, HOME: home } = process.env;
  if (explicit) return explicit;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, 'relay-conformance');
  if (home) return path.join(home, '.cache', 'relay-conformance');
  return undefined;
}

// The directory the install script uses (and prints).
export function sdkDir() {
  if (process.env.RELAY_TS_SDK_DIR) return process.env.RELAY_TS_SDK_DIR;
  const root = cacheRoot();
  return root && path.join(root, 'adapters', `typescript-${pinnedVersion()}`);
}

export async function loadSdk() {
  const dir = sdkDir();
  const packageDir = dir && path.join(dir, 'node_modules', ...SDK_PACKAGE.split('/'));
  const manifestPath = packageDir && path.join(packageDir, 'package.json');
  if (!manifestPath || !fs.existsSync(manifestPath)) {
    throw new SdkMissing(
      `${SDK_PACKAGE} is not installed${dir ? ` in ${dir}` : ''}; ` +
        'run adapters/typescript/install (it prints the directory; RELAY_TS_SDK_DIR overrides it)',
    );
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  // ESM ignores NODE_PATH: import the `./client` export by its absolute file URL.
  const exported = manifest.exports?.['./client'];
  const entry =
    (typeof exported === 'string' ? exported : exported?.import ?? exported?.default) ??
    './dist/client.js';
  const module = await import(pathToFileURL(path.join(packageDir, entry)).href);
  if (typeof module.AgentRelayClient !== 'function') {
    throw new SdkMissing(`${manifestPath}: the ./client export has no AgentRelayClient`);
  }
  return { module, name: manifest.name, version: manifest.version, dir };
}

// Resolves to true if `promise` settles within `ms`, else to false.
export function within(promise, ms) {
  let timer;
  return Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
