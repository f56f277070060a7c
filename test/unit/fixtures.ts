/** A small hand-written schema exercising every column shape. */
export const TEST_SCHEMA = {
  name: "Test",
  version: "1.2.3",
  tables: {
    Switch: {
      isRoot: true,
      indexes: [["name"]],
      columns: {
        name: { type: "string" },
        ports: { type: { key: { type: "uuid", refTable: "Port" }, min: 0, max: "unlimited" } },
        external_ids: { type: { key: "string", value: "string", min: 0, max: "unlimited" } },
        mtu: { type: { key: { type: "integer", minInteger: 68 }, min: 0, max: 1 } },
        enabled: { type: "boolean" },
        weight: { type: "real" },
      },
    },
    Port: {
      columns: {
        name: { type: "string" },
        kind: { type: { key: { type: "string", enum: ["set", ["vif", "router"]] } } },
        tags: { type: { key: "integer", min: 0, max: 4096 } },
        peer: {
          type: { key: { type: "uuid", refTable: "Port", refType: "weak" }, min: 0, max: 1 },
        },
        by_id: {
          type: {
            key: "integer",
            value: { type: "uuid", refTable: "Port" },
            min: 0,
            max: "unlimited",
          },
        },
      },
    },
  },
};

export interface TestSwitch {
  _uuid: string;
  _version: string;
  name: string;
  ports: string[];
  external_ids: Map<string, string>;
  mtu: number | undefined;
  enabled: boolean;
  weight: number;
}

export interface TestPort {
  _uuid: string;
  _version: string;
  name: string;
  kind: "router" | "vif";
  tags: number[];
  peer: string | undefined;
  by_id: Map<number, string>;
}

export interface TestDatabase {
  Switch: TestSwitch;
  Port: TestPort;
}

export const U1 = "1b0ef2a4-0c1c-4e7b-9b7e-2f6a3b1c0d01";
export const U2 = "2b0ef2a4-0c1c-4e7b-9b7e-2f6a3b1c0d02";
