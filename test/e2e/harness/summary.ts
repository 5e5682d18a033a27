/**
 * Scenario bookkeeping for the end-to-end suite: each scenario runs within a budget, reports a key
 * figure, and the suite prints one table at the end (scenario, result, time, key figure).
 */
import { killShortLived } from '../../harness/procs';
import { stopTransfers } from './transfer';

export interface ScenarioResult {
  readonly scenario: string;
  readonly result: 'pass' | 'FAIL';
  readonly figure: string;
  /** Wall time of the scenario body. */
  readonly ms?: number;
}

const results: ScenarioResult[] = [];

/** Budget of a scenario that names none (jest's own timeout is this plus the cleanup grace). */
export const DEFAULT_SCENARIO_MS = 120_000;
/**
 * After a scenario ran out of its budget: how long its own cleanup (finally blocks) may still run
 * before the next scenario starts. Its clients and transfers are ended first, so its awaits settle.
 */
export const CLEANUP_GRACE_MS = 150_000;

export class ScenarioTimeoutError extends Error {
  readonly code = 'CL_E2E_SCENARIO_TIMEOUT';
  constructor(name: string, budgetMs: number) {
    super(`scenario "${name}" did not finish within ${budgetMs} ms`);
    this.name = 'ScenarioTimeoutError';
  }
}

/**
 * Runs a scenario body within `budgetMs` and records the outcome. A body that throws is recorded
 * as FAIL and rethrown. A body that runs out of time is not left running beside the next scenario
 * (as a jest timeout would leave it): its clients (curl, probes, iperf3...) and transfers are
 * killed, so its awaits fail promptly and its finally blocks restore what it changed, and this
 * resolves only once the body has settled (or after CLEANUP_GRACE_MS).
 */
export async function runScenario(
  name: string,
  body: () => Promise<string>,
  budgetMs = DEFAULT_SCENARIO_MS,
  options: { /** Add the outcome to the summary table. @default true */ readonly record?: boolean } = {},
): Promise<string> {
  const record = (result: ScenarioResult) => {
    if (options.record ?? true) results.push(result);
  };
  const started = Date.now();
  const running = body();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ScenarioTimeoutError(name, budgetMs)), budgetMs);
  });
  try {
    const figure = await Promise.race([running, expired]);
    record({ scenario: name, result: 'pass', figure, ms: Date.now() - started });
    return figure;
  } catch (err) {
    if (err instanceof ScenarioTimeoutError) {
      const clients = killShortLived() + (await stopTransfers());
      let grace: NodeJS.Timeout | undefined;
      const settled = await Promise.race([
        running.then(
          () => true,
          () => true,
        ),
        new Promise<boolean>((r) => (grace = setTimeout(() => r(false), CLEANUP_GRACE_MS))),
      ]);
      clearTimeout(grace);
      process.stdout.write(
        `[e2e] ${name}: out of time after ${budgetMs} ms; ${clients} client(s) killed; ` +
          `${settled ? 'its cleanup finished' : `its cleanup still running after ${CLEANUP_GRACE_MS} ms`}\n`,
      );
    }
    const message = (err as Error)?.message?.split('\n')[0] ?? String(err);
    record({ scenario: name, result: 'FAIL', figure: message.slice(0, 100), ms: Date.now() - started });
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** A jest test that runs `body` through runScenario (budget, cleanup, outcome and figure). */
export function scenario(name: string, body: () => Promise<string>, budgetMs = DEFAULT_SCENARIO_MS): void {
  test(
    name,
    () => runScenario(name, body, budgetMs).then(() => undefined),
    budgetMs + CLEANUP_GRACE_MS + 10_000,
  );
}

export function summaryTable(title: string, rows: readonly ScenarioResult[] = results): string {
  const time = (r: ScenarioResult) => (r.ms === undefined ? '' : `${(r.ms / 1000).toFixed(1)} s`);
  const w1 = Math.max('scenario'.length, ...rows.map((r) => r.scenario.length));
  const w2 = 'result'.length;
  const w3 = Math.max('time'.length, ...rows.map((r) => time(r).length));
  const line = (a: string, b: string, t: string, c: string) =>
    `| ${a.padEnd(w1)} | ${b.padEnd(w2)} | ${t.padStart(w3)} | ${c} |`;
  return [
    '',
    `== ${title}`,
    line('scenario', 'result', 'time', 'key figure'),
    line('-'.repeat(w1), '-'.repeat(w2), '-'.repeat(w3), '-'.repeat(10)),
    ...rows.map((r) => line(r.scenario, r.result, time(r), r.figure)),
    '',
  ].join('\n');
}

/** Writes the table straight to stdout (console.log under jest adds a stack location). */
export function printSummary(title: string): void {
  process.stdout.write(summaryTable(title) + '\n');
}

export function formatBits(bitsPerSecond: number): string {
  return `${(bitsPerSecond / 1e9).toFixed(2)} Gbit/s`;
}

/** Full-size load runs only under `npm run test:soak`; CI runs them reduced. */
export const SOAK = process.env.CLUSTERLINK_E2E_SOAK === '1';
