// Chart.yaml edited as YAML (the yaml package's Document API): comments, key order and quoting of every
// other line stay as the maintainers wrote them. Pure text in, text out.
import { isMap, isScalar, parseDocument, Scalar } from 'yaml';

export interface ChartMetadata {
  name: string;
  version: string;
  appVersion: string | undefined;
  description: string | undefined;
  /** Every key Chart.yaml holds, as parsed (for the index entry). */
  fields: Record<string, unknown>;
}

export function readChartYaml(text: string, source = 'Chart.yaml'): ChartMetadata {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new Error(`${source} is not valid YAML: ${document.errors[0]?.message ?? ''}`);
  }
  const fields = document.toJS() as unknown;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new Error(`${source} is not a YAML mapping`);
  }
  const record = fields as Record<string, unknown>;
  const text_ = (key: string) => {
    const node = document.get(key, true);
    if (node === undefined || node === null) return undefined;
    // appVersion: 7.4 is a number to YAML but a version to helm: take what was written.
    if (isScalar(node)) return node.source ?? String(node.value);
    return undefined;
  };
  const name = text_('name');
  const version = text_('version');
  if (!name) throw new Error(`${source} has no name`);
  if (!version) throw new Error(`${source} has no version`);
  return {
    name,
    version,
    appVersion: text_('appVersion'),
    description: text_('description'),
    fields: record,
  };
}

/**
 * Chart.yaml with `version` (and `appVersion`, when given) set. An image tag equal to the old appVersion in
 * the artifacthub.io/images annotation follows the new appVersion, as the chart's default image tag does.
 */
export function setChartVersions(text: string, version: string, appVersion?: string): string {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new Error(`Chart.yaml is not valid YAML: ${document.errors[0]?.message ?? ''}`);
  }
  const setString = (key: string, value: string) => {
    const node = document.get(key, true);
    if (isScalar(node)) {
      node.value = value;
      // A plain 7.4 would read back as a number: quote what YAML would not keep a string.
      if (node.type === 'PLAIN' && /^[0-9.eE+-]+$/.test(value) && !/^\d+\.\d+\.\d+/.test(value)) {
        node.type = Scalar.QUOTE_DOUBLE;
      }
    } else {
      const scalar = new Scalar(value);
      if (/^[0-9.eE+-]+$/.test(value)) scalar.type = Scalar.QUOTE_DOUBLE;
      document.set(key, scalar);
    }
  };
  const oldAppVersion = (() => {
    const node = document.get('appVersion', true);
    return isScalar(node) ? (node.source ?? String(node.value)) : undefined;
  })();
  setString('version', version);
  if (appVersion) {
    setString('appVersion', appVersion);
    const annotations = document.get('annotations', true);
    if (oldAppVersion && oldAppVersion !== appVersion && isMap(annotations)) {
      const images = annotations.get('artifacthub.io/images', true);
      if (isScalar(images) && typeof images.value === 'string') {
        const escaped = oldAppVersion.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        images.value = images.value.replace(
          new RegExp(`(image:\\s*\\S+?:)${escaped}(?=\\s|$)`, 'gm'),
          `$1${appVersion}`,
        );
      }
    }
  }
  return document.toString();
}
