/** This program's version (kept equal to package.json's). */
export const VERSION = "0.1.0";

/**
 * The member API's version: what members may ask of each other. It moves
 * when a route is added, changed or dropped, so that a member can tell that
 * another runs a newer or older API (`cluster list` shows UPGRADING / NEEDS
 * UPGRADE). Every member API answer carries it in MEMBER_API_HEADER.
 */
export const MEMBER_API_VERSION = "1.0.0";
export const MEMBER_API_HEADER = "microovn-member-api";
