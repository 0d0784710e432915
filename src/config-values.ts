import { isIP } from "node:net";

/**
 * Reading one environment variable into a value, or refusing it with a `ConfigError` naming the variable: the
 * building blocks of `loadConfig` (src/config.ts).
 */

/** A variable's value is missing or malformed; the message starts with the variable's name. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`);
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

// A DNS name: labels of letters, digits and inner hyphens, dot-separated (RFC 1123).
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** An address to listen on: an IP address or a host name (whether the name resolves is found out when listening). */
export function host(env: Env, name: string, fallback: string): string {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (isIP(raw) === 0 && !HOST_NAME.test(raw)) {
    throw new ConfigError(name, `"${raw}" is not an IP address or a host name (e.g. 0.0.0.0, 127.0.0.1, ::, localhost)`);
  }
  return raw;
}

export function list(env: Env, name: string): string[] {
  const raw = env[name]?.trim();
  if (!raw) return [];
  const items = raw.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) throw new ConfigError(name, "has an empty item in its comma-separated list");
  return [...new Set(items)];
}

/**
 * `*`, or a list of exact origins. Browsers send the serialized origin (lowercase scheme and host, no default
 * port, no path), and it is compared as a string, so anything else here could never match and is refused.
 */
export function origins(env: Env, name: string, fallback: "*" | string[]): "*" | string[] {
  const items = list(env, name);
  if (items.length === 0) return fallback;
  if (items.includes("*")) {
    if (items.length > 1) throw new ConfigError(name, "* allows every origin; give it alone or list exact origins");
    return "*";
  }
  for (const item of items) {
    const url = safeUrl(item);
    if (!url || !/^https?:$/.test(url.protocol) || url.origin !== item) {
      throw new ConfigError(name, `"${item}" is not an origin like https://app.example.com (scheme, host and port only)`);
    }
  }
  return items;
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

export function flag(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new ConfigError(name, `must be true or false, got "${env[name]}"`);
}

export function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!(values as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${values.join(", ")}, got "${raw}"`);
  return raw as T;
}

export function safeUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
