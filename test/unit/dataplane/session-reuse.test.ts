/**
 * One pooled h2 session carries tunnel after tunnel: nothing accumulates per tunnel on the session
 * (listeners re-armed on each stream's close were once added anew every time).
 */
import { EventEmitter } from 'node:events';
import { exchange, importAddress, startEcho, perFile, westExportsToEast } from './harness';

const fixture = perFile(['east', 'west']);
const { cleanup } = fixture;

it('serves 40 tunnels in a row on one session without listeners piling up on it', async () => {
  // Any emitter past this many listeners for one event fails the test (Jest's process object does
  // not relay Node's MaxListenersExceededWarning, so the limit is checked directly).
  const tooMany: string[] = [];
  const addListener = EventEmitter.prototype.on;
  const checked = function (this: EventEmitter, event: string | symbol, fn: (...a: unknown[]) => void) {
    const result = addListener.call(this, event, fn);
    if (this.listenerCount(event) > 10) tooMany.push(`${this.constructor.name} ${String(event)}`);
    return result;
  };
  EventEmitter.prototype.on = checked;
  EventEmitter.prototype.addListener = checked;
  cleanup.add(() => {
    EventEmitter.prototype.on = addListener;
    EventEmitter.prototype.addListener = addListener;
  });
  const service = await startEcho(cleanup);
  const { west, east } = await westExportsToEast(cleanup, fixture.pki, service.port);
  for (let i = 0; i < 40; i++) {
    const outcome = await exchange(importAddress(east, 'svc'), Buffer.from(`m${i}`));
    expect(outcome.data.toString()).toBe(`m${i}`);
  }
  expect([...new Set(tooMany)]).toEqual([]);
  const opened = (await west.metrics.connectionsOpened.get()).values.reduce((n, v) => n + v.value, 0);
  expect(opened).toBe(40);
});
