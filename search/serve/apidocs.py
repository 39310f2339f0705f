"""The JSON API's documentation page, ``/api/docs``: one self-contained HTML page that reads
``/api/openapi.json`` and lists each route, its parameters, its answers and their fields.

FastAPI's Swagger UI and ReDoc load their scripts from a CDN, which a user offline (or on a closed network)
cannot reach, and neither ships with the installed packages; this page needs nothing but the app."""

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>JSON API · Report search</title>
<style>body{font-family:system-ui,'Noto Sans Lao',sans-serif;max-width:60em;margin:2em auto;padding:0 1em;line-height:1.5}
code,pre{background:#f6f8fa;padding:0 .2em} h2{border-top:1px solid #d0d7de;padding-top:.6em}
.method{font-weight:700;text-transform:uppercase} table{border-collapse:collapse} td,th{border:1px solid #d0d7de;
padding:.2em .5em;text-align:left;vertical-align:top} .schema{margin-left:1.5em}</style></head>
<body><h1>Report search: the JSON API</h1>
<p>Every route below answers JSON; a refusal is <code>{"error": "…"}</code> with its status. The machine-readable
description is <a href="openapi.json">openapi.json</a>. Example:
<code>curl -G "<span class="base"></span>search" --data-urlencode "q=rice harvest" -d k=3</code></p>
<div id="routes">Loading openapi.json…</div>
<script>
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
document.querySelectorAll(".base").forEach(e => e.textContent = location.href.replace(/docs[^/]*$/, ""));
let spec;
function ref(s) { return s && s.$ref ? spec.components.schemas[s.$ref.split("/").pop()] : s; }
function typeOf(s) {
  s = s || {};
  if (s.$ref) return '<a href="#' + esc(s.$ref.split("/").pop()) + '">' + esc(s.$ref.split("/").pop()) + "</a>";
  if (s.anyOf) return s.anyOf.map(typeOf).join(" or ");
  if (s.type === "array") return "list of " + typeOf(s.items);
  if (s.type === "object" && s.additionalProperties) return "map to " + typeOf(s.additionalProperties);
  if (s.enum) return s.enum.map(v => "<code>" + esc(v) + "</code>").join(" | ");
  return esc(s.type || "any");
}
function fields(name) {
  const s = spec.components.schemas[name], req = new Set(s.required || []);
  return '<h3 id="' + esc(name) + '">' + esc(name) + "</h3><table><tr><th>field</th><th>type</th><th>meaning</th></tr>" +
    Object.entries(s.properties || {}).map(([k, p]) => "<tr><td><code>" + esc(k) + "</code>" + (req.has(k) ? "" : "?") +
      (p.deprecated ? " (deprecated)" : "") + "</td><td>" + typeOf(p) + "</td><td>" + esc(p.description) + "</td></tr>").join("") +
    "</table>";
}
fetch("openapi.json", {credentials: "same-origin"}).then(r => r.json()).then(s => {
  spec = s;
  let out = "";
  for (const [path, methods] of Object.entries(spec.paths)) for (const [method, op] of Object.entries(methods)) {
    out += '<h2><span class="method">' + esc(method) + "</span> <code>" + esc(path) + "</code></h2><p>" +
      esc(op.summary) + ": " + esc(op.description) + "</p>";
    const params = op.parameters || [];
    if (params.length) out += "<table><tr><th>parameter</th><th>in</th><th>type</th><th>limits</th><th>meaning</th></tr>" +
      params.map(p => { const sc = p.schema || {}, lim = ["minimum", "maximum", "maxLength"].filter(k => k in sc)
        .map(k => k + " " + sc[k]).join(", ") + ("default" in sc ? " default " + esc(JSON.stringify(sc.default)) : "");
        return "<tr><td><code>" + esc(p.name) + "</code>" + (p.required ? "" : "?") + "</td><td>" + esc(p.in) + "</td><td>" +
          typeOf(sc) + "</td><td>" + lim + "</td><td>" + esc(p.description) + "</td></tr>"; }).join("") + "</table>";
    if (op.requestBody) out += "<p>Body: a form (multipart/form-data) with the field <code>file</code>; send the header " +
      "<code>X-Requested-With</code> (any value).</p>";
    out += "<table><tr><th>status</th><th>meaning</th><th>body</th></tr>" + Object.entries(op.responses).map(([code, r]) =>
      "<tr><td>" + esc(code) + "</td><td>" + esc(r.description) + "</td><td>" +
      typeOf(((r.content || {})["application/json"] || {}).schema) + "</td></tr>").join("") + "</table>";
  }
  out += "<h2>Shapes</h2>" + Object.keys(spec.components.schemas).map(fields).join("");
  document.getElementById("routes").innerHTML = out;
}).catch(e => { document.getElementById("routes").textContent = "openapi.json could not be read: " + e; });
</script></body></html>
"""
