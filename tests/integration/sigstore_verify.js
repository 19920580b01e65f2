// Verify a key-signed Sigstore bundle with sigstore-js (@sigstore/verify), as a Node client of
// Sigstore would: the trust material is one public key, found by the bundle's
// verificationMaterial.publicKey.hint; no transparency log entry, no timestamp is required
// (tlog and timestamp thresholds 0, as for any key-signed bundle).
//
//   node sigstore_verify.js BUNDLE.json PUBLIC_KEY.pem HINT
//
// Prints one JSON line {"verified": true} and exits 0, or {"verified": false, "code", "error"}
// and exits 1. Runs with NODE_PATH pointing at the node_modules that hold @sigstore/verify.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const { bundleFromJSON } = require("@sigstore/bundle");
const { Verifier, toSignedEntity, toTrustMaterial } = require("@sigstore/verify");

const [bundlePath, keyPath, expectedHint] = process.argv.slice(2);
const publicKey = crypto.createPublicKey(fs.readFileSync(keyPath, "utf8"));

function findKey(hint) {
  if (hint !== expectedHint) {
    throw Object.assign(new Error(`no trusted key for hint ${JSON.stringify(hint)}`), {
      code: "PUBLIC_KEY_ERROR",
    });
  }
  return { publicKey, validFor: () => true };
}

try {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, "utf8")));
  const emptyRoot = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
  const verifier = new Verifier(toTrustMaterial(emptyRoot, findKey), {
    tlogThreshold: 0,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  verifier.verify(toSignedEntity(bundle));
  console.log(JSON.stringify({ verified: true }));
} catch (err) {
  console.log(JSON.stringify({ verified: false, code: err.code || err.name, error: err.message }));
  process.exit(1);
}
