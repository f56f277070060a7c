/**
 * What every Networking collection does the same way, so each resource
 * file says only what is its own (its schema, its NB rows): the routes
 * `GET/POST /v2.0/<plural>`, `GET/PUT/DELETE /v2.0/<plural>/{id}` and the
 * tag routes under `/v2.0/<plural>/{id}/tags`; list queries (query.ts);
 * project scoping as Neutron's default policy has it (admins see and
 * change everything; others see their project's resources and what is
 * shared with all, and change only their project's, and only as member or
 * admin); bulk create in one transaction, all or nothing, within the
 * project's quota (quotas/).
 */
import { Type, type TSchema } from "typebox";
import { isAdmin, mayWrite, type Caller } from "../auth/caller.js";
import { ApiError } from "../errors.js";
import type { ApiApp } from "../http.js";
import { changedIds, tagsChange, type ExternalIds } from "./attributes.js";
import { callerOf, type NetworkingContext } from "./context.js";
import {
  matches,
  normalizeQuery,
  pageHref,
  paginate,
  parseFields,
  parseListQuery,
  selectFields,
  type RawQuery,
  type View,
} from "./query.js";
import { checkQuota, countCollection } from "./quotas/usage.js";
import {
  expectSame,
  externalIdsWritten,
  sameExternalIds,
  writeNbTelling,
  type GuardedTable,
  type NbTransaction,
} from "./write.js";

/** The NB row that holds a resource's standard attributes (and its tags). */
export interface HoldingRow {
  table: GuardedTable;
  uuid: string;
  externalIds: ExternalIds;
}

/** A request body's item, as validated by the collection's schema. */
export type Item = Record<string, unknown>;

export interface Collection<V extends View = View> {
  /** "network" */
  singular: string;
  /** "networks" */
  plural: string;
  /** The URL's name when it is not `plural` ("security-groups" for "security_groups"). */
  path?: string;
  /** "Network": errors are NetworkNotFound, NetworkInUse, … */
  label: string;
  /** Every attribute a view has: what may be filtered, sorted and asked for. */
  attributes: ReadonlySet<string>;
  /** One item of a create request (`{"network": ITEM}` or `{"networks": [ITEM…]}`). */
  createSchema: TSchema;
  updateSchema: TSchema;
  /** Every resource, from the replica. */
  all(): Iterable<V>;
  get(id: string): V | undefined;
  /** Seen by every project (a shared network); changed still only by its own. */
  sharedWithAll?(view: V): boolean;
  holdingRow(id: string): HoldingRow | undefined;
  /**
   * A number that changes whenever any view may have (the replica's change
   * count): lists asked again with nothing changed are answered from a copy.
   */
  generation?(): number;
  /**
   * Adds the resources to `txn` (built from the replica as it is) and
   * returns their ids in the order of `items`. Items of one bulk request see
   * each other (two ports of one request never get one address).
   */
  create(txn: NbTransaction, items: readonly Item[], caller: Caller): string[];
  update(txn: NbTransaction, view: V, changes: Item, caller: Caller): void;
  remove(txn: NbTransaction, view: V, caller: Caller): void;
}

/**
 * What lists and shows need: every collection, and the read-only ones
 * (agents, availability zones) that are no NB rows of the API's own.
 */
export type ReadableCollection<V extends View = View> = Pick<
  Collection<V>,
  "singular" | "plural" | "label" | "attributes" | "all" | "get" | "sharedWithAll" | "generation"
>;

export function notFound(label: string, id: string): ApiError {
  return new ApiError(404, `${label} ${id} could not be found.`, `${label}NotFound`);
}

function forbidden(action: string, singular: string, why: string): ApiError {
  return new ApiError(
    403,
    `(rule:${action}_${singular}) is disallowed by policy: ${why}`,
    "PolicyNotAuthorized",
  );
}

/** Whether the caller may see the resource at all (otherwise it does not exist for them). */
export function visibleTo<V extends View>(
  caller: Caller,
  view: V,
  kind: ReadableCollection<V>,
): boolean {
  if (isAdmin(caller)) return true;
  if (view.project_id === caller.projectId) return true;
  return kind.sharedWithAll?.(view) ?? false;
}

/** The resource the caller may see, or 404 as if it did not exist. */
export function visibleResource<V extends View>(
  caller: Caller,
  kind: ReadableCollection<V>,
  id: string,
): V {
  const view = kind.get(id);
  if (!view || !visibleTo(caller, view, kind)) throw notFound(kind.label, id);
  return view;
}

/**
 * The resource the caller may change: 404 when it may not even see it, 403
 * when it may see it but not change it (a reader; another project's
 * shared network).
 */
export function writableResource<V extends View>(
  caller: Caller,
  kind: Collection<V>,
  id: string,
  action: "update" | "delete",
): V {
  const view = visibleResource(caller, kind, id);
  if (!mayWrite(caller)) {
    throw forbidden(action, kind.singular, "a reader cannot change resources");
  }
  if (!isAdmin(caller) && view.project_id !== caller.projectId) {
    throw forbidden(action, kind.singular, "it belongs to another project");
  }
  return view;
}

/**
 * The project a new resource belongs to: the caller's, or the one the body
 * names (admins only). Both spellings must agree.
 */
export function owningProject(caller: Caller, item: Item, singular: string): string {
  const named = [item.project_id, item.tenant_id].filter((p): p is string => typeof p === "string");
  if (named.length === 2 && named[0] !== named[1]) {
    throw new ApiError(400, "project_id and tenant_id do not match");
  }
  if (!mayWrite(caller)) {
    throw forbidden("create", singular, "a reader cannot create resources");
  }
  const project = named[0] ?? caller.projectId;
  if (project === undefined) {
    throw new ApiError(400, "A project is required: use a project-scoped token or name project_id");
  }
  if (project !== caller.projectId && !isAdmin(caller)) {
    throw forbidden("create", singular, "only an admin creates resources for another project");
  }
  return project;
}

/** The visible resources a list query selects, in its order, one page if asked. */
function listPage<V extends View>(
  kind: ReadableCollection<V>,
  caller: Caller,
  raw: RawQuery,
  collectionUrl: string,
) {
  const query = parseListQuery(raw, kind.attributes);
  const admin = isAdmin(caller);
  const selected: View[] = [];
  for (const view of kind.all()) {
    if (!admin && !visibleTo(caller, view, kind)) continue;
    if (matches(view, query)) selected.push(view);
  }
  const page = paginate(selected, query, kind.label);
  const links = page.links?.map((link) => ({
    rel: link.rel,
    href: pageHref(collectionUrl, raw, link),
  }));
  return { fields: query.fields, items: page.items, links };
}

/** The list answer as an object: `{<plural>: […], <plural>_links?: […]}`. */
export function listAnswer<V extends View>(
  kind: ReadableCollection<V>,
  caller: Caller,
  raw: RawQuery,
  collectionUrl: string,
): Record<string, unknown> {
  const { fields, items, links } = listPage(kind, caller, raw, collectionUrl);
  const answer: Record<string, unknown> = {
    [kind.plural]: items.map((v) => selectFields(v, fields)),
  };
  if (links) answer[`${kind.plural}_links`] = links;
  return answer;
}

/**
 * The same answer as UTF-8 JSON, ready to send. A whole view's JSON is kept
 * with it (views live as long as their row's version), so a long list is
 * mostly joined, not serialized again; an unchanged list is not even joined.
 */
export function listJson<V extends View>(
  kind: ReadableCollection<V>,
  caller: Caller,
  raw: RawQuery,
  collectionUrl: string,
): Buffer {
  const generation = kind.generation?.();
  if (generation === undefined) return Buffer.from(renderList(kind, caller, raw, collectionUrl));
  // Who asks matters only as far as scoping goes: admins see one list, others their project's.
  const key = JSON.stringify([isAdmin(caller) ? "*" : caller.projectId, raw]);
  let cache = lastLists.get(kind);
  if (!cache || cache.generation !== generation) {
    cache = { generation, answers: new Map() };
    lastLists.set(kind, cache);
  }
  let text = cache.answers.get(key);
  if (text === undefined) {
    text = Buffer.from(renderList(kind, caller, raw, collectionUrl));
    // A few recent questions are kept, not every one ever asked.
    if (cache.answers.size >= 16) cache.answers.clear();
    cache.answers.set(key, text);
  }
  return text;
}

/** The answers given since the collection last changed, by who asked what. */
const lastLists = new WeakMap<object, { generation: number; answers: Map<string, Buffer> }>();

function renderList<V extends View>(
  kind: ReadableCollection<V>,
  caller: Caller,
  raw: RawQuery,
  collectionUrl: string,
): string {
  const { fields, items, links } = listPage(kind, caller, raw, collectionUrl);
  const texts =
    fields.length === 0
      ? items.map(viewJson)
      : items.map((v) => JSON.stringify(selectFields(v, fields)));
  const tail = links ? `,"${kind.plural}_links":${JSON.stringify(links)}` : "";
  return `{"${kind.plural}":[${texts.join(",")}]${tail}}`;
}

const serialized = new WeakMap<View, string>();

function viewJson(view: View): string {
  let text = serialized.get(view);
  if (text === undefined) {
    text = JSON.stringify(view);
    serialized.set(view, text);
  }
  return text;
}

function fieldsOf(raw: RawQuery): string[] {
  const f = raw.fields;
  if (f === undefined) return [];
  return parseFields(Array.isArray(f) ? f : [f]);
}

const IdParams = Type.Object({ id: Type.String() });
const TagParams = Type.Object({ id: Type.String(), tag: Type.String() });
const TagsBody = Type.Object(
  { tags: Type.Array(Type.String({ minLength: 1, maxLength: 255 })) },
  { additionalProperties: false },
);

/** Neutron's limit on a tag, and on how many one resource carries. */
const MAX_TAG_LENGTH = 255;
const MAX_TAGS = 50;

function checkTags(tags: readonly string[]): void {
  if (tags.length > MAX_TAGS) {
    throw new ApiError(400, `A resource carries at most ${MAX_TAGS} tags, not ${tags.length}`);
  }
  for (const t of tags) {
    if (t === "" || t.length > MAX_TAG_LENGTH || t.includes(",")) {
      throw new ApiError(
        400,
        `Invalid tag '${t}': a tag is 1 to ${MAX_TAG_LENGTH} characters without a comma`,
      );
    }
  }
}

/**
 * Replaces the external_ids of the row holding a resource, bumping its
 * revision, and only if nobody changed them since they were read.
 */
export function writeHoldingRow(
  txn: NbTransaction,
  row: HoldingRow,
  changes: Readonly<Record<string, string | undefined>>,
): void {
  expectSame(txn, row.table, row.uuid, { external_ids: row.externalIds });
  txn.update(row.table, [["_uuid", "==", row.uuid]], {
    external_ids: changedIds(row.externalIds, changes),
  });
}

/**
 * writeNbTelling for a change of an existing resource (an update, its tags,
 * a router's routes): `build` changes the resource `id` of `kind`, and
 * every such change writes a new revision into the row holding it. After a
 * lost answer the change was made exactly when that row, in the replica
 * whole again, holds the external_ids this build wrote: the guard on the
 * row (writeHoldingRow) lets only one writer move it from the revision
 * read, and a later change moves it on. So a change that is not there is
 * never answered 200, and none is sent twice; a change overtaken by
 * another one answers 503 and, sent again, asks for what it asked.
 */
export async function writeUpdateTelling<R>(
  context: NetworkingContext,
  kind: Pick<Collection, "holdingRow">,
  id: string,
  build: (txn: NbTransaction) => R,
): Promise<R> {
  const sent = await writeNbTelling(
    context.backend.nb,
    context.backend.nbReplica,
    (txn) => {
      const start = txn.size;
      const result = build(txn);
      const row = kind.holdingRow(id);
      const ids = row && externalIdsWritten(txn, start, row.table, row.uuid);
      return { result, uuid: row?.uuid, ids };
    },
    ({ uuid, ids }) => {
      // A change that wrote no revision cannot be told from the replica: its error stands.
      if (!ids) return undefined;
      const row = kind.holdingRow(id);
      return row !== undefined && row.uuid === uuid && sameExternalIds(row.externalIds, ids);
    },
  );
  return sent.result;
}

/** Registers the collection's routes: list, create (single and bulk), show, update, delete, tags. */
export function registerCollection<V extends View>(
  app: ApiApp,
  context: NetworkingContext,
  baseUrl: string,
  kind: Collection<V>,
): void {
  const { plural, singular } = kind;
  const path = `/v2.0/${kind.path ?? plural}`;
  const collectionUrl = `${baseUrl}${path}`;
  const nb = context.backend.nb;
  const tags = [plural];
  countCollection(context, kind);
  const showAnswer = (caller: Caller, id: string, fields: string[]) => ({
    [singular]: selectFields(visibleResource(caller, kind, id), fields),
  });

  app.get(path, { schema: { summary: `List ${plural}`, tags } }, async (request, reply) =>
    reply
      .type("application/json; charset=utf-8")
      .send(
        listJson(kind, callerOf(request), normalizeQuery(request.query as RawQuery), collectionUrl),
      ),
  );

  const CreateBody = Type.Object(
    {
      [singular]: Type.Optional(kind.createSchema),
      [plural]: Type.Optional(Type.Array(kind.createSchema, { minItems: 1 })),
    },
    { additionalProperties: false },
  );
  app.post(
    path,
    { schema: { summary: `Create one ${singular} or several`, tags, body: CreateBody } },
    async (request, reply) => {
      const caller = callerOf(request);
      const body = request.body as Record<string, Item | Item[] | undefined>;
      const one = body[singular] as Item | undefined;
      const many = body[plural] as Item[] | undefined;
      if ((one === undefined) === (many === undefined)) {
        throw new ApiError(400, `Give either "${singular}" or "${plural}", not both or neither`);
      }
      const items = many ?? [one!];
      const ids = await writeNbTelling(
        nb,
        context.backend.nbReplica,
        (txn) => {
          const counted = checkQuota(context, kind, txn, items, caller);
          const sent = kind.create(txn, items, caller);
          counted();
          return sent;
        },
        (sent) => sent.every((id) => kind.get(id) !== undefined),
      );
      const views = ids.map((id) => {
        const view = kind.get(id);
        if (!view) throw new Error(`${singular} ${id} was written but the replica lacks it`);
        return view;
      });
      return reply.code(201).send(many ? { [plural]: views } : { [singular]: views[0] });
    },
  );

  app.get(
    `${path}/:id`,
    { schema: { summary: `Show a ${singular}`, tags, params: IdParams } },
    async (request) => {
      const { id } = request.params;
      return showAnswer(callerOf(request), id, fieldsOf(request.query as RawQuery));
    },
  );

  const UpdateBody = Type.Object(
    { [singular]: kind.updateSchema },
    { additionalProperties: false },
  );
  app.put(
    `${path}/:id`,
    { schema: { summary: `Update a ${singular}`, tags, params: IdParams, body: UpdateBody } },
    async (request) => {
      const caller = callerOf(request);
      const { id } = request.params;
      const changes = (request.body as Record<string, Item>)[singular]!;
      await writeUpdateTelling(context, kind, id, (txn) => {
        const view = writableResource(caller, kind, id, "update");
        kind.update(txn, view, changes, caller);
      });
      return showAnswer(caller, id, []);
    },
  );

  app.delete(
    `${path}/:id`,
    { schema: { summary: `Delete a ${singular}`, tags, params: IdParams } },
    async (request, reply) => {
      const caller = callerOf(request);
      const { id } = request.params;
      await writeNbTelling(
        nb,
        context.backend.nbReplica,
        (txn) => {
          const view = writableResource(caller, kind, id, "delete");
          kind.remove(txn, view, caller);
        },
        () => !kind.get(id),
      );
      return reply.code(204).send();
    },
  );

  registerTagRoutes(app, context, kind);
}

/** `GET/PUT/DELETE /v2.0/<plural>/{id}/tags[/{tag}]`, as Neutron's tag extension. */
function registerTagRoutes<V extends View>(
  app: ApiApp,
  context: NetworkingContext,
  kind: Collection<V>,
): void {
  const path = `/v2.0/${kind.path ?? kind.plural}/:id/tags`;
  const tags = [kind.plural];
  /** Writes the tags `next` makes of the current ones, unless they stay the same. */
  const changeTags = (caller: Caller, id: string, next: (current: string[]) => string[]) =>
    writeUpdateTelling(context, kind, id, (txn) => {
      const view = writableResource(caller, kind, id, "update");
      const row = kind.holdingRow(view.id);
      if (!row) throw notFound(kind.label, id);
      const current = view.tags as string[];
      const wanted = next(current);
      checkTags(wanted);
      if (wanted.length === current.length && wanted.every((t, i) => t === current[i])) return;
      writeHoldingRow(txn, row, tagsChange(wanted));
    });
  const tagNotFound = (tag: string, id: string) =>
    new ApiError(404, `Tag ${tag} could not be found for ${kind.singular} ${id}.`, "TagNotFound");

  app.get(path, { schema: { summary: "List tags", tags, params: IdParams } }, async (request) => {
    const { id } = request.params;
    return { tags: visibleResource(callerOf(request), kind, id).tags };
  });
  app.get(
    `${path}/:tag`,
    { schema: { summary: "Check a tag", tags, params: TagParams } },
    async (request, reply) => {
      const { id, tag } = request.params;
      const view = visibleResource(callerOf(request), kind, id);
      if (!(view.tags as string[]).includes(tag)) throw tagNotFound(tag, id);
      return reply.code(204).send();
    },
  );
  app.put(
    path,
    { schema: { summary: "Replace all tags", tags, params: IdParams, body: TagsBody } },
    async (request) => {
      const { id } = request.params;
      const wanted = [...new Set(request.body.tags)];
      await changeTags(callerOf(request), id, () => wanted);
      return { tags: wanted };
    },
  );
  app.put(
    `${path}/:tag`,
    { schema: { summary: "Add a tag", tags, params: TagParams } },
    async (request, reply) => {
      const { id, tag } = request.params;
      await changeTags(callerOf(request), id, (current) =>
        current.includes(tag) ? current : [...current, tag],
      );
      return reply.code(201).send();
    },
  );
  app.delete(
    path,
    { schema: { summary: "Remove all tags", tags, params: IdParams } },
    async (request, reply) => {
      const { id } = request.params;
      await changeTags(callerOf(request), id, () => []);
      return reply.code(204).send();
    },
  );
  app.delete(
    `${path}/:tag`,
    { schema: { summary: "Remove a tag", tags, params: TagParams } },
    async (request, reply) => {
      const { id, tag } = request.params;
      const caller = callerOf(request);
      if (!(visibleResource(caller, kind, id).tags as string[]).includes(tag)) {
        throw tagNotFound(tag, id);
      }
      await changeTags(caller, id, (current) => current.filter((t) => t !== tag));
      return reply.code(204).send();
    },
  );
}
