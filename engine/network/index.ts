// The network package's public surface for the rest of the engine (the
// runtime asks for sandboxes; the embedded engine facade for networks).
export { openNetworkManager, LinuxNetworkManager } from "./manager.js";
export type { AttachRequest, Endpoint, NetworkManager, NetworkManagerOptions, RepairReport, SandboxInfo, SandboxSpec } from "./types.js";
export type { PublishedPort } from "./ports.js";
export type { DnsUpstream } from "./dns.js";
export type { AddressPool } from "./ipam.js";
export type { NamePrefixes } from "./names.js";
export { DEFAULT_PREFIXES } from "./names.js";
export { DEFAULT_POOLS } from "./ipam.js";
