// The catalog tree: projects → datasets and tables → columns; every schema's tables;
// dimensions (by type) and mappings, whose records open beside the results.

import { get } from "./api.js";

const PLAIN = /^[a-z_][a-z0-9_]*$/;
export function quoteIdentifier(name) { return PLAIN.test(name) ? name : `"${name.replace(/"/g, '""')}"`; }

function enc(text) { return encodeURIComponent(text); }

export class CatalogTree {
  constructor(root, { insert, currentSchema, openDimension, openMapping, onError }) {
    Object.assign(this, { root, insert, currentSchema, openDimension, openMapping, onError });
  }

  async load() {
    this.root.innerHTML = "";
    const [{ body: projects }, { body: schemas }] = await Promise.all([get("/projects"), get("/schemas")]);
    for (const project of projects.projects) {
      this.root.append(this.node({
        label: project.project_id,
        meta: `project ${project.version}`,
        title: project.description || project.name,
        testid: `project-${project.project_id}`,
        expanded: true,
        load: () => this.projectChildren(project),
      }));
    }
    const other = schemas.schemas.map((s) => s.schema_name).filter((s) => !projects.projects.some((p) => p.project_id === s));
    this.root.append(this.node({
      label: "Schemas", meta: `${other.length}`, testid: "schemas",
      load: async () => other.map((schema) => this.schemaNode(schema)),
    }));
    this.root.append(this.node({ label: "Dimensions", testid: "dimensions", load: () => this.dimensions() }));
    this.root.append(this.node({ label: "Mappings", testid: "mappings", load: () => this.mappings() }));
  }

  async projectChildren(project) {
    const id = project.project_id;
    return [
      this.node({
        label: "Datasets", meta: `${project.submitted_dataset_count}`, testid: `datasets-${id}`,
        load: async () => {
          const { body } = await get(`/console/projects/${enc(id)}/datasets`);
          return body.datasets.map((d) => this.node({
            label: d.dataset_id,
            meta: `${d.version} · ${d.layout || ""}`,
            title: d.description || "",
            insert: () => this.tableName(id, d.dataset_id),
            testid: `dataset-${d.dataset_id}`,
            load: async () => [
              ["version", d.version], ["type", d.dataset_type], ["layout", d.layout],
              ["time", d.time_type ? `${d.time_type}: ${d.time}` : d.time],
              ["time config", d.time_config], ["source", d.data_source],
              ["problem", d.problem],
            ].filter(([, v]) => v).map(([k, v]) => this.node({ label: k, meta: String(v), title: String(v) })),
          }));
        },
      }),
      this.node({ label: "Tables", testid: `tables-${id}`, expanded: true, load: async () => this.tables(id) }),
    ];
  }

  schemaNode(schema) {
    return this.node({ label: schema, meta: "schema", testid: `schema-${schema}`, insert: () => quoteIdentifier(schema), load: () => this.tables(schema) });
  }

  async tables(schema) {
    const { body } = await get(`/schemas/${enc(schema)}/tables`);
    return body.tables.map((t) => this.node({
      label: t.table_name,
      meta: (t.remarks || t.table_type || "").toString().slice(0, 80),
      title: t.remarks || "",
      testid: `table-${schema}.${t.table_name}`,
      insert: () => this.tableName(schema, t.table_name),
      load: async () => {
        const { body: columns } = await get(`/schemas/${enc(schema)}/tables/${enc(t.table_name)}/columns`);
        return columns.columns.map((c) => this.node({
          label: c.name,
          meta: [c.type.toLowerCase(), c.remarks].filter(Boolean).join(" · "),
          title: `${c.name} ${c.type}${c.remarks ? " — " + c.remarks : ""}`,
          testid: `column-${schema}.${t.table_name}.${c.name}`,
          insert: () => quoteIdentifier(c.name),
        }));
      },
    }));
  }

  tableName(schema, table) {
    return schema === this.currentSchema() ? quoteIdentifier(table) : `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  }

  async dimensions() {
    const { body } = await get("/dimensions");
    const byType = new Map();
    for (const d of body.dimensions) {
      if (!byType.has(d.type)) byType.set(d.type, []);
      byType.get(d.type).push(d);
    }
    return [...byType.keys()].sort().map((type) => this.node({
      label: type, meta: `${byType.get(type).length}`,
      load: async () => byType.get(type).map((d) => this.node({
        label: d.name,
        meta: `${d.record_count ?? ""} records`,
        title: d.description || d.dimension_id,
        testid: `dimension-${d.dimension_id}`,
        open: () => this.openDimension(d),
      })),
    }));
  }

  async mappings() {
    const { body } = await get("/mappings");
    return body.mappings.map((m) => this.node({
      label: `${m.from_dimension_name} → ${m.to_dimension_name}`,
      meta: `${m.mapping_type} · ${m.record_count ?? ""}`,
      title: m.description || m.mapping_id,
      testid: `mapping-${m.mapping_id}`,
      open: () => this.openMapping(m),
    }));
  }

  // One tree item. `load` gives children (once, on first expand); `insert` gives the text a
  // click puts into the editor; `open` shows something (records) instead.
  node({ label, meta = "", title = "", testid, insert, open, load, expanded = false }) {
    const li = document.createElement("li");
    li.setAttribute("role", "treeitem");
    if (testid) li.dataset.testid = testid;
    const row = document.createElement("div");
    row.className = "node";
    row.title = title || (insert ? "Click: insert into the editor" : "");
    const twisty = document.createElement("span");
    twisty.className = "twisty";
    twisty.textContent = load ? "▸" : "";
    const name = document.createElement("span");
    name.className = "label" + (insert ? " insert" : "");
    name.textContent = label;
    const info = document.createElement("span");
    info.className = "meta";
    info.textContent = meta;
    row.append(twisty, name, info);
    li.append(row);
    let children = null;
    const toggle = async () => {
      if (!load) return;
      if (children) {
        children.hidden = !children.hidden;
        twisty.textContent = children.hidden ? "▸" : "▾";
        li.setAttribute("aria-expanded", String(!children.hidden));
        return;
      }
      children = document.createElement("ul");
      children.setAttribute("role", "group");
      li.append(children);
      twisty.textContent = "▾";
      li.setAttribute("aria-expanded", "true");
      try {
        children.append(...(await load()));
      } catch (error) {
        this.onError(error);
      }
    };
    twisty.addEventListener("click", (event) => { event.stopPropagation(); toggle(); });
    row.addEventListener("click", () => {
      if (insert) this.insert(insert());
      else if (open) open();
      else toggle();
    });
    row.addEventListener("dblclick", () => { if (insert) toggle(); });
    if (expanded && load) toggle();
    return li;
  }
}
