// A reader for OpenNebula's template configuration format (oned.conf, monitord.conf): top-level
// `KEY = value` and `KEY = [ A = v, B = "w" ]` entries, `#` comments. Repeated keys (IM_MAD, VM_MAD) keep
// every occurrence. It follows oned's lexer (src/parsers/template_parser.l): a quoted string runs to the
// next `"` not escaped as `\"` (so `]`, `,` and `#` inside it are text), a bare value to a blank, `,`,
// `]` or `#`; `\"` reads as `"` (oned's unescape). Used by the tests to check what the config step wrote.
export type TemplateValue = string | Record<string, string>;

class Scanner {
  i = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.i >= this.text.length;
  }
  peek(): string {
    return this.text[this.i] ?? '';
  }
  /** Skips blanks, newlines and comments. */
  space(): void {
    while (!this.done) {
      if (/\s/.test(this.peek())) this.i++;
      else if (this.peek() === '#') while (!this.done && this.peek() !== '\n') this.i++;
      else return;
    }
  }
  blanks(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.i++;
  }
  name(): string | undefined {
    const match = /^[A-Za-z0-9_]+/.exec(this.text.slice(this.i));
    if (!match) return undefined;
    this.i += match[0].length;
    return match[0].toUpperCase();
  }
  value(): string {
    if (this.peek() === '"') {
      let out = '';
      this.i++;
      while (!this.done && this.peek() !== '"') {
        if (this.peek() === '\\' && this.text[this.i + 1] === '"') {
          out += '"';
          this.i += 2;
        } else out += this.text[this.i++];
      }
      this.i++;
      return out;
    }
    const match = /^[^=#\s,[\]]*/.exec(this.text.slice(this.i))!;
    this.i += match[0].length;
    return match[0];
  }
  vector(): Record<string, string> {
    const out: Record<string, string> = {};
    this.i++; // [
    for (;;) {
      this.space();
      if (this.done || this.peek() === ']') break;
      const name = this.name();
      if (!name) {
        this.i++;
        continue;
      }
      this.blanks();
      if (this.peek() === '=') this.i++;
      this.blanks();
      out[name] = this.value();
      this.space();
      if (this.peek() === ',') this.i++;
    }
    this.i++; // ]
    return out;
  }
}

export function parseTemplate(text: string): Map<string, TemplateValue[]> {
  const entries = new Map<string, TemplateValue[]>();
  const scan = new Scanner(text);
  for (;;) {
    scan.space();
    if (scan.done) break;
    const key = scan.name();
    if (!key) {
      scan.i++;
      continue;
    }
    scan.blanks();
    if (scan.peek() !== '=') continue;
    scan.i++;
    scan.blanks();
    const value: TemplateValue = scan.peek() === '[' ? scan.vector() : scan.value();
    entries.set(key, [...(entries.get(key) ?? []), value]);
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
