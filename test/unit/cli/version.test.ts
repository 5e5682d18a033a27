import { cli } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../../package.json') as { version: string };

test.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
  const result = await cli([flag]);
  expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
});

test('--help lists --version', async () => {
  const result = await cli(['--help']);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/-V, --version\s+print the version/);
});
