/** The rules kernel/ holds once for everyone: names and labels, log levels, the peer name of a certificate. */
import {
  DEPRECATED_LOG_LEVEL_ENV,
  LOG_LEVELS,
  LOG_LEVEL_ENV,
  isLogLevel,
} from '../../../kernel/api/conventions';
import {
  dnsLabelProblem,
  isDnsLabel,
  isDnsSubdomain,
  isLabelKey,
  isLabelValue,
} from '../../../kernel/api/names';
import { dnsNames, firstDnsSan } from '../../../kernel/identity';
import { logLevelFromEnvironment } from '../../../kernel/log';

describe('names', () => {
  test('DNS labels: lower-case letters, digits and "-", at most 63 characters', () => {
    for (const ok of ['east', 'site-1', '0', 'a'.repeat(63)])
      expect([ok, isDnsLabel(ok)]).toEqual([ok, true]);
    for (const bad of ['', 'East', '-east', 'east-', 'a.b', 'a'.repeat(64)])
      expect([bad, isDnsLabel(bad)]).toEqual([bad, false]);
    expect(dnsLabelProblem('east')).toBeUndefined();
    expect(dnsLabelProblem('')).toBe('must not be empty');
    expect(dnsLabelProblem('a'.repeat(64))).toBe('must be at most 63 characters (got 64)');
    expect(dnsLabelProblem('East')).toMatch(/lower-case letters/);
  });

  test('DNS subdomains, label keys and values', () => {
    expect(isDnsSubdomain('a.b-c.d')).toBe(true);
    expect(isDnsSubdomain('a..b')).toBe(false);
    expect(isDnsSubdomain('a'.repeat(254))).toBe(false);
    expect(isLabelKey('app')).toBe(true);
    expect(isLabelKey('example.com/My_app.v1')).toBe(true);
    expect(isLabelKey('Example.com/app')).toBe(false);
    expect(isLabelKey('x/' + 'a'.repeat(64))).toBe(false);
    expect(isLabelKey('/app')).toBe(false);
    expect(isLabelValue('')).toBe(true);
    expect(isLabelValue('v1.2_x')).toBe(true);
    expect(isLabelValue('-v')).toBe(false);
    expect(isLabelValue('a'.repeat(64))).toBe(false);
  });
});

describe('log levels', () => {
  test('one list, checked by isLogLevel', () => {
    expect(LOG_LEVELS).toEqual(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
    expect(isLogLevel('debug')).toBe(true);
    expect(isLogLevel('verbose')).toBe(false);
  });

  test(`${LOG_LEVEL_ENV} wins; ${DEPRECATED_LOG_LEVEL_ENV} is read with one deprecation warning`, () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(logLevelFromEnvironment({})).toBeUndefined();
      expect(logLevelFromEnvironment({ [LOG_LEVEL_ENV]: 'debug', [DEPRECATED_LOG_LEVEL_ENV]: 'warn' })).toBe(
        'debug',
      );
      expect(warn).not.toHaveBeenCalled();
      expect(logLevelFromEnvironment({ [DEPRECATED_LOG_LEVEL_ENV]: 'warn' })).toBe('warn');
      expect(logLevelFromEnvironment({ [DEPRECATED_LOG_LEVEL_ENV]: 'warn' })).toBe('warn');
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toBe('CLUSTERLINK_LOG_LEVEL is deprecated: set CL_LOG_LEVEL instead');
    } finally {
      warn.mockRestore();
    }
  });
});

describe('peer name of a certificate', () => {
  test('the first DNS SAN, never anything else', () => {
    expect(firstDnsSan('IP Address:10.0.0.1, DNS:west, DNS:dataplane.west')).toBe('west');
    expect(firstDnsSan('IP Address:10.0.0.1')).toBeUndefined();
    expect(firstDnsSan('DNS:')).toBeUndefined();
    expect(firstDnsSan(undefined)).toBeUndefined();
    expect(dnsNames('DNS:"a, b", DNS:c')).toEqual(['a, b', 'c']);
  });
});
