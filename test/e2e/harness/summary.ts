/**
 * Scenario bookkeeping for the end-to-end suite: each scenario reports a key figure, and the
 * suite prints one table at the end (scenario, result, key figure).
 */
export interface ScenarioResult {
  readonly scenario: string;
  readonly result: 'pass' | 'FAIL';
  readonly figure: string;
}

const results: ScenarioResult[] = [];

/** A jest test that records its outcome and the figure it returns. */
export function scenario(name: string, body: () => Promise<string>, timeoutMs?: number): void {
  test(
    name,
    async () => {
      try {
        const figure = await body();
        results.push({ scenario: name, result: 'pass', figure });
      } catch (err) {
        const message = (err as Error)?.message?.split('\n')[0] ?? String(err);
        results.push({ scenario: name, result: 'FAIL', figure: message.slice(0, 100) });
        throw err;
      }
    },
    timeoutMs,
  );
}

export function summaryTable(title: string, rows: readonly ScenarioResult[] = results): string {
  const header: ScenarioResult = { scenario: 'scenario', result: 'pass', figure: 'key figure' };
  const all = [header, ...rows];
  const w1 = Math.max(...all.map((r) => r.scenario.length));
  const w2 = 'result'.length;
  const line = (a: string, b: string, c: string) => `| ${a.padEnd(w1)} | ${b.padEnd(w2)} | ${c} |`;
  return [
    '',
    `== ${title}`,
    line('scenario', 'result', 'key figure'),
    line('-'.repeat(w1), '-'.repeat(w2), '-'.repeat(10)),
    ...rows.map((r) => line(r.scenario, r.result, r.figure)),
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
