// What the programs of this directory share: finding and loading `@agent-relay/sdk`, and a deadline
// helper. The SDK is, in this order:
//
// - $RELAY_TS_SDK_DIR: a directory of your own: an installation (`node_modules/@agent-relay/sdk`
//   below it), the SDK package itself (its package.json names `@agent-relay/sdk`: a checkout or a
//   build, with its `dist/` built), or a checkout of the monorepo (`packages/sdk/`);
// - $RELAY_TS_SDK_VERSION: a published version, installed by `adapters/typescript/install VERSION`
//   in `<cache>/adapters/typescript-<VERSION>`;
// - else the version pinned in package.json, installed there by `adapters/typescript/install`.
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

// The published version asked for: $RELAY_TS_SDK_VERSION, else the pinned one.
export function selectedVersion() {
  return process.env.RELAY_TS_SDK_VERSION || pinnedVersion();
}

// The directory the install script uses (and prints), or $RELAY_TS_SDK_DIR.
export function sdkDir() {
  if (process.env.RELAY_TS_SDK_DIR) return process.env.RELAY_TS_SDK_DIR;
  const root = cacheRoot();
  return root && path.join(root, 'adapters', `typescript-${selectedVersion()}`);
}

// The SDK package's own directory in `dir` (see above), or undefined.
function packageDirIn(dir) {
  const names = (candidate) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(candidate, 'package.json'), 'utf8')).name === SDK_PACKAGE;
    } catch {
      return false;
    }
  };
  return [
    path.join(dir, 'node_modules', ...SDK_PACKAGE.split('/')),
    dir,
    path.join(dir, 'packages', 'sdk'),
  ].find(names);
}

export async function loadSdk() {
  const dir = sdkDir();
  const packageDir = dir && packageDirIn(dir);
  const manifestPath = packageDir && path.join(packageDir, 'package.json');
  if (!manifestPath) {
    const install = process.env.RELAY_TS_SDK_VERSION
      ? `adapters/typescript/install ${process.env.RELAY_TS_SDK_VERSION}`
      : 'adapters/typescript/install';
    throw new SdkMissing(
      `${SDK_PACKAGE} is not installed${dir ? ` in ${dir}` : ''}; ` +
        `run ${install} (it prints the directory; RELAY_TS_SDK_DIR overrides it)`,
    );
  }
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  // ESM ignores NODE_PATH: import the `./client` export by its absolute file URL.
  const exported = manifest.exports?.['./client'];
  const entry =
    (typeof exported === 'string' ? exported : exported?.import ?? exported?.default) ??
    './dist/client.js';
  const entryFile = path.join(packageDir, entry);
  if (!fs.existsSync(entryFile)) {
    throw new SdkMissing(`${entryFile} does not exist: build the SDK in ${packageDir} first`);
  }
  const module = await import(pathToFileURL(entryFile).href);
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
