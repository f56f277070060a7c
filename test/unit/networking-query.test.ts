/**
 * The Networking API's pure collection behaviour: list queries (fields,
 * filters, tag filters, sorting, pages and their links), the standard
 * attributes in external_ids, and Neutron's 400 wording for bodies that do
 * not pass their schema.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Type } from "typebox";
import { ApiError } from "../../src/openstack/errors.js";
import {
  changedIds,
  createdIds,
  standardAttributes,
  tagsChange,
  MICROOVN,
  NEUTRON,
} from "../../src/openstack/networking/attributes.js";
import {
  matches,
  normalizeQuery,
  pageHref,
  parseFields,
  paginate,
  parseListQuery,
  selectFields,
  type RawQuery,
  type View,
} from "../../src/openstack/networking/query.js";
import {
  IntegerLike,
  toInteger,
  validatorCompiler,
} from "../../src/openstack/networking/validation.js";

const ATTRIBUTES = new Set([
  "id",
  "name",
  "mtu",
  "shared",
  "tags",
  "fixed_ips",
  "subnets",
  "project_id",
]);

const views: View[] = [
  { id: "c", name: "net-a", mtu: 1442, shared: false, tags: ["red", "blue"], subnets: ["s1"] },
  { id: "a", name: "net-b", mtu: 1500, shared: true, tags: ["red"], subnets: [] },
  {
    id: "b",
    name: "net-a",
    mtu: 9000,
    shared: false,
    tags: [],
    subnets: ["s2"],
    fixed_ips: [{ subnet_id: "s2", ip_address: "10.0.0.5" }],
  },
];

function select(raw: RawQuery): string[] {
  const q = parseListQuery(raw, ATTRIBUTES);
  const page = paginate(
    views.filter((v) => matches(v, q)),
    q,
    "Network",
  );
  return page.items.map((v) => v.id);
}

function status(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ApiError) return e.status;
    throw e;
  }
  return undefined;
}

describe("list queries", () => {
  it("filters on any attribute; a repeated key matches any of its values", () => {
    assert.deepEqual(select({ name: "net-a" }).sort(), ["b", "c"]);
    assert.deepEqual(select({ name: ["net-b", "none"] }), ["a"]);
    assert.deepEqual(select({ mtu: "1500" }), ["a"]);
    assert.deepEqual(select({ shared: "true" }), ["a"]);
    assert.deepEqual(select({ shared: "False" }).sort(), ["b", "c"]);
    assert.deepEqual(select({ subnets: "s2" }), ["b"]);
    assert.deepEqual(select({ fixed_ips: "ip_address=10.0.0.5" }), ["b"]);
    assert.deepEqual(select({ fixed_ips: "subnet_id=s9" }), []);
  });

  it("refuses an attribute the collection does not have, and a bad boolean", () => {
    assert.equal(
      status(() => parseListQuery({ colour: "red" }, ATTRIBUTES)),
      400,
    );
    assert.equal(
      status(() => select({ shared: "maybe" })),
      400,
    );
  });

  it("filters on tags: all of, any of, not all of, none of", () => {
    assert.deepEqual(select({ tags: "red,blue" }), ["c"]);
    assert.deepEqual(select({ tags: ["red", "blue"] }), ["c"]);
    assert.deepEqual(select({ "tags-any": "blue,green" }), ["c"]);
    assert.deepEqual(select({ "not-tags": "red,blue" }).sort(), ["a", "b"]);
    assert.deepEqual(select({ "not-tags-any": "red" }), ["b"]);
  });

  it("sorts by repeated keys and directions, the id breaking ties", () => {
    assert.deepEqual(select({ sort_key: "name" }), ["b", "c", "a"]);
    assert.deepEqual(select({ sort_key: ["name", "mtu"], sort_dir: ["asc", "desc"] }), [
      "b",
      "c",
      "a",
    ]);
    assert.deepEqual(select({ sort_key: "mtu", sort_dir: "desc" }), ["b", "a", "c"]);
    assert.equal(
      status(() => parseListQuery({ sort_key: "colour" }, ATTRIBUTES)),
      400,
    );
    assert.equal(
      status(() => parseListQuery({ sort_key: "name", sort_dir: "up" }, ATTRIBUTES)),
      400,
    );
    assert.equal(
      status(() => parseListQuery({ sort_key: "name", sort_dir: ["asc", "desc"] }, ATTRIBUTES)),
      400,
    );
  });

  it("pages with limit and marker, linking the next and previous pages", () => {
    const q = (raw: RawQuery) => parseListQuery(raw, ATTRIBUTES);
    const first = paginate([...views], q({ limit: "2" }), "Network");
    assert.deepEqual(
      first.items.map((v) => v.id),
      ["a", "b"],
    );
    assert.deepEqual(first.links, [{ rel: "next", marker: "b", reverse: false }]);
    const second = paginate([...views], q({ limit: "2", marker: "b" }), "Network");
    assert.deepEqual(
      second.items.map((v) => v.id),
      ["c"],
    );
    assert.deepEqual(second.links, [{ rel: "previous", marker: "c", reverse: true }]);
    const back = paginate([...views], q({ limit: "2", marker: "c", page_reverse: "True" }), "N");
    assert.deepEqual(
      back.items.map((v) => v.id),
      ["a", "b"],
    );
    assert.deepEqual(back.links, [{ rel: "next", marker: "b", reverse: false }]);
    assert.equal(
      status(() => paginate([...views], q({ marker: "zz" }), "Network")),
      404,
    );
    assert.equal(
      status(() => q({ limit: "-1" })),
      400,
    );
    assert.equal(
      status(() => q({ limit: "ten" })),
      400,
    );
    assert.equal(
      pageHref(
        "https://h:9696/v2.0/networks",
        { limit: "2", name: ["x", "y"], marker: "old" },
        { marker: "b", reverse: false },
      ),
      "https://h:9696/v2.0/networks?limit=2&name=x&name=y&marker=b",
    );
  });

  it("reads the forms Debian's openstacksdk sends: a tuple of fields, Python lists after a link", () => {
    assert.deepEqual(parseFields(["('id', 'name', 'security_group_ids')"]), [
      "id",
      "name",
      "security_groups",
    ]);
    assert.deepEqual(parseFields(["id,name", "tags"]), ["id", "name", "tags"]);
    assert.deepEqual(normalizeQuery({ limit: "['2']", name: "['a', 'b']", marker: "m" }), {
      limit: "2",
      name: ["a", "b"],
      marker: "m",
    });
    assert.deepEqual(normalizeQuery({ name: "[not a list]" }), { name: "[not a list]" });
  });

  it("returns only the fields asked for, without filtering on them", () => {
    const q = parseListQuery({ fields: ["id", "name"] }, ATTRIBUTES);
    assert.equal(views.filter((v) => matches(v, q)).length, 3);
    assert.deepEqual(selectFields(views[0]!, q.fields), { id: "c", name: "net-a" });
  });
});

describe("standard attributes in external_ids", () => {
  it("start at revision 1 and bump revision and updated_at on every change", () => {
    const created = createdIds({
      description: "d",
      tags: ["t"],
      now: new Date("2026-01-02T03:04:05.678Z"),
    });
    assert.deepEqual(standardAttributes(created), {
      description: "d",
      tags: ["t"],
      created_at: "2026-01-02T03:04:05Z",
      updated_at: "2026-01-02T03:04:05Z",
      revision_number: 1,
    });
    const changed = changedIds(
      created,
      { ...tagsChange(["u", "u", "v"]), [MICROOVN.description]: undefined },
      new Date("2026-02-02T00:00:00Z"),
    );
    assert.equal(changed.get(NEUTRON.revision), "2");
    assert.equal(changed.has(MICROOVN.description), false);
    assert.deepEqual(standardAttributes(changed).tags, ["u", "v"]);
    assert.equal(standardAttributes(changed).updated_at, "2026-02-02T00:00:00Z");
    assert.equal(standardAttributes(changed).created_at, "2026-01-02T03:04:05Z");
    assert.equal(changedIds(changed, tagsChange([])).has(MICROOVN.tags), false);
  });
});

describe("request validation", () => {
  const schema = Type.Object(
    {
      network: Type.Object(
        { name: Type.Optional(Type.String({ maxLength: 255 })), mtu: Type.Optional(IntegerLike()) },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  );
  const validate = validatorCompiler({
    schema,
    method: "POST",
    url: "/v2.0/networks",
    httpPart: "body",
  }) as (data: unknown) => { error?: ApiError; value?: unknown };
  const message = (data: unknown) => validate(data).error?.message;

  it("names unknown attributes, wrong types and a missing body as Neutron does", () => {
    assert.equal(message({ network: { name: "n", mtu: "1400" } }), undefined);
    assert.equal(message({ network: { colour: "red" } }), "Unrecognized attribute(s) 'colour'");
    assert.match(message({ network: { name: 5 } }) ?? "", /^Invalid input for name\. Reason:/);
    assert.match(message({ network: { mtu: "big" } }) ?? "", /^Invalid input for mtu\./);
    assert.equal(message(null), "Resource body required");
    assert.equal(validate({ network: { name: 5 } }).error?.status, 400);
  });

  it("coerces numeric strings within bounds, and refuses others", () => {
    assert.equal(toInteger(" 1400 ", "mtu"), 1400);
    assert.equal(toInteger(68, "mtu", { min: 68 }), 68);
    assert.equal(
      status(() => toInteger("67", "mtu", { min: 68 })),
      400,
    );
    assert.equal(
      status(() => toInteger("99999999999999999999", "mtu")),
      400,
    );
  });
});
