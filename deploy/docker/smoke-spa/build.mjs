// Writes dist/ the way a Vite build does: index.html referencing a content-hashed script under /assets/.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const script = readFileSync("app.js");
const hash = createHash("sha256").update(script).digest("hex").slice(0, 8);
rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/assets", { recursive: true });
writeFileSync(`dist/assets/app-${hash}.js`, script);
writeFileSync(
  "dist/index.html",
  readFileSync("index.html", "utf8").replace("%SCRIPT%", `/assets/app-${hash}.js`),
);
console.log(`dist/index.html, dist/assets/app-${hash}.js`);
