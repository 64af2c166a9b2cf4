#!/usr/bin/env node
// Parse and type-check KQL queries offline with the official Kusto language service
// (npm @kusto/language-service-next, the Bridge.NET build of Kusto.Language).
//
//   node devtools/kql/check.js infra/alerts/*.kql            # files: one query per file
//   echo '[{"name": "q1", "query": "ComplianceRuns_CL | take 1"}]' | node devtools/kql/check.js
//
// Stdin items: {name, query, source?, parameters?}
//   source      "findings" | "runs": also declare a table named `source` with that DCR stream's
//               columns (a DCR transformKql reads `source`); default "findings".
//   parameters  workbook parameters the query may reference, each {name, type, multiSelect?,
//               quote?, delimiter?} (type 4 = time range, 2 = dropdown, 1 = text). Every `{Name}` /
//               `{Name:format}` is replaced by a literal of the right type before analysis; a time
//               range is tried both as a relative range (`> ago(2d)`) and as a custom one
//               (`between (datetime(..) .. datetime(..))`).
//
// Deployment placeholders ({{PROD_TAG}}, {{PROD_VALUE}}, {{OWNER_TAG}}, {{PORTAL_URL}}, {{WORKBOOK_URL}},
// {{SWEEP_MINUTES}}, {{WORKSPACE_ID}}) get
// sample values; an unknown {{...}} placeholder is an error (Bicep would leave it in the query).
//
// Tables: ComplianceFindings_CL and ComplianceRuns_CL from infra/schema/tables.json (generated from
// the code's record schema), plus the workspace-based Application Insights tables the queries use
// (AppTraces, AppExceptions; the columns of the Azure Monitor table reference that matter here).
//
// Output (stdout, JSON): {"ok": bool, "errors": n, "results": [{name, ok, errors: [...],
// warnings: [...], columns: [{name, type}]}]}; columns = the result schema of the query. Only
// diagnostics of severity Error fail a query; warnings and suggestions (including the editor's
// analyzers, e.g. KS508 join without kind) are listed separately. Exit code 0 when every query is
// free of errors, 1 when any has one, 2 on bad usage or a missing language service.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.resolve(__dirname, '..', '..');
const SCHEMA = path.join(ROOT, 'infra', 'schema', 'tables.json');

function loadKusto() {
  try {
    require('@kusto/language-service-next/bridge'); // defines global Bridge
    require('@kusto/language-service-next/Kusto.Language.Bridge'); // defines global Kusto
  } catch (err) {
    process.stderr.write(
      'check.js: @kusto/language-service-next is not installed; run `npm ci` (make setup does)\n' +
        `  (${err.message.split('\n')[0]})\n`,
    );
    process.exit(2);
  }
  return global.Kusto.Language;
}

// Types of infra/schema/tables.json (DCR stream / table column types) -> Kusto scalar types.
const TYPE_MAP = {
  string: 'string',
  datetime: 'datetime',
  bool: 'bool',
  boolean: 'bool',
  dynamic: 'dynamic',
  int: 'int',
  long: 'long',
  real: 'real',
  guid: 'guid',
};

// Workspace-based Application Insights tables (Azure Monitor table reference; the columns the
// product's queries may use plus the common ones, not every column of the service).
const APP_TABLES = {
  AppTraces: {
    TimeGenerated: 'datetime',
    Message: 'string',
    SeverityLevel: 'int',
    Properties: 'dynamic',
    Measurements: 'dynamic',
    OperationName: 'string',
    OperationId: 'string',
    ParentId: 'string',
    AppRoleName: 'string',
    AppRoleInstance: 'string',
    AppVersion: 'string',
    ClientType: 'string',
    ItemCount: 'int',
    ResourceGUID: 'string',
    SDKVersion: 'string',
    _ResourceId: 'string',
  },
  AppExceptions: {
    TimeGenerated: 'datetime',
    ProblemId: 'string',
    HandledAt: 'string',
    ExceptionType: 'string',
    Assembly: 'string',
    Method: 'string',
    OuterType: 'string',
    OuterMessage: 'string',
    OuterAssembly: 'string',
    OuterMethod: 'string',
    InnermostType: 'string',
    InnermostMessage: 'string',
    InnermostAssembly: 'string',
    InnermostMethod: 'string',
    SeverityLevel: 'int',
    Details: 'dynamic',
    Properties: 'dynamic',
    Measurements: 'dynamic',
    OperationName: 'string',
    OperationId: 'string',
    ParentId: 'string',
    AppRoleName: 'string',
    AppRoleInstance: 'string',
    AppVersion: 'string',
    ClientType: 'string',
    ItemCount: 'int',
    ResourceGUID: 'string',
    SDKVersion: 'string',
    _ResourceId: 'string',
  },
};

// Sample values for the deployment placeholders Bicep replaces with replace().
const PLACEHOLDERS = {
  PROD_TAG: 'environment',
  PROD_VALUE: 'production',
  SWEEP_MINUTES: '60',
  OWNER_TAG: 'owner',
  PORTAL_URL: 'https://portal.azure.com',
  WORKBOOK_URL:
    'https://portal.azure.com/#resource/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Insights/workbooks/00000000-0000-0000-0000-000000000001',
  WORKSPACE_ID:
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws',
};

function readSchema() {
  const schema = JSON.parse(fs.readFileSync(SCHEMA, 'utf8'));
  const tables = {};
  for (const key of ['findings', 'runs']) {
    const t = schema[key];
    if (!t || !t.table || !Array.isArray(t.columns)) throw new Error(`${SCHEMA}: no "${key}" table`);
    tables[key] = { name: t.table, columns: t.columns.map((c) => [c.name, c.type]) };
  }
  return tables;
}

function tableSymbol(S, name, columns) {
  const cols = columns.map(([col, type]) => {
    const kusto = TYPE_MAP[String(type).toLowerCase()];
    if (!kusto) throw new Error(`table ${name}: column ${col} has unsupported type ${type}`);
    return new S.ColumnSymbol(col, S.ScalarSymbol.From(kusto), null, null, null, null);
  });
  return new S.TableSymbol.$ctor4(name, cols);
}

function makeGlobals(K, tables) {
  const S = K.Symbols;
  const base = [
    tableSymbol(S, tables.findings.name, tables.findings.columns),
    tableSymbol(S, tables.runs.name, tables.runs.columns),
    ...Object.entries(APP_TABLES).map(([name, cols]) => tableSymbol(S, name, Object.entries(cols))),
  ];
  const globals = {};
  for (const key of ['findings', 'runs']) {
    const source = tableSymbol(S, 'source', tables[key].columns);
    const db = new S.DatabaseSymbol.ctor('workspace', [...base, source]);
    globals[key] = K.GlobalState.Default.WithDatabase(db);
  }
  return globals;
}

// --- substitution ------------------------------------------------------------------------------

function substitutePlaceholders(query, problems) {
  return query.replace(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g, (whole, name) => {
    if (Object.prototype.hasOwnProperty.call(PLACEHOLDERS, name)) return PLACEHOLDERS[name];
    problems.push(`unknown deployment placeholder ${whole}: add a sample value to PLACEHOLDERS in check.js`);
    return whole;
  });
}

const TIME_FORMS = {
  relative: {
    '': '> ago(2d)',
    value: '> ago(2d)',
    query: '> ago(2d)',
    start: 'datetime(2026-01-01T00:00:00Z)',
    end: 'datetime(2026-01-03T00:00:00Z)',
    grain: '1h',
    label: 'Last 48 hours',
  },
  custom: {
    '': 'between (datetime(2026-01-01T00:00:00Z) .. datetime(2026-01-03T00:00:00Z))',
    value: 'between (datetime(2026-01-01T00:00:00Z) .. datetime(2026-01-03T00:00:00Z))',
    query: 'between (datetime(2026-01-01T00:00:00Z) .. datetime(2026-01-03T00:00:00Z))',
    start: 'datetime(2026-01-01T00:00:00Z)',
    end: 'datetime(2026-01-03T00:00:00Z)',
    grain: '30m',
    label: 'Custom',
  },
};

// One rendering of the query per time-range form (a query without a time range has one).
function substituteParameters(query, parameters, problems) {
  const byName = new Map((parameters || []).map((p) => [p.name, p]));
  const hasTime = (parameters || []).some((p) => Number(p.type) === 4) && /\{\s*[A-Za-z]/.test(query);
  const forms = hasTime ? ['relative', 'custom'] : ['relative'];
  return forms.map((form) => ({
    form,
    text: query.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z$][^}]*))?\}/g, (whole, name, fmt) => {
      const p = byName.get(name);
      if (!p) return whole; // not a parameter: left for the parser (e.g. JSON in a dynamic literal)
      const format = (fmt || '').trim();
      const type = Number(p.type);
      if (type === 4) {
        const value = TIME_FORMS[form][format];
        if (value === undefined) problems.push(`{${name}:${format}}: unknown time range format`);
        return value === undefined ? whole : value;
      }
      if (format && !['value', 'label', 'escape'].includes(format)) {
        problems.push(`{${name}:${format}}: unknown parameter format`);
        return whole;
      }
      if (p.multiSelect && format !== 'label') {
        const quote = p.quote === undefined ? "'" : p.quote;
        const delimiter = p.delimiter === undefined ? ',' : p.delimiter;
        return [`${name}-sample-1`, `${name}-sample-2`].map((v) => `${quote}${v}${quote}`).join(`${delimiter} `);
      }
      return `${name}-sample`;
    }),
  }));
}

// --- analysis ----------------------------------------------------------------------------------

function lineCol(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function analyze(K, globals, item) {
  const problems = [];
  const sourceKind = item.source || 'findings';
  const result = { name: item.name, ok: true, errors: [], warnings: [], columns: [] };
  if (!globals[sourceKind]) {
    result.ok = false;
    result.errors.push({ code: 'CHECK', message: `unknown source kind ${JSON.stringify(sourceKind)}` });
    return result;
  }
  if (typeof item.query !== 'string' || !item.query.trim()) {
    result.ok = false;
    result.errors.push({ code: 'CHECK', message: 'empty query' });
    return result;
  }
  const withPlaceholders = substitutePlaceholders(item.query, problems);
  const renderings = substituteParameters(withPlaceholders, item.parameters, problems);
  for (const message of problems) result.errors.push({ code: 'CHECK', message });
  const seen = new Set();
  for (const { form, text } of renderings) {
    const code = K.KustoCode.ParseAndAnalyze(text, globals[sourceKind]);
    // Parser and semantic diagnostics, then the editor's analyzers (best-practice warnings).
    const analyzers = new K.Editor.KustoCodeService.ctor(code).GetAnalyzerDiagnostics(true);
    const diagnostics = [...Bridge.toArray(code.GetDiagnostics()), ...Bridge.toArray(analyzers)];
    for (const d of diagnostics) {
      const where = d.HasLocation ? lineCol(text, d.Start) : null;
      const entry = {
        code: d.Code,
        severity: d.Severity,
        message: d.Message,
        ...(where || {}),
        text: d.HasLocation ? text.substr(d.Start, Math.min(d.Length, 80)) : '',
        ...(renderings.length > 1 ? { timeRange: form } : {}),
      };
      const key = `${entry.code}|${entry.line}|${entry.column}|${entry.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      (d.Severity === K.DiagnosticSeverity.Error ? result.errors : result.warnings).push(entry);
    }
    if (form === renderings[0].form && code.ResultType && code.ResultType.Columns) {
      result.columns = Bridge.toArray(code.ResultType.Columns).map((c) => ({ name: c.Name, type: c.Type.Name }));
    }
  }
  result.ok = result.errors.length === 0;
  return result;
}

function readItems(args) {
  if (args.length === 0 || (args.length === 1 && args[0] === '-')) {
    const raw = fs.readFileSync(0, 'utf8');
    const items = JSON.parse(raw);
    if (!Array.isArray(items)) throw new Error('stdin must be a JSON list of {name, query}');
    return items.map((it, i) => ({ name: it.name || `query ${i + 1}`, ...it }));
  }
  return args.map((file) => ({ name: file, query: fs.readFileSync(file, 'utf8') }));
}

function main() {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 28).join('\n') + '\n');
    return 0;
  }
  let items;
  try {
    items = readItems(args);
  } catch (err) {
    process.stderr.write(`check.js: ${err.message}\n`);
    return 2;
  }
  const K = loadKusto();
  const globals = makeGlobals(K, readSchema());
  const results = items.map((item) => analyze(K, globals, item));
  const errors = results.reduce((n, r) => n + r.errors.length, 0);
  process.stdout.write(JSON.stringify({ ok: errors === 0, errors, results }, null, 2) + '\n');
  return errors === 0 ? 0 : 1;
}

process.exitCode = main();
