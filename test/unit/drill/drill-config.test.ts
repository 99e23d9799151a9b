import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvoyError } from '../../../src/errors/index.ts';
import { drillSettings, pickInstall } from '../../../src/drill/drill-config.ts';

test('drill settings: archiving off, private authentication files, timed log lines; --set wins', () => {
  const settings = drillSettings('/tmp/d', { shared_buffers: '64MB', fsync: 'on' });
  assert.equal(settings['archive_mode'], 'off');
  assert.equal(settings['hba_file'], '/tmp/d/drill_hba.conf');
  assert.equal(settings['ident_file'], '/tmp/d/drill_ident.conf');
  assert.equal(settings['log_line_prefix'], '%m [%p] ');
  assert.equal(settings['log_timezone'], 'UTC');
  assert.equal(settings['shared_buffers'], '64MB');
  assert.equal(settings['fsync'], 'on');
});

test('pickInstall: no PG_VERSION, a bindir without postgres, a bindir of another major', () => {
  const code = (run: () => unknown): string => {
    try {
      run();
      return 'no error';
    } catch (error) {
      assert.ok(error instanceof ConvoyError);
      return error.code;
    }
  };
  assert.equal(code(() => pickInstall(null, undefined)), 'RECOVERY_FAILED');
  assert.equal(code(() => pickInstall(15, '/nonexistent/bin')), 'OPTION_INVALID');
  assert.equal(code(() => pickInstall(7, undefined)), 'CLUSTER_FAILED');
});
