// The proxy the environment asks for, as @actions/http-client and curl read it: https_proxy / http_proxy
// (either case) for the scheme of each request, and no_proxy for hosts that are reached directly. A
// self-hosted runner behind a proxy reaches nothing without it. Built on undici's stable ProxyAgent (its
// EnvHttpProxyAgent prints an "experimental" process warning into every run that creates one).
import { Agent, Dispatcher, ProxyAgent } from 'undici';

export interface ProxySettings {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy: string[];
}

const first = (...values: (string | undefined)[]) =>
  values.find((value) => value !== undefined && value !== '');

/** The proxy variables of an environment; undefined when none names a proxy (no_proxy alone needs none). */
export function proxySettings(env: NodeJS.ProcessEnv = process.env): ProxySettings | undefined {
  const httpProxy = first(env.http_proxy, env.HTTP_PROXY);
  const httpsProxy = first(env.https_proxy, env.HTTPS_PROXY, httpProxy);
  if (!httpProxy && !httpsProxy) return undefined;
  const noProxy = (first(env.no_proxy, env.NO_PROXY) ?? '')
    .split(/[\s,]+/)
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  return { httpProxy, httpsProxy, noProxy };
}

/** Whether a no_proxy entry (`*`, `host`, `.domain`, `*.domain`, `host:port`, an IP) exempts a URL. */
function exempts(entry: string, url: URL): boolean {
  if (entry === '*') return true;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  let name = entry;
  let entryPort: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) [, name = entry, entryPort] = bracketed;
  else if (entry.split(':').length === 2) [name = entry, entryPort] = entry.split(':');
  name = name.replace(/^\*?\./, '');
  if (entryPort && entryPort !== port) return false;
  return host === name || host.endsWith(`.${name}`);
}

/** The proxy URL a request to `url` goes through, or undefined when it goes directly. */
export function proxyFor(url: string | URL, settings: ProxySettings | undefined): string | undefined {
  if (!settings) return undefined;
  const target = typeof url === 'string' ? new URL(url) : url;
  if (settings.noProxy.some((entry) => exempts(entry, target))) return undefined;
  return target.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy;
}

/** Sends each request through the proxy its URL needs, or directly. */
class EnvironmentProxy extends Dispatcher {
  private readonly direct = new Agent();
  private readonly agents = new Map<string, ProxyAgent>();

  constructor(private readonly settings: ProxySettings) {
    super();
  }

  private pick(origin: string): Dispatcher {
    const proxy = proxyFor(origin, this.settings);
    if (!proxy) return this.direct;
    let agent = this.agents.get(proxy);
    if (!agent) {
      agent = new ProxyAgent(proxy);
      this.agents.set(proxy, agent);
    }
    return agent;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    return this.pick(String(options.origin)).dispatch(options, handler);
  }

  override async close(): Promise<void> {
    await Promise.all([this.direct, ...this.agents.values()].map((agent) => agent.close()));
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.direct, ...this.agents.values()].map((agent) => agent.destroy()));
  }
}

let cached: { key: string; dispatcher: Dispatcher } | undefined;

/**
 * The dispatcher for the environment's proxy settings, or undefined when no proxy is set (the common case
 * uses Node's own fetch). One per distinct setting, kept for the process.
 */
export function proxyDispatcher(env: NodeJS.ProcessEnv = process.env): Dispatcher | undefined {
  const settings = proxySettings(env);
  if (!settings) return undefined;
  const key = JSON.stringify(settings);
  if (cached?.key !== key) cached = { key, dispatcher: new EnvironmentProxy(settings) };
  return cached.dispatcher;
}
