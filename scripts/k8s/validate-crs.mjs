// Validates Prometheus-operator custom resources (JSON array on stdin) against the CRD schemas that npm
// @kubernetes-models/prometheus-operator generates from the operator's CRDs. Exit 1 naming each error.
// Usage: node validate-crs.mjs MODELS_DIR < resources.json
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modelsDir = process.argv[2];
const base = join(modelsDir, "node_modules/@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1");
const docs = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
for (const doc of docs) {
  const where = `${doc.kind}/${doc.metadata?.name}`;
  if (doc.apiVersion !== "monitoring.coreos.com/v1") {
    console.error(`${where}: unexpected apiVersion ${doc.apiVersion}`);
    failed++;
    continue;
  }
  let Model;
  try {
    Model = (await import(pathToFileURL(join(base, `${doc.kind}.js`)).href))[doc.kind];
  } catch (e) {
    console.error(`${where}: no schema for kind ${doc.kind}: ${e.message}`);
    failed++;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`ok ${where} (CRD schema monitoring.coreos.com/v1)`);
  } catch (e) {
    console.error(`${where}: ${e.message}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
