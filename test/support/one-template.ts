// A reader for OpenNebula's template configuration format (oned.conf, monitord.conf): top-level
// `KEY = value` and `KEY = [ A = v, B = "w" ]` entries, `#` comments. Repeated keys (IM_MAD, VM_MAD) keep
// every occurrence. Used by the tests to check what the image's config step wrote.
export type TemplateValue = string | Record<string, string>;

export function parseTemplate(text: string): Map<string, TemplateValue[]> {
  const entries = new Map<string, TemplateValue[]>();
  const source = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('\n');
  const unquote = (value: string) => value.trim().replace(/^"(.*)"$/s, '$1');
  const re = /([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(\[[^\]]*\]|"[^"]*"|[^\s\n]+)/g;
  for (const match of source.matchAll(re)) {
    const [, key, raw] = match;
    let value: TemplateValue;
    if (raw!.startsWith('[')) {
      value = {};
      for (const part of raw!.slice(1, -1).matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=\s*("[^"]*"|[^,\s]+)/g)) {
        value[part[1]!.toUpperCase()] = unquote(part[2]!);
      }
    } else {
      value = unquote(raw!);
    }
    const name = key!.toUpperCase();
    entries.set(name, [...(entries.get(name) ?? []), value]);
  }
  return entries;
}

/** The single value of KEY (throws when absent or repeated). */
export function templateValue(text: string, key: string): TemplateValue {
  const values = parseTemplate(text).get(key.toUpperCase());
  if (!values || values.length !== 1)
    throw new Error(`${key}: expected one entry, found ${values?.length ?? 0}`);
  return values[0]!;
}
