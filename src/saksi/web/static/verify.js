// verify.js: checks, in the reader's browser, that one TPS's current forms are in the
// public log, signed, and vouched for by keys the log registered for their source.
// Formats: docs/record-format.md (sections 1-3, 6.1, 6.5, 6.6, 6.10), docs/publication.md,
// C2SP signed-note, tlog-checkpoint and tlog-cosignature. Uses WebCrypto only.
// The evidence comes from GET /api/tps/{id}.json (src/saksi/api/evidence.py).

const utf8 = new TextEncoder();
const DOMAIN = 'saksi-entry-v1\n';
const DASH = '\u2014 ';
// RFC 8032 section 7.1, test 1: an empty message, to probe for WebCrypto Ed25519.
const PROBE_KEY = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const PROBE_SIG = 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b';

class Fail extends Error {
  constructor(reason, detail = {}) { super(reason); this.reason = reason; this.detail = detail; }
}

const fromHex = (s) => Uint8Array.from(s.match(/../g), (h) => parseInt(h, 16));
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const sha256 = async (b) => new Uint8Array(await crypto.subtle.digest('SHA-256', b));
const node = (l, r) => sha256(concat([1], l, r));

function b64(s) {
  if (typeof s !== 'string' || s.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new Fail('bad_base64');
  }
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

// Canonical JSON (record-format.md section 1): RFC 8785 restricted to integers.
function canon(v, depth) {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Fail('not_canonical', { why: 'number' });
    return String(v);
  }
  if (typeof v === 'string') {
    if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(v)) {
      throw new Fail('not_canonical', { why: 'lone surrogate' });
    }
    return JSON.stringify(v);
  }
  if (depth > 64) throw new Fail('not_canonical', { why: 'depth' });
  if (Array.isArray(v)) return '[' + v.map((x) => canon(x, depth + 1)).join(',') + ']';
  // Array.prototype.sort compares UTF-16 code units, as RFC 8785 section 3.2.3 asks.
  const keys = Object.keys(v).sort();
  return '{' + keys.map((k) => canon(k, depth) + ':' + canon(v[k], depth + 1)).join(',') + '}';
}

function decodeEntry(bytes) {
  let value;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new Fail('not_json');
  }
  if (!same(utf8.encode(canon(value, 1)), bytes)) throw new Fail('not_canonical');
  const names = value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : [];
  const p = value && value.payload;
  if (names.join() !== 'auth,election,payload,type,v' || value.v !== 1 || !p
      || typeof p !== 'object' || Array.isArray(p) || !value.auth || typeof value.auth !== 'object') {
    throw new Fail('not_an_entry');
  }
  return value;
}

// Record-format.md section 3: the signing input and payload hash.
const signingInput = (e) => utf8.encode(`${DOMAIN}${e.type}\n${e.election}\n${canon(e.payload, 1)}`);

async function edVerify(ctx, pk, sig, msg) {
  if (!ctx.supported) return null;
  if (pk.length !== 32 || sig.length !== 64) return false;
  try {
    const key = await crypto.subtle.importKey('raw', pk, { name: 'Ed25519' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, sig, msg);
  } catch {
    return false;
  }
}

export async function ed25519Supported() {
  try {
    const key = await crypto.subtle.importKey('raw', fromHex(PROBE_KEY), { name: 'Ed25519' }, false, ['verify']);
    return (await crypto.subtle.verify({ name: 'Ed25519' }, key, fromHex(PROBE_SIG), new Uint8Array())) === true;
  } catch {
    return false;
  }
}

// C2SP signed-note verifier key: <name>+<hex key ID>+base64(type || key).
async function parseVkey(vkey, type) {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+(.+)$/.exec(typeof vkey === 'string' ? vkey.trim() : '');
  if (!m) throw new Fail('bad_vkey');
  const material = b64(m[3]);
  if (material.length !== 33 || material[0] !== type) throw new Fail('bad_vkey');
  const pk = material.slice(1);
  const id = (await sha256(concat(utf8.encode(m[1] + '\n'), [type], pk))).slice(0, 4);
  if (hex(id) !== m[2]) throw new Fail('bad_vkey', { why: 'key id' });
  return { name: m[1], id, pk };
}

// C2SP signed note and tlog-checkpoint: text, blank line, signature lines.
function parseNote(note) {
  const cut = typeof note === 'string' ? note.lastIndexOf('\n\n') : -1;
  if (cut < 0 || !note.endsWith('\n')) throw new Fail('bad_checkpoint');
  const text = note.slice(0, cut + 1);
  const sigs = note.slice(cut + 2, -1).split('\n').map((line) => {
    if (!line.startsWith(DASH)) throw new Fail('bad_checkpoint');
    const at = line.lastIndexOf(' ');
    return { name: line.slice(2, at), raw: b64(line.slice(at + 1)) };
  });
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3 || !/^(0|[1-9][0-9]{0,15})$/.test(lines[1])) throw new Fail('bad_checkpoint');
  const root = b64(lines[2]);
  if (root.length !== 32) throw new Fail('bad_checkpoint');
  return { note, text, sigs, origin: lines[0], size: Number(lines[1]), root };
}

// RFC 9162 section 2.1.3.2: the root an inclusion proof gives, or null.
async function rootFromProof(leaf, index, size, proof) {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size
      || !Array.isArray(proof)) return null;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of proof.map(b64)) {
    if (p.length !== 32 || sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      while (fn % 2 === 0 && fn !== 0) { fn /= 2; sn = Math.floor(sn / 2); }
    } else {
      r = await node(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

// A receipt's entry, checked to be in the log under the same checkpoint ``cp``.
async function included(receipt, cp) {
  if (!receipt || typeof receipt !== 'object') throw new Fail('not_in_checkpoint');
  const bytes = b64(receipt.entry);
  const leaf = await sha256(concat([0], bytes));
  const root = await rootFromProof(leaf, receipt.leaf_index, receipt.tree_size, receipt.inclusion_proof);
  const ok = receipt.checkpoint === cp.note && receipt.tree_size === cp.size
    && hex(await sha256(bytes)) === receipt.entry_hash && root !== null && same(root, cp.root);
  if (!ok) throw new Fail('not_included', { leaf_index: receipt.leaf_index });
  return decodeEntry(bytes);
}

const allOk = (results) => (results.includes(false) ? false : results.includes(null) ? null : true);

async function verifyVersion(ctx, form, version) {
  const proof = version.proof;
  const out = { contest: form.contest, source: form.source, leaf_index: version.leaf_index,
    verified: false, form: null, checks: [] };
  const s = {}; // what earlier checks established
  const need = (key) => { if (s[key] === undefined) throw new Fail(proof ? `${key}_invalid` : 'not_in_checkpoint'); return s[key]; };
  const run = async (id, check) => {
    let r;
    try {
      r = await check();
    } catch (e) {
      r = e instanceof Fail ? { ok: false, detail: { ...e.detail, reason: e.reason } }
        : { ok: false, detail: { reason: 'error', message: String((e && e.message) || e) } };
    }
    if (r.ok === null && !r.detail.reason) r.detail.reason = 'ed25519_unsupported';
    out.checks.push({ id, ok: r.ok, detail: r.detail });
  };

  await run('entry', async () => {
    if (!proof) throw new Fail('not_in_checkpoint');
    s.bytes = b64(proof.entry);
    const e = decodeEntry(s.bytes);
    s.entry = e;
    out.form = e.payload;
    const p = e.payload;
    const detail = { type: e.type, tps: p.tps, contest: p.contest, source: p.source };
    const ok = e.type === 'result_form' && p.tps === ctx.tps && p.contest === form.contest
      && p.source === form.source;
    return { ok, detail: ok ? detail : { ...detail, reason: 'not_this_form' } };
  });
  await run('leaf', async () => {
    const bytes = need('bytes');
    s.leaf = await sha256(concat([0], bytes));
    const entryHash = hex(await sha256(bytes));
    const ok = entryHash === proof.entry_hash && proof.leaf_index === version.leaf_index;
    return { ok, detail: { entry_hash: entryHash, leaf_hash: hex(s.leaf), leaf_index: proof.leaf_index } };
  });
  await run('inclusion', async () => {
    if (!proof) throw new Fail('not_in_checkpoint');
    const cp = parseNote(proof && proof.checkpoint);
    s.cp = cp;
    const root = await rootFromProof(need('leaf'), proof.leaf_index, cp.size, proof.inclusion_proof);
    const ok = root !== null && same(root, cp.root) && proof.tree_size === cp.size;
    return { ok, detail: { tree_size: cp.size, root: hex(cp.root) } };
  });
  await run('checkpoint', async () => {
    const cp = need('cp');
    const key = await parseVkey(ctx.log.vkey, 0x01);
    const line = cp.sigs.find((x) => x.name === key.name && same(x.raw.slice(0, 4), key.id));
    const detail = { origin: cp.origin, size: cp.size, key_name: key.name };
    if (cp.origin !== ctx.log.origin) throw new Fail('wrong_origin', detail);
    if (!line) throw new Fail('no_log_signature', detail);
    return { ok: await edVerify(ctx, key.pk, line.raw.slice(4), utf8.encode(cp.text)), detail };
  });
  for (const vkey of ctx.witnesses) {
    await run('witness', async () => {
      const key = await parseVkey(vkey, 0x04);
      const detail = { name: key.name, time: null };
      const cp = need('cp');
      const line = cp.sigs.find((x) => x.name === key.name && x.raw.length === 76 && same(x.raw.slice(0, 4), key.id));
      if (!line) throw new Fail('missing', detail);
      const time = new DataView(line.raw.buffer, line.raw.byteOffset + 4, 8).getBigUint64(0);
      detail.time = Number(time);
      const msg = utf8.encode(`cosignature/v1\ntime ${time}\n${cp.text}`);
      return { ok: await edVerify(ctx, key.pk, line.raw.slice(12), msg), detail };
    });
  }
  const attested = s.entry ? 'attestation' in s.entry.auth : version.attestation_leaf != null;
  const authority = Array.isArray(version.authority) ? version.authority : null;
  await run(attested ? 'attestation' : 'signature', async () => {
    const e = need('entry');
    if (!attested) {
      s.signer = e.auth.key;
      const ok = await edVerify(ctx, b64(e.auth.key), b64(e.auth.sig), signingInput(e));
      return { ok, detail: { key: e.auth.key } };
    }
    if (!authority) throw new Fail('not_in_checkpoint');
    const a = await included(authority[0], need('cp'));
    const detail = { leaf_index: authority[0].leaf_index, key: a.auth.key };
    const hashes = b64(a.payload.forms);
    const mine = await sha256(signingInput(e));
    const listed = [];
    for (let i = 0; i + 32 <= hashes.length; i += 32) listed.push(hex(hashes.slice(i, i + 32)));
    if (a.type !== 'attestation' || a.election !== e.election
        || hex(await sha256(signingInput(a))) !== e.auth.attestation) throw new Fail('wrong_attestation', detail);
    if (hashes.length % 32 || !listed.includes(hex(mine))) throw new Fail('form_not_listed', detail);
    if (a.payload.source !== e.payload.source) throw new Fail('wrong_source', detail);
    s.signer = a.auth.key;
    return { ok: await edVerify(ctx, b64(a.auth.key), b64(a.auth.sig), signingInput(a)), detail };
  });
  await run('key', async () => {
    const e = need('entry');
    const detail = { role: null, source: null, chain: [] };
    if (!authority) throw new Fail('not_in_checkpoint', detail);
    const chain = attested ? authority.slice(1) : authority;
    let expected = attested ? s.signer : e.auth.key;
    if (typeof expected !== 'string') throw new Fail('no_signer', detail);
    let before = version.leaf_index, previous = null;
    const sigs = [];
    for (const [i, receipt] of chain.entries()) {
      const r = await included(receipt, need('cp'));
      const at = receipt.leaf_index;
      detail.chain.push({ leaf_index: at, type: r.type });
      if (r.election !== e.election || !(at < before)) throw new Fail('chain_out_of_order', detail);
      // After an enrolment, the next step registers the code's issuer: the admin or
      // the source's manager (record-format.md 6.9, 6.10).
      const wanted = (k) => k && (expected === null
        ? k.role === 'admin' || (k.role === 'manager' && k.source === e.payload.source)
        : k.key === expected);
      let item, next = r.auth.key;
      if (r.type === 'keys_register' && Array.isArray(r.payload.keys)) {
        item = r.payload.keys.find(wanted);
      } else if (r.type === 'enrolment' && expected !== null && r.payload.key === expected
                 && r.auth.key === expected) {
        item = { key: expected, role: 'submitter', source: r.payload.source, tps: [r.payload.tps] };
        next = null;
      }
      if (!item) throw new Fail('not_registered', { ...detail, leaf_index: at });
      if (i === 0) {
        detail.role = item.role; detail.source = item.source ?? null;
        const mayForm = item.source === e.payload.source && (item.role === 'importer'
          || (!attested && item.role === 'submitter' && Array.isArray(item.tps) && item.tps.includes(e.payload.tps)));
        if (!mayForm) throw new Fail('wrong_role', detail);
      } else if (!(item.role === 'admin' || (item.role === 'manager' && item.source === e.payload.source))
                 || (previous === 'manager' && item.role !== 'admin')) {
        throw new Fail('wrong_registrar', { ...detail, leaf_index: at });
      }
      sigs.push(await edVerify(ctx, b64(r.auth.key), b64(r.auth.sig), signingInput(r)));
      if (item.role === 'admin') {
        const self = at === 0 && r.type === 'keys_register' && r.payload.keys.length === 1
          && next === item.key;
        if (!self || i !== chain.length - 1) throw new Fail('chain_incomplete', detail);
        if (sigs.includes(false)) throw new Fail('bad_signature', detail);
        return { ok: allOk(sigs), detail };
      }
      previous = item.role; before = at; expected = next;
    }
    throw new Fail('chain_incomplete', detail);
  });
  out.verified = out.checks.length > 0 && out.checks.every((c) => c.ok === true);
  return out;
}

async function fingerprintOf(vkey) {
  const key = await parseVkey(vkey, 0x01);
  return hex(await sha256(key.pk)).match(/.{4}/g).join(' ');
}

export async function verifyTps(doc) {
  const supported = await ed25519Supported();
  const log = (doc && typeof doc === 'object' && doc.log && typeof doc.log === 'object') ? doc.log : {};
  const result = { supported, log: { origin: log.origin ?? null, vkey: log.vkey ?? null, fingerprint: null }, versions: [] };
  try { result.log.fingerprint = await fingerprintOf(log.vkey); } catch { /* stays null */ }
  const ctx = { supported, log, tps: doc && doc.tps_id,
    witnesses: Array.isArray(log.witnesses) ? log.witnesses : [] };
  const forms = doc && Array.isArray(doc.forms) ? doc.forms : [];
  for (const form of forms) {
    const versions = form && Array.isArray(form.versions) ? form.versions : [];
    for (const version of versions) {
      if (!version || typeof version !== 'object' || !Object.hasOwn(version, 'proof')) continue;
      try {
        result.versions.push(await verifyVersion(ctx, form, version));
      } catch (e) {
        result.versions.push({ contest: form.contest, source: form.source, leaf_index: version.leaf_index,
          verified: false, form: null,
          checks: [{ id: 'entry', ok: false, detail: { reason: 'error', message: String(e) } }] });
      }
    }
  }
  return result;
}
