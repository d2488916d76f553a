#!/usr/bin/env node
// The TypeScript SDK's benchmark driver: measures `@agent-relay/sdk`'s `AgentRelayClient` against
// mock-broker, for relay-conformance's benchmark orchestrator (the interface is in README.md,
// "Benchmark driver").
//
// It reads one job line on stdin: {"mock_broker": PATH, "runs": [{name, fixture, report, count |
// events}, ...]}. Each run starts a fresh client whose broker is mock-broker playing the run's
// fixture, makes the measured calls, then closes the broker's stdin without another request (as
// adapter.mjs does) and waits for it to exit. At the end it prints one JSON line on stdout with the
// figures of every run, or {"error": MESSAGE} for a run that failed. Logs go to stderr.
//
// Exit status: 0 when the job could be run (whatever each run came to), 2 for an unusable job, 3
// when the SDK is not installed (run adapters/typescript/install), 4 for an internal failure.

import { spawn } from 'node:child_process';

import { loadSdk, SdkMissing, within } from './sdk.mjs';

const EXIT_BAD_JOB = 2;
const EXIT_NO_SDK = 3;
const EXIT_INTERNAL = 4;

const BROKER_NAME = 'bench';
const CHANNELS = ['general'];
const REQUEST_TIMEOUT_MS = 60_000;
// A run that makes no progress (no call finished, no event seen) for this long has stalled (a
// write waiting for a broker that no longer reads: the SDK's request timeout does not cover it).
const STALL_MS = REQUEST_TIMEOUT_MS + 10_000;
// After the measured calls: how long the broker may take to exit once its stdin is closed.
const CLOSE_GRACE_MS = 5_000;
// ingest: how long to wait, after the response, for events still on their way.
const SETTLE_MS = 1_000;
// round_trip: round trips in a row through the SDK, then as many through the floor, and so on.
const TURN = 100;
// The floor's line: the request line the SDK writes for listAgents().
const FLOOR_LINE = '{"v":1,"type":"list_agents","request_id":"req_2","payload":{}}\n';

const RUN_KINDS = {
  round_trip: 'count',
  pipelined: 'count',
  ingest: 'events',
};

// The result line is the only thing written to stdout. The SDK's console output goes to stderr.
const stdoutWrite = process.stdout.write.bind(process.stdout);
for (const method of ['log', 'info', 'debug', 'trace', 'dir', 'table']) {
  console[method] = console.error.bind(console);
}
process.stdout.on('error', () => {});

function log(message) {
  process.stderr.write(`typescript bench: ${message}\n`);
}

class BadJob extends Error {}

// ---------------------------------------------------------------------------------------------
// Broker processes: never leave one running.

let liveChild; // the broker of the run under way, a ChildProcess

function brokerAlive(child) {
  return child !== undefined && child.exitCode === null && child.signalCode === null;
}

function killBroker(signal = 'SIGKILL') {
  if (brokerAlive(liveChild)) {
    try {
      liveChild.kill(signal);
    } catch {
      // already gone
    }
  }
}

let liveCat; // the floor's `cat`, a ChildProcess

process.on('exit', () => {
  killBroker('SIGKILL');
  if (liveCat !== undefined && liveCat.exitCode === null && liveCat.signalCode === null) {
    liveCat.kill('SIGKILL');
  }
});
for (const [signal, number] of [['SIGTERM', 15], ['SIGINT', 2], ['SIGHUP', 1]]) {
  process.on(signal, () => {
    log(`${signal}: killing the broker and exiting`);
    killBroker('SIGKILL');
    process.exit(128 + number);
  });
}
const PIPE_ERRORS = ['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED', 'ERR_STREAM_WRITE_AFTER_END'];
process.on('uncaughtException', (error) => {
  if (PIPE_ERRORS.includes(error?.code)) {
    log(`ignored a failed write to the broker: ${error.message}`);
    return;
  }
  log(`internal error: ${error?.stack ?? error}`);
  killBroker('SIGKILL');
  process.exit(EXIT_INTERNAL);
});
// A request the SDK left pending may be rejected again after its caller has gone: not ours.
process.on('unhandledRejection', (reason) => {
  log(`ignored an unhandled rejection: ${reason?.message ?? reason}`);
});

// ---------------------------------------------------------------------------------------------
// The job

// The first non-blank line of stdin (stdin need not be closed after it).
function readJobLine() {
  return new Promise((resolve, reject) => {
    let text = '';
    const stdin = process.stdin;
    const done = (line) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      stdin.unref?.();
      resolve(line);
    };
    const onData = (chunk) => {
      text += chunk;
      let newline;
      while ((newline = text.indexOf('\n')) >= 0) {
        const line = text.slice(0, newline);
        text = text.slice(newline + 1);
        if (line.trim() !== '') return done(line);
      }
      return undefined;
    };
    const onEnd = () => done(text.trim() === '' ? undefined : text);
    const onError = (error) => reject(new BadJob(`cannot read stdin: ${error.message}`));
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
  });
}

const isObject = (value) => value !== null && typeof value === 'object' && !Array.isArray(value);
const isCount = (value) => Number.isSafeInteger(value) && value >= 0;

function parseJob(line) {
  if (line === undefined) throw new BadJob('no job on stdin');
  let job;
  try {
    job = JSON.parse(line);
  } catch (error) {
    throw new BadJob(`the job is not JSON: ${error.message}`);
  }
  if (!isObject(job)) throw new BadJob('the job is not a JSON object');
  if (typeof job.mock_broker !== 'string' || job.mock_broker === '') {
    throw new BadJob('the job has no mock_broker path');
  }
  if (!Array.isArray(job.runs)) throw new BadJob('the job has no runs array');
  const names = new Set();
  job.runs.forEach((run, index) => {
    const where = `runs[${index}]`;
    if (!isObject(run)) throw new BadJob(`${where} is not an object`);
    const sizeKey = RUN_KINDS[run.name];
    if (sizeKey === undefined) {
      throw new BadJob(`${where}.name is ${JSON.stringify(run.name)}, not one of ${Object.keys(RUN_KINDS).join(', ')}`);
    }
    if (names.has(run.name)) throw new BadJob(`${where}: a second ${run.name} run`);
    names.add(run.name);
    for (const key of ['fixture', 'report']) {
      if (typeof run[key] !== 'string' || run[key] === '') throw new BadJob(`${where}.${key} is not a path`);
    }
    if (!isCount(run[sizeKey])) throw new BadJob(`${where}.${sizeKey} is not a non-negative integer`);
  });
  return job;
}

// ---------------------------------------------------------------------------------------------
// The runs

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const elapsedSeconds = (t0, t1) => Number(t1 - t0) / 1e9;

// Counts progress (finished calls, seen events) and rejects `stalled` when there is none for
// STALL_MS; the broker is then killed, which fails the SDK's pending requests.
class Watchdog {
  constructor(label) {
    this.progress = 0;
    let last = -1;
    let since = Date.now();
    this.stalled = new Promise((_, reject) => {
      this.timer = setInterval(() => {
        if (this.progress !== last) {
          last = this.progress;
          since = Date.now();
        } else if (Date.now() - since > STALL_MS) {
          clearInterval(this.timer);
          log(`${label}: no progress for ${STALL_MS} ms; killing the broker`);
          killBroker('SIGKILL');
          reject(new Error(`no progress for ${STALL_MS} ms (the SDK neither answered nor timed out)`));
        }
      }, 1_000);
    });
    this.stalled.catch(() => {});
  }

  guard(promise) {
    return Promise.race([promise, this.stalled]);
  }

  stop() {
    clearInterval(this.timer);
  }
}

function ensureBroker(client) {
  // Every 3.2.5 call starts a new broker when the last one has exited: never make one then.
  if (client.brokerPid === undefined) {
    throw new Error('the broker has exited (a call now would start a new one)');
  }
}

// The floor of a round trip for this runtime: `cat` over node's child_process pipes, one line
// written and read back (no parsing), as the SDK's own I/O goes.
class CatFloor {
  constructor() {
    this.child = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    liveCat = this.child;
    this.buffered = '';
    this.waiting = undefined;
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk) => {
      this.buffered += chunk;
      const newline = this.buffered.indexOf('\n');
      if (newline >= 0 && this.waiting !== undefined) {
        this.buffered = this.buffered.slice(newline + 1);
        const { resolve } = this.waiting;
        this.waiting = undefined;
        resolve();
      }
    });
    const fail = (why) => {
      if (this.waiting !== undefined) {
        const { reject } = this.waiting;
        this.waiting = undefined;
        reject(new Error(`the floor's cat ${why}`));
      }
    };
    this.child.stdout.on('end', () => fail('ended'));
    this.child.on('error', (error) => fail(`failed: ${error.message}`));
    this.child.stdin.on('error', (error) => fail(`stdin failed: ${error.message}`));
  }

  pingPong() {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.stdin.write(FLOOR_LINE);
    });
  }

  async close() {
    const exited = new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      return undefined;
    });
    this.child.stdin.end();
    if (!(await within(exited, CLOSE_GRACE_MS))) this.child.kill('SIGKILL');
    if (liveCat === this.child) liveCat = undefined;
  }
}

const MEASURE = {
  async round_trip(client, run, dog) {
    const samples = [];
    const floor = [];
    const cat = new CatFloor();
    try {
      while (samples.length < run.count) {
        const turn = Math.min(TURN, run.count - samples.length);
        for (let i = 0; i < turn; i += 1) {
          const t0 = process.hrtime.bigint();
          await cat.pingPong();
          const t1 = process.hrtime.bigint();
          floor.push(Number(t1 - t0) / 1e3);
        }
        for (let i = 0; i < turn; i += 1) {
          ensureBroker(client);
          const t0 = process.hrtime.bigint();
          await client.listAgents();
          const t1 = process.hrtime.bigint();
          samples.push(Number(t1 - t0) / 1e3);
          dog.progress += 1;
        }
      }
    } finally {
      await cat.close();
    }
    return {
      samples_us: samples,
      floor: { what: `cat over node ${process.version}'s child_process pipes`, samples_us: floor },
    };
  },

  async pipelined(client, run) {
    ensureBroker(client);
    const calls = new Array(run.count);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < run.count; i += 1) calls[i] = client.listAgents();
    await Promise.all(calls);
    const t1 = process.hrtime.bigint();
    return { count: run.count, seconds: elapsedSeconds(t0, t1) };
  },

  async ingest(client, run, dog) {
    let seen = 0;
    client.onEvent(() => {
      seen += 1;
    });
    ensureBroker(client);
    const beat = setInterval(() => {
      dog.progress = seen;
    }, 500);
    try {
      const t0 = process.hrtime.bigint();
      await client.listAgents();
      const t1 = process.hrtime.bigint();
      const seenAtResponse = seen;
      const settleEnd = Date.now() + SETTLE_MS;
      while (seen < run.events && Date.now() < settleEnd) await sleep(10);
      return {
        events: run.events,
        seen_at_response: seenAtResponse,
        seen_total: seen,
        seconds: elapsedSeconds(t0, t1),
      };
    } finally {
      clearInterval(beat);
      log(`ingest: the subscriber saw ${seen} of ${run.events} events`);
    }
  },
};

function describe(error) {
  if (error instanceof Error) {
    const code = error.code !== undefined ? ` [${error.code}]` : '';
    return `${error.name}${code}: ${error.message}`;
  }
  return String(error);
}

// Ends the broker's stdin (3.2.5 has no public close; this is what a program that exits without
// shutdown() does), then waits for it to exit: SIGTERM, then SIGKILL, if it does not.
async function closeBroker(child, exited, label) {
  if (child === undefined) return;
  if (brokerAlive(child) && child.stdin && !child.stdin.destroyed) child.stdin.end();
  if (await within(exited, CLOSE_GRACE_MS)) return;
  log(`${label}: the broker did not exit within ${CLOSE_GRACE_MS} ms of stdin's end; SIGTERM`);
  if (brokerAlive(child)) child.kill('SIGTERM');
  if (await within(exited, 1_000)) return;
  if (brokerAlive(child)) child.kill('SIGKILL');
  await within(exited, 1_000);
}

async function runOne(sdk, mockBroker, run) {
  const client = new sdk.module.AgentRelayClient({
    binaryPath: mockBroker,
    brokerName: BROKER_NAME,
    channels: CHANNELS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    env: { ...process.env, MOCK_BROKER_FIXTURE: run.fixture, MOCK_BROKER_REPORT: run.report },
  });
  client.onBrokerStderr((line) => log(`${run.name}: [broker stderr] ${line}`));
  const dog = new Watchdog(run.name);
  let child;
  let exited = Promise.resolve();
  try {
    const starting = client.start();
    // start() spawns the broker before its first await: keep the process (the SDK's
    // TypeScript-private `child`) to close it, and to kill it whatever happens.
    child = client.child;
    if (child !== undefined) {
      liveChild = child;
      child.stdin?.on('error', (error) => log(`${run.name}: broker stdin: ${error.message}`));
      exited = new Promise((resolve) => {
        if (!brokerAlive(child)) return resolve();
        child.once('exit', (code, signal) => {
          log(`${run.name}: the broker exited (code=${code}, signal=${signal})`);
          resolve();
        });
        child.once('error', () => resolve());
        return undefined;
      });
    }
    await dog.guard(starting);
    return await dog.guard(MEASURE[run.name](client, run, dog));
  } catch (error) {
    log(`${run.name}: failed: ${error?.stack ?? error}`);
    return { error: describe(error) };
  } finally {
    dog.stop();
    await closeBroker(child, exited, run.name);
    if (liveChild === child) liveChild = undefined;
  }
}

async function main() {
  let job;
  try {
    job = parseJob(await readJobLine());
  } catch (error) {
    if (!(error instanceof BadJob)) throw error;
    log(`bad job: ${error.message}`);
    return EXIT_BAD_JOB;
  }
  let sdk;
  try {
    sdk = await loadSdk();
  } catch (error) {
    if (!(error instanceof SdkMissing)) throw error;
    log(error.message);
    return EXIT_NO_SDK;
  }
  const result = { sdk: sdk.name, version: sdk.version, runtime: `node ${process.version}` };
  for (const run of job.runs) {
    log(`${run.name}: ${RUN_KINDS[run.name]} ${run[RUN_KINDS[run.name]]}`);
    result[run.name] = await runOne(sdk, job.mock_broker, run);
  }
  await new Promise((resolve) => {
    stdoutWrite(`${JSON.stringify(result)}\n`, () => resolve());
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`internal error: ${error?.stack ?? error}`);
    killBroker('SIGKILL');
    process.exit(EXIT_INTERNAL);
  },
);
