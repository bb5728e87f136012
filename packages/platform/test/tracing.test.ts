import { startTracing, wantsExport } from '@ralm/platform/tracing';

describe('tracing configuration from OTEL_* variables', () => {
  it.each([
    [{}, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
  ])('%j exports: %s', (env, expected) => {
    expect(wantsExport(env)).toBe(expected);
  });

  it('installs nothing without an endpoint, so shutdown has nothing to flush', async () => {
    const tracing = startTracing('test', {});
    expect(tracing.exporting).toBe(false);
    await expect(tracing.shutdown()).resolves.toBeUndefined();
  });
});
