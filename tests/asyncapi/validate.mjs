// Parses an AsyncAPI document with @asyncapi/parser; prints its diagnostics as JSON; exits 1 on any error.
import { readFile } from 'node:fs/promises';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';

const SEVERITY = { [DiagnosticSeverity.Error]: 'error', [DiagnosticSeverity.Warning]: 'warning',
                   [DiagnosticSeverity.Information]: 'information', [DiagnosticSeverity.Hint]: 'hint' };

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate.mjs <asyncapi.json>');
  process.exit(2);
}
const { document, diagnostics } = await new Parser().parse(await readFile(file, 'utf8'));
const report = diagnostics.map(d => ({ severity: SEVERITY[d.severity], code: d.code, message: d.message,
                                       path: d.path.join('/') }));
console.log(JSON.stringify({ parsed: document !== undefined, diagnostics: report }, null, 1));
process.exit(document !== undefined && !report.some(d => d.severity === 'error') ? 0 : 1);
