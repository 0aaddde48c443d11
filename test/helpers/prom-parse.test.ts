import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from './prom-parse.js';

const VALID = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400",} 3 1395066363000

# A plain comment
msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320
# TYPE lag gauge
lag NaN
`;

describe('parsePrometheusText', () => {
  it('parses the example of the exposition format documentation', () => {
    const m = parsePrometheusText(VALID);
    expect(m.get('http_requests_total')).toMatchObject({ type: 'counter', help: 'The total number of HTTP requests.' });
    expect(sampleValue(m, 'http_requests_total', { code: '400' })).toBe(3);
    expect(m.get('msdos_file_access_time_seconds')?.samples[0].labels).toEqual({ path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    expect(sampleValue(m, 'something_weird')).toBe(Infinity);
    expect(m.get('http_request_duration_seconds')?.samples).toHaveLength(5);
    expect(sampleValue(m, 'lag')).toBeNaN();
  });

  it.each([
    ['no final line feed', 'a 1'],
    ['a bad metric name', '1a 1\n'],
    ['a bad label name', 'a{1b="x"} 1\n'],
    ['a reserved label name', 'a{__name__="x"} 1\n'],
    ['a duplicate label', 'a{b="1",b="2"} 1\n'],
    ['an unquoted label value', 'a{b=1} 1\n'],
    ['an unknown escape', 'a{b="\\t"} 1\n'],
    ['an unterminated label value', 'a{b="x} 1\n'],
    ['a missing value', 'a{b="x"}\n'],
    ['a bad value', 'a 1,5\n'],
    ['a bad timestamp', 'a 1 1.5\n'],
    ['an unknown type', '# TYPE a meter\na 1\n'],
    ['a second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n'],
    ['a TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['a second HELP', '# HELP a x\n# HELP a y\na 1\n'],
    ['a duplicate series', 'a{b="1"} 1\na{b="1"} 2\n'],
    ['interleaved families', 'a 1\nb 1\na{c="1"} 1\n'],
    ['a negative counter', '# TYPE a counter\na -1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['decreasing buckets', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
    ['a count that differs from +Inf', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
  ])('refuses %s', (_name, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
