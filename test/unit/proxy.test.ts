// The environment's proxy, read as curl and @actions/http-client read it.
import { describe, expect, it } from 'vitest';
import { proxyDispatcher, proxyFor, proxySettings } from '../../actions/shared/src/proxy.js';

describe('proxySettings', () => {
  it('is undefined without a proxy (no_proxy alone asks for none)', () => {
    expect(proxySettings({})).toBeUndefined();
    expect(proxySettings({ NO_PROXY: 'localhost', http_proxy: '' })).toBeUndefined();
    expect(proxyDispatcher({ no_proxy: '127.0.0.1' })).toBeUndefined();
  });

  it('prefers the lower-case variables and lets https fall back to http_proxy', () => {
    expect(proxySettings({ http_proxy: 'http://a:3128', HTTP_PROXY: 'http://b:3128' })).toEqual({
      httpProxy: 'http://a:3128',
      httpsProxy: 'http://a:3128',
      noProxy: [],
    });
    expect(proxySettings({ HTTPS_PROXY: 'http://s:3128', NO_PROXY: ' .corp, 10.0.0.1 ,x:8443' })).toEqual({
      httpProxy: undefined,
      httpsProxy: 'http://s:3128',
      noProxy: ['.corp', '10.0.0.1', 'x:8443'],
    });
  });
});

describe('proxyFor', () => {
  const settings = proxySettings({
    http_proxy: 'http://plain:3128',
    https_proxy: 'http://tls:3128',
    no_proxy: 'internal.example, .corp.example,*.lab.example,registry.example:5000,127.0.0.1,[::1]',
  });

  it.each([
    ['https://ghcr.io/v2/', 'http://tls:3128'],
    ['http://repo.example/x', 'http://plain:3128'],
    ['https://internal.example/', undefined],
    ['https://a.internal.example/', undefined],
    ['https://notinternal.example/', 'http://tls:3128'],
    ['https://corp.example/', undefined],
    ['https://x.corp.example/', undefined],
    ['https://b.lab.example/', undefined],
    ['https://registry.example:5000/v2/', undefined],
    ['https://registry.example/v2/', 'http://tls:3128'],
    ['http://127.0.0.1:8080/', undefined],
    ['http://[::1]:8080/', undefined],
  ])('%s goes through %s', (url, proxy) => {
    expect(proxyFor(url, settings)).toBe(proxy);
  });

  it('sends nothing through a proxy for no_proxy=*', () => {
    expect(
      proxyFor('https://ghcr.io/', proxySettings({ https_proxy: 'http://p:1', NO_PROXY: '*' })),
    ).toBeUndefined();
  });

  it('uses no proxy for a scheme without one', () => {
    expect(proxyFor('http://repo.example/', proxySettings({ https_proxy: 'http://p:1' }))).toBeUndefined();
  });
});
