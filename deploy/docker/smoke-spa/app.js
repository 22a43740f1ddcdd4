// The stand-in SPA: shows which page the router would render and whether the API answers through this
// server (/api proxied to the api replicas on a single host, or by the ingress). The real UI is frontend/.
const root = document.getElementById("root");

function line(text) {
  const paragraph = document.createElement("p");
  paragraph.textContent = text;
  root.appendChild(paragraph);
  return paragraph;
}

const heading = document.createElement("h1");
heading.textContent = "Reconciliation Platform";
root.appendChild(heading);
line(`Client-side route: ${window.location.pathname}`);
line("This is the stand-in page of the frontend image; the web UI is built from frontend/ when it exists.");
const status = line("API: checking ...");

async function checkApi() {
  try {
    const response = await fetch("/api/v1/openapi.json", { headers: { Accept: "application/json" } });
    if (!response.ok) {
      status.textContent = `API: answered ${response.status}`;
      return;
    }
    const schema = await response.json();
    const paths = Object.keys(schema.paths || {}).length;
    status.textContent = `API: ${schema.info?.title ?? "?"} ${schema.info?.version ?? ""}, ${paths} paths`;
  } catch (error) {
    status.textContent = `API: not reachable (${error})`;
  }
}

checkApi();
