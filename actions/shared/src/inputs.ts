// Input parsing shared by every action: typed values from the strings a workflow passes, with errors that
// name the input. Kept free of @actions/core so it is tested as plain functions.

/** Splits a comma- or newline-separated list; blanks and surrounding spaces are dropped. */
export function parseList(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/** The distinct items of a list, in first-seen order. */
export function unique<T>(items: Iterable<T>): T[] {
  return [...new Set(items)];
}

export function parseBoolean(text: string, inputName: string): boolean {
  const value = text.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false' || value === '') return false;
  throw new Error(`${inputName}: "${text}" is not a boolean (use true or false)`);
}

/** An http(s) URL without a trailing slash. */
export function parseBaseUrl(text: string, inputName: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`${inputName}: "${text}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(`${inputName}: "${text}" must be an http or https URL`);
  }
  if (url.search || url.hash) throw new Error(`${inputName}: "${text}" must not carry a query or fragment`);
  return url.toString().replace(/\/+$/, '');
}
