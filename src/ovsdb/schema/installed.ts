/**
 * The schema files Debian's OVN and Open vSwitch packages install, with the
 * generated model file each one feeds.
 */
export const INSTALLED_SCHEMAS = {
  northbound: {
    file: "/usr/share/ovn/ovn-nb.ovsschema",
    database: "OVN_Northbound",
    model: "ovn-northbound.ts",
  },
  southbound: {
    file: "/usr/share/ovn/ovn-sb.ovsschema",
    database: "OVN_Southbound",
    model: "ovn-southbound.ts",
  },
  vswitch: {
    file: "/usr/share/openvswitch/vswitch.ovsschema",
    database: "Open_vSwitch",
    model: "open-vswitch.ts",
  },
} as const;

/** Schemas of this project's own databases, with the generated model file each one feeds. */
export const PROJECT_SCHEMAS = {
  microovn: {
    /** Shown in the generated file's header (the absolute path differs per checkout). */
    label: "schemas/microovn.ovsschema",
    file: new URL("../../../schemas/microovn.ovsschema", import.meta.url).pathname,
    database: "MicroOVN",
    model: "microovn.ts",
  },
} as const;

/** Every schema a model file is generated from, with the label its header shows. */
export const MODEL_SOURCES: readonly { file: string; label: string; model: string }[] = [
  ...Object.values(INSTALLED_SCHEMAS).map(({ file, model }) => ({ file, label: file, model })),
  ...Object.values(PROJECT_SCHEMAS).map(({ file, label, model }) => ({ file, label, model })),
];
