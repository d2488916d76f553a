#!/usr/bin/env node
// The TypeScript SDK adapter of relay-conformance (docs/ADAPTERS.md, `relay-adapter/1`): reads one
// job from stdin, starts `@agent-relay/sdk`'s `AgentRelayClient` with the job's broker binary (mock-broker),
// makes each action's call through the SDK's public API, and reports what each came to as JSON
// lines on stdout. It holds no code for any particular fixture.
//
// The SDK is not installed next to this file: `adapters/typescript/install [VERSION]` puts the
// pinned (or given) version in the relay-conformance cache, where sdk.mjs finds it by the same rule
// ($RELAY_TS_SDK_VERSION chooses the version; $RELAY_TS_SDK_DIR a directory of your own). The
// `started` line names the package and version actually loaded; the calls a version lacks are found
// by the methods its client has, and the members it cannot pass by its version (`calls()`).

import { SDK_PACKAGE, SdkMissing, loadSdk as findSdk, within } from './sdk.mjs';

const PROTOCOL = 'relay-adapter/1';
const EXIT_ADAPTER_FAILED = 2;

// Report lines are the only thing this program writes to stdout. Console output of the SDK (it logs
// `[broker] Starting: …` with console.error, and console.log elsewhere) goes to stderr.
const stdoutWrite = process.stdout.write.bind(process.stdout);
for (const method of ['log', 'info', 'debug', 'trace', 'dir', 'table']) {
  console[method] = console.error.bind(console);
}
process.stdout.on('error', () => {}); // the runner went away: nothing left to tell it

function report(line) {
  stdoutWrite(`${JSON.stringify(line)}\n`);
}

function flushStdout() {
  return new Promise((resolve) => {
    if (!stdoutWrite('', () => resolve())) {
      process.stdout.once('drain', resolve);
    }
  });
}

function fail(message) {
  process.stderr.write(`typescript adapter: ${message}\n`);
  process.exit(EXIT_ADAPTER_FAILED);
}

// ---------------------------------------------------------------------------------------------
// Finding the SDK (sdk.mjs)

async function loadSdk() {
  try {
    return await findSdk();
  } catch (error) {
    if (error instanceof SdkMissing) fail(error.message);
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// The job

async function readJob() {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) {
    text += chunk;
  }
  const line = text.split('\n').find((candidate) => candidate.trim() !== '');
  if (line === undefined) fail('no job on stdin');
  let job;
  try {
    job = JSON.parse(line);
  } catch (error) {
    fail(`the job is not JSON: ${error.message}`);
  }
  const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (!isObject(job)) fail('the job is not a JSON object');
  if (job.protocol !== PROTOCOL) fail(`the job's protocol is ${JSON.stringify(job.protocol)}, not ${PROTOCOL}`);
  if (!isObject(job.broker) || typeof job.broker.binary !== 'string') fail('the job has no broker.binary');
  if (!Array.isArray(job.actions) || !job.actions.every((a) => isObject(a) && typeof a.call === 'string')) {
    fail('the job\'s actions are not a list of {call, args}');
  }
  return job;
}

const isTimeoutMs = (value) => Number.isSafeInteger(value) && value >= 0;

// ---------------------------------------------------------------------------------------------
// The calls: each maps the protocol's argument names onto the SDK's API, and the SDK's result back
// onto the `ok` payload's `result` (wire shape: renamed or re-wrapped, never invented).

const compareVersions = (a, b) => {
  const parts = (v) => String(v).split(/[.+-]/).slice(0, 3).map((n) => Number.parseInt(n, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i += 1) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};

// `{sdkKey: value}` for each protocol member present in `args` (absent ones stay absent, so the SDK's
// defaults apply).
function pick(args, names) {
  const out = {};
  for (const [wire, sdk] of Object.entries(names)) {
    if (Object.hasOwn(args, wire)) out[sdk] = args[wire];
  }
  return out;
}

const SPAWN_PTY_ARGS = {
  name: 'name',
  cli: 'cli',
  args: 'args',
  channels: 'channels',
  model: 'model',
  cwd: 'cwd',
  task: 'task',
  team: 'team',
  shadow_of: 'shadowOf',
  shadow_mode: 'shadowMode',
  idle_threshold_secs: 'idleThresholdSecs',
  restart_policy: 'restartPolicy',
  continue_from: 'continueFrom',
  skip_relay_prompt: 'skipRelayPrompt',
};
const SPAWN_HEADLESS_ARGS = {
  name: 'name',
  provider: 'provider',
  args: 'args',
  channels: 'channels',
  task: 'task',
  skip_relay_prompt: 'skipRelayPrompt',
};
const SEND_MESSAGE_ARGS = {
  to: 'to',
  text: 'text',
  from: 'from',
  thread_id: 'threadId',
  priority: 'priority',
  data: 'data',
  workspace_id: 'workspaceId',
  workspace_alias: 'workspaceAlias',
};

// call -> { method: the SDK's method, args: the protocol members it can pass, run(client, args) }.
// `method` is checked to exist, so an SDK version without it reports the call as unsupported.
function calls(sdkVersion) {
  const sendMessageArgs = { ...SEND_MESSAGE_ARGS };
  if (compareVersions(sdkVersion, '3.2.18') >= 0) sendMessageArgs.mode = 'mode'; // SendMessageInput.mode
  return {
    spawn_pty: {
      method: 'spawnPty',
      args: Object.keys(SPAWN_PTY_ARGS),
      run: (client, args) => client.spawnPty(pick(args, SPAWN_PTY_ARGS)),
    },
    spawn_headless: {
      method: 'spawnHeadless',
      args: Object.keys(SPAWN_HEADLESS_ARGS),
      run: (client, args) => client.spawnHeadless(pick(args, SPAWN_HEADLESS_ARGS)),
    },
    release_agent: {
      method: 'release',
      args: ['name', 'reason'],
      run: (client, args) => client.release(args.name, args.reason),
    },
    send_input: {
      method: 'sendInput',
      args: ['name', 'data'],
      run: (client, args) => client.sendInput(args.name, args.data),
    },
    set_model: {
      method: 'setModel',
      args: ['name', 'model', 'timeout_ms'],
      run: (client, args) =>
        client.setModel(
          args.name,
          args.model,
          Object.hasOwn(args, 'timeout_ms') ? { timeoutMs: args.timeout_ms } : undefined,
        ),
    },
    send_message: {
      method: 'sendMessage',
      args: Object.keys(sendMessageArgs),
      run: (client, args) => client.sendMessage(pick(args, sendMessageArgs)),
    },
    list_agents: {
      method: 'listAgents',
      args: [],
      // The SDK returns `result.agents`; the wire result is `{agents: [...]}`.
      run: async (client) => ({ agents: await client.listAgents() }),
    },
    get_status: { method: 'getStatus', args: [], run: (client) => client.getStatus() },
    get_metrics: {
      method: 'getMetrics',
      args: ['agent'],
      run: (client, args) => client.getMetrics(args.agent),
    },
    get_crash_insights: {
      method: 'getCrashInsights',
      args: [],
      run: (client) => client.getCrashInsights(),
    },
    // Returns nothing (the broker's answer is dropped), and sends nothing for an empty list.
    preflight_agents: {
      method: 'preflightAgents',
      args: ['agents'],
      run: (client, args) => client.preflightAgents(args.agents),
    },
    // Not in 3.2.5 (added in 3.2.18).
    resize_pty: {
      method: 'resizePty',
      args: ['name', 'rows', 'cols'],
      run: (client, args) => client.resizePty(args.name, args.rows, args.cols),
    },
    subscribe_channels: {
      method: 'subscribeChannels',
      args: ['name', 'channels'],
      run: (client, args) => client.subscribeChannels(args.name, args.channels),
    },
    unsubscribe_channels: {
      method: 'unsubscribeChannels',
      args: ['name', 'channels'],
      run: (client, args) => client.unsubscribeChannels(args.name, args.channels),
    },
    // Fires the request without waiting for its answer and returns nothing once the broker has
    // exited (after shutdownTimeoutMs it sends SIGTERM, then SIGKILL).
    shutdown: { method: 'shutdown', args: [], run: (client) => client.shutdown() },
    // The SDK's request functions (requestOk, sendRequest) are private, not API.
    raw_request: { method: undefined, args: ['type', 'payload'] },
  };
}

// ---------------------------------------------------------------------------------------------
// Outcomes

const outcome = {
  result: (value) => ({ result: value === undefined ? null : value }),
  message: (kind, message) => ({ [kind]: { message: String(message) } }),
};

class AdapterTimeout extends Error {}

// What an SDK error came to. The SDK's own classes: AgentRelayProtocolError (an `error` frame with
// the request's id) and AgentRelayProcessError, whose message tells a timeout (`request timed out
// after …`) from a broker exit (`broker exited (code=…, signal=…)`) or a call made with no broker
// (`broker is not running`).
function classify(error, sdk) {
  if (error instanceof sdk.AgentRelayProtocolError) {
    return {
      error: {
        code: error.code ?? null,
        message: error.message ?? null,
        retryable: error.retryable ?? null,
        data: error.data ?? null,
      },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof AdapterTimeout || /^request timed out after /.test(message)) {
    return outcome.message('timeout', message);
  }
  if (
    /^broker exited \(/.test(message) ||
    message === 'broker is not running' ||
    ['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END'].includes(error?.code)
  ) {
    return outcome.message('disconnected', message);
  }
  const name = error instanceof Error ? error.name : typeof error;
  return outcome.message('failed', `${name}: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// The run

let liveClient; // for the emergency exits below

function killBroker(signal) {
  const pid = liveClient?.brokerPid;
  if (pid !== undefined) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

// Writes to a broker that has gone raise EPIPE on its stdin, which the SDK does not listen for; the
// request that wrote is then failed by the SDK's exit handling. Anything else is the adapter's own
// failure.
process.on('uncaughtException', (error) => {
  if (['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END'].includes(error?.code)) {
    process.stderr.write(`typescript adapter: ignored a write to the broker: ${error.message}\n`);
    return;
  }
  process.stderr.write(`typescript adapter: ${error?.stack ?? error}\n`);
  killBroker('SIGKILL');
  process.exit(EXIT_ADAPTER_FAILED);
});
// A request whose write failed is left pending in the SDK, and is rejected again when the broker
// exits, with nobody listening: that is the SDK's business, not a failure of the adapter.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`typescript adapter: ignored an unhandled rejection in the SDK: ${reason?.message ?? reason}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    killBroker('SIGKILL');
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15));
  });
}

// Closes the client without another request. 3.2.5 has no public close or disconnect: a program
// that is done without shutdown() exits, which closes the broker's stdin, so the adapter does the
// same by ending the child's stdin (the SDK's `child`, a TypeScript-private member). Then it waits
// for the broker to exit (public waitForExit), and kills it only if it does not.
async function closeClient(client, graceMs) {
  if (client.brokerPid === undefined) return;
  const stdin = client.child?.stdin;
  if (stdin && !stdin.destroyed) {
    stdin.on('error', () => {});
    stdin.end();
  } else {
    killBroker('SIGTERM');
  }
  if (await within(client.waitForExit(), graceMs)) return;
  process.stderr.write(`typescript adapter: the broker did not exit within ${graceMs} ms of stdin's end; SIGTERM\n`);
  killBroker('SIGTERM');
  if (await within(client.waitForExit(), 1_000)) return;
  killBroker('SIGKILL');
  await within(client.waitForExit(), 1_000);
}

async function main() {
  const job = await readJob();
  const sdk = await loadSdk();
  const table = calls(sdk.version);
  const { broker } = job;

  // The SDK has one request timeout per client. It is the job's, or the largest action timeout if
  // that is longer; an action with a shorter timeout_ms is cut short by the adapter.
  const requestTimeoutMs = isTimeoutMs(job.request_timeout_ms) ? job.request_timeout_ms : undefined;
  const actionTimeouts = job.actions.map((a) => a.timeout_ms).filter(isTimeoutMs);
  const clientTimeoutMs =
    requestTimeoutMs === undefined && actionTimeouts.length === 0
      ? undefined
      : Math.max(requestTimeoutMs ?? 10_000, ...actionTimeouts);

  const options = {
    binaryPath: broker.binary,
    env: { ...process.env, ...(broker.env ?? {}) },
  };
  if (typeof broker.name === 'string') options.brokerName = broker.name;
  if (Array.isArray(broker.channels)) options.channels = broker.channels;
  if (typeof broker.cwd === 'string') options.cwd = broker.cwd;
  if (clientTimeoutMs !== undefined) options.requestTimeoutMs = clientTimeoutMs;

  const client = new sdk.module.AgentRelayClient(options);
  liveClient = client;
  const graceMs = Math.max(5_000, clientTimeoutMs ?? 0);

  try {
    await client.start();
  } catch (error) {
    report({ kind: 'start_failed', outcome: classify(error, sdk.module) });
    await closeClient(client, graceMs);
    report({ kind: 'finished' });
    return;
  }
  report({ kind: 'started', sdk: sdk.name, version: sdk.version });

  for (const [index, action] of job.actions.entries()) {
    const result = await perform(client, table, sdk, action, {
      timeoutMs: isTimeoutMs(action.timeout_ms) ? action.timeout_ms : requestTimeoutMs,
      clientTimeoutMs,
    });
    report({ kind: 'outcome', action: index, call: action.call, outcome: result });
  }

  await closeClient(client, graceMs);
  report({ kind: 'finished' });
}

async function perform(client, table, sdk, action, { timeoutMs, clientTimeoutMs }) {
  const spec = table[action.call];
  const label = `${sdk.name} ${sdk.version}`;
  if (!spec) {
    return outcome.message('unsupported', `unknown call \`${action.call}\``);
  }
  if (!spec.method || typeof client[spec.method] !== 'function') {
    const why =
      action.call === 'raw_request'
        ? 'has no public low-level request function (requestOk/sendRequest are private)'
        : `has no API for ${action.call}`;
    return outcome.message('unsupported', `${label} ${why}`);
  }
  const args = action.args ?? {};
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    return outcome.message('unsupported', `${label} cannot express non-object args ${JSON.stringify(args)}`);
  }
  const extra = Object.keys(args).filter((name) => !spec.args.includes(name));
  if (extra.length > 0) {
    return outcome.message(
      'unsupported',
      `${label} ${spec.method}() cannot pass ${extra.map((name) => `\`${name}\``).join(', ')}`,
    );
  }
  // Every 3.2.5 call but shutdown() starts a new broker when the last one has exited. One run of
  // the adapter has one broker, so such a call is not made.
  if (client.brokerPid === undefined && action.call !== 'shutdown') {
    return outcome.message(
      'failed',
      `the broker has exited; ${label} ${spec.method}() would start a new broker instead of failing, so it was not called`,
    );
  }

  let timer;
  const cutShort =
    timeoutMs !== undefined && clientTimeoutMs !== undefined && timeoutMs < clientTimeoutMs
      ? new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new AdapterTimeout(`no answer within this action's timeout_ms (${timeoutMs} ms)`)),
            timeoutMs,
          );
        })
      : undefined;
  try {
    const call = Promise.resolve().then(() => spec.run(client, args));
    return outcome.result(await (cutShort ? Promise.race([call, cutShort]) : call));
  } catch (error) {
    return classify(error, sdk.module);
  } finally {
    clearTimeout(timer);
  }
}

main().then(
  async () => {
    await flushStdout();
    process.exit(0);
  },
  async (error) => {
    process.stderr.write(`typescript adapter: ${error?.stack ?? error}\n`);
    killBroker('SIGKILL');
    await flushStdout();
    process.exit(EXIT_ADAPTER_FAILED);
  },
);
