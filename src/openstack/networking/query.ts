/**
 * Neutron's list query, parsed and applied to resource views: `fields=`
 * (only those attributes come back), filters on any attribute (a repeated
 * key matches any of its values), the tag filters, `sort_key`/`sort_dir`,
 * and `limit`/`marker`/`page_reverse` with the `<collection>_links` that
 * lead to the next and previous pages. Pure: views in, views out.
 */
import { ApiError } from "../errors.js";

/** A resource as the API answers it: its attributes by name. */
export type View = Readonly<Record<string, unknown>> & { readonly id: string };

/** A query string as fastify parses it: a repeated key gives an array. */
export type RawQuery = Readonly<Record<string, string | string[] | undefined>>;

export interface SortKey {
  key: string;
  ascending: boolean;
}

export interface TagFilters {
  /** Every one of these. */
  all: string[];
  /** At least one of these. */
  any: string[];
  /** Not every one of these. */
  notAll: string[];
  /** None of these. */
  none: string[];
}

export interface ListQuery {
  fields: string[];
  /** attribute → values, any of which matches. */
  filters: Map<string, string[]>;
  tags: TagFilters;
  sort: SortKey[];
  /** undefined: no limit. */
  limit: number | undefined;
  marker: string | undefined;
  pageReverse: boolean;
}

/** Query keys that are no attribute filter. */
const CONTROL_KEYS = new Set([
  "fields",
  "sort_key",
  "sort_dir",
  "limit",
  "marker",
  "page_reverse",
  "tags",
  "tags-any",
  "not-tags",
  "not-tags-any",
]);

function values(query: RawQuery, key: string): string[] {
  const v = query[key];
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function badRequest(message: string): ApiError {
  return new ApiError(400, message);
}

/** Tag filters take comma-separated lists, and repeated keys add to them. */
function tagList(query: RawQuery, key: string): string[] {
  return values(query, key)
    .flatMap((v) => v.split(","))
    .filter((t) => t !== "");
}

/**
 * Parses a list query against the attributes the collection has. An
 * unknown filter or sort key is a 400 naming it (Neutron's
 * filter-validation), never silently ignored.
 */
export function parseListQuery(query: RawQuery, attributes: ReadonlySet<string>): ListQuery {
  const filters = new Map<string, string[]>();
  for (const key of Object.keys(query)) {
    if (CONTROL_KEYS.has(key)) continue;
    if (!attributes.has(key)) throw badRequest(`[${key}] is invalid attribute for filtering`);
    filters.set(key, values(query, key));
  }
  const sortKeys = values(query, "sort_key");
  const sortDirs = values(query, "sort_dir");
  if (sortDirs.length > 0 && sortDirs.length !== sortKeys.length) {
    throw badRequest("The number of sort_keys and sort_dirs must be same");
  }
  const sort = sortKeys.map((key, i): SortKey => {
    if (!attributes.has(key)) throw badRequest(`${key} is an invalid attribute for sort_keys`);
    const dir = sortDirs[i] ?? "asc";
    if (dir !== "asc" && dir !== "desc") {
      throw badRequest(`${dir} is an invalid value for sort_dirs, valid values are asc and desc`);
    }
    return { key, ascending: dir === "asc" };
  });
  const limitText = values(query, "limit").at(-1);
  let limit: number | undefined;
  if (limitText !== undefined) {
    const n = Number(limitText);
    if (!/^\d+$/.test(limitText) || !Number.isSafeInteger(n)) {
      throw badRequest(`Limit must be an integer 0 or greater and not '${limitText}'`);
    }
    limit = n === 0 ? undefined : n;
  }
  const reverse = values(query, "page_reverse").at(-1);
  return {
    fields: parseFields(values(query, "fields")),
    filters,
    tags: {
      all: tagList(query, "tags"),
      any: tagList(query, "tags-any"),
      notAll: tagList(query, "not-tags"),
      none: tagList(query, "not-tags-any"),
    },
    sort,
    limit,
    marker: values(query, "marker").at(-1),
    pageReverse: reverse !== undefined && parseBoolean(reverse, "page_reverse"),
  };
}

/** A Python list's text, as `['a', 'b']`. */
const PYTHON_LIST = /^\[\s*(?:'[^']*'\s*(?:,\s*'[^']*'\s*)*)?\]$/;

/**
 * The query with values in the form Debian's openstacksdk 0.101 sends when
 * it follows a `next` link (it re-encodes each parsed value as a Python
 * list: `limit=['2']&marker=['…']`) read as the values they hold.
 */
export function normalizeQuery(query: RawQuery): RawQuery {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    const items = (Array.isArray(value) ? value : [value]).flatMap((v) =>
      PYTHON_LIST.test(v) ? [...v.matchAll(/'([^']*)'/g)].map((m) => m[1]!) : [v],
    );
    out[key] = items.length === 1 ? items[0]! : items;
  }
  return out;
}

/**
 * The SDK's names for attributes whose JSON name differs, as `openstack
 * port list` asks for them in `fields`.
 */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  security_group_ids: "security_groups",
};

/**
 * `fields` values: repeated keys, comma-separated lists, and the form
 * Debian's openstacksdk 0.101 sends, one value holding a Python tuple
 * (`('id', 'name', …)`).
 */
export function parseFields(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of raw) {
    const names = /^[([].*[)\]]$/.test(value.trim())
      ? [...value.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? "")
      : value.split(",");
    for (const name of names.map((n) => n.trim())) {
      if (name !== "") out.push(FIELD_ALIASES[name] ?? name);
    }
  }
  return out;
}

const TRUE = new Set(["true", "True", "TRUE", "1", "yes", "on"]);
const FALSE = new Set(["false", "False", "FALSE", "0", "no", "off"]);

/** A boolean as Neutron reads it from a query or a string attribute. */
export function parseBoolean(text: string, attribute: string): boolean {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw badRequest(
    `Invalid input for ${attribute}. Reason: '${text}' cannot be converted to boolean.`,
  );
}

/**
 * Whether one attribute value matches one filter value (given as text):
 * booleans by their meaning, numbers by value, lists when an element
 * matches, lists of objects by `key=value` (`fixed_ips=subnet_id=…`).
 */
export function matchesValue(value: unknown, wanted: string, attribute: string): boolean {
  if (value === null || value === undefined) return wanted === "" || wanted === "None";
  if (typeof value === "boolean") return parseBoolean(wanted, attribute) === value;
  if (typeof value === "number") return wanted.trim() !== "" && Number(wanted) === value;
  if (typeof value === "string") return value === wanted;
  if (Array.isArray(value)) {
    return value.some((element) => {
      if (element !== null && typeof element === "object") {
        const eq = wanted.indexOf("=");
        if (eq < 0) return false;
        const v: unknown = (element as Record<string, unknown>)[wanted.slice(0, eq)];
        return v !== undefined && matchesValue(v, wanted.slice(eq + 1), attribute);
      }
      return matchesValue(element, wanted, attribute);
    });
  }
  return JSON.stringify(value) === wanted;
}

export function matchesTags(tags: readonly string[], filter: TagFilters): boolean {
  const has = (t: string) => tags.includes(t);
  if (filter.all.length > 0 && !filter.all.every(has)) return false;
  if (filter.any.length > 0 && !filter.any.some(has)) return false;
  if (filter.notAll.length > 0 && filter.notAll.every(has)) return false;
  if (filter.none.length > 0 && filter.none.some(has)) return false;
  return true;
}

function hasTagFilter(filter: TagFilters): boolean {
  return filter.all.length + filter.any.length + filter.notAll.length + filter.none.length > 0;
}

/** Whether a view passes every filter of the query. */
export function matches(view: View, query: ListQuery): boolean {
  for (const [attribute, wanted] of query.filters) {
    const value = view[attribute];
    if (!wanted.some((w) => matchesValue(value, w, attribute))) return false;
  }
  if (hasTagFilter(query.tags)) {
    const tags = view.tags;
    if (!matchesTags(Array.isArray(tags) ? (tags as string[]) : [], query.tags)) return false;
  }
  return true;
}

/** Sorts nulls first, then booleans, numbers and strings in their own order. */
function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return a ? 1 : -1;
  const x = typeof a === "string" ? a : JSON.stringify(a);
  const y = typeof b === "string" ? b : JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The query's order, with the id last so that pages never overlap. */
export function comparator(sort: readonly SortKey[]): (a: View, b: View) => number {
  const keys = sort.some((s) => s.key === "id") ? sort : [...sort, { key: "id", ascending: true }];
  return (a, b) => {
    for (const { key, ascending } of keys) {
      const c = compareValues(a[key], b[key]);
      if (c !== 0) return ascending ? c : -c;
    }
    return 0;
  };
}

export interface Page {
  items: View[];
  /** Present when the query asked for a page (limit or marker). */
  links?: { rel: "next" | "previous"; marker: string; reverse: boolean }[];
}

/**
 * Sorts and pages views that already passed the filters. A marker the
 * list does not hold is a 404, as Neutron answers an unknown marker.
 */
export function paginate(views: View[], query: ListQuery, resource: string): Page {
  const paging = query.limit !== undefined || query.marker !== undefined;
  if (query.sort.length === 0 && !paging) return { items: views };
  const compare = comparator(query.sort);
  const ordered = views.sort(query.pageReverse ? (a, b) => compare(b, a) : compare);
  if (!paging) return { items: ordered };
  let start = 0;
  if (query.marker !== undefined) {
    const at = ordered.findIndex((v) => v.id === query.marker);
    if (at < 0)
      throw new ApiError(404, `Marker ${query.marker} could not be found.`, `${resource}NotFound`);
    start = at + 1;
  }
  const end = query.limit === undefined ? ordered.length : start + query.limit;
  const page = ordered.slice(start, end);
  const more = end < ordered.length;
  const items = query.pageReverse ? page.reverse() : page;
  const links: NonNullable<Page["links"]> = [];
  const first = items[0];
  const last = items.at(-1);
  // Forward: "next" while more follow, "previous" once past the start;
  // reversed, the same with the roles swapped.
  const forwardMore = query.pageReverse ? query.marker !== undefined : more;
  const backwardMore = query.pageReverse ? more : query.marker !== undefined;
  if (forwardMore && last) links.push({ rel: "next", marker: last.id, reverse: false });
  if (backwardMore && first) links.push({ rel: "previous", marker: first.id, reverse: true });
  return { items, links };
}

/** Only the attributes asked for with `fields=` (all when none were). */
export function selectFields(view: View, fields: readonly string[]): Record<string, unknown> {
  if (fields.length === 0) return view;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in view) out[f] = view[f];
  return out;
}

/**
 * The href of a page link: the same query with this page's marker (and
 * page_reverse for the previous page), as Neutron builds it.
 */
export function pageHref(
  collectionUrl: string,
  query: RawQuery,
  link: { marker: string; reverse: boolean },
): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (key === "marker" || key === "page_reverse" || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
  }
  params.append("marker", link.marker);
  if (link.reverse) params.append("page_reverse", "True");
  return `${collectionUrl}?${params.toString()}`;
}
