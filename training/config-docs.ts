/**
 * docs/config.md, generated from the kinds' settings schemas (`npm run docs:config` writes it; a
 * test checks that the committed file is what this produces).
 */
import { z } from 'zod';
import { getKind, listKinds } from './kinds/index';

interface JsonSchema {
  type?: string;
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema | false;
  prefixItems?: JsonSchema[];
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  default?: unknown;
  description?: string;
  unit?: string;
  properties?: Record<string, JsonSchema>;
}

/** The reference text (Markdown) of every registered kind's settings. */
export function configReference(): string {
  const lines = [
    '# Model settings',
    '',
    '<!-- Generated from the settings schemas in training/kinds/*/config.ts by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Pass settings to `seismo train --kind <kind> --config settings.json` as one JSON object, or as `config` to `trainModel()`.',
    'A setting not given takes the default below; a name the kind does not know is refused (`ERR_INVALID_OPTION`, naming the closest known one).',
    '`channels` always comes from the data. W is the window, C the channel count, D = W * C.',
    '',
    `Kinds: ${listKinds().map((k) => `[${k}](#${k})`).join(', ')}.`,
    '',
  ];
  for (const kind of listKinds()) {
    const spec = getKind(kind);
    const json = z.toJSONSchema(spec.schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    lines.push(`## ${kind}`, '', `Score: \`${spec.score.definition}\`. ${spec.score.description}`, '', '| setting | type and range | default | unit | meaning |', '|---|---|---|---|---|');
    for (const [name, p] of Object.entries(json.properties ?? {})) {
      const def = 'default' in p ? `\`${JSON.stringify(p.default)}\`` : name === 'channels' ? 'from the data' : '(see meaning)';
      lines.push(`| \`${name}\` | ${typeText(p)} | ${def} | ${p.unit ?? ''} | ${(p.description ?? '').replace(/\|/g, '\\|')} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function typeText(p: JsonSchema): string {
  if (p.anyOf) return p.anyOf.map(typeText).join(' or ');
  if (p.const !== undefined) return `\`${JSON.stringify(p.const)}\``;
  if (p.enum) return `one of ${p.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`;
  if (p.type === 'null') return '`null`';
  if (p.type === 'boolean') return 'boolean';
  if (p.type === 'array') {
    if (p.prefixItems) return `[${p.prefixItems.map(typeText).join(', ')}]`;
    const n = p.minItems ? `, at least ${p.minItems}` : '';
    return `list of ${p.items ? typeText(p.items) : 'values'}${n}`;
  }
  if (p.type === 'integer' || p.type === 'number') {
    const lo = p.exclusiveMinimum !== undefined ? `> ${p.exclusiveMinimum}` : p.minimum !== undefined && p.minimum > -Number.MAX_SAFE_INTEGER ? `>= ${p.minimum}` : '';
    const hi = p.exclusiveMaximum !== undefined ? `< ${p.exclusiveMaximum}` : p.maximum !== undefined && p.maximum < Number.MAX_SAFE_INTEGER ? `<= ${p.maximum}` : '';
    const range = [lo, hi].filter(Boolean).join(', ');
    return `${p.type}${range ? ` ${range}` : ''}`;
  }
  return p.type ?? 'value';
}
