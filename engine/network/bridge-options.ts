// The bridge driver's options (compose's `driver_opts`, docker's `-o`) that
// the embedded engine honours, parsed once: the loader uses this to point at
// a bad key before `up` touches anything, the engine to apply it.
import { isIPv4 } from "node:net";

export interface BridgeOptions {
  /** MTU of the bridge and of every veth on it (so eth0 inside the container). */
  mtu?: number;
  /** false: containers on the network cannot reach each other. Default true. */
  icc: boolean;
  /** false: no MASQUERADE for traffic leaving the network. Default true. */
  masquerade: boolean;
  /** Host address ports are published on when a port names none. */
  hostBindingIpv4?: string;
  /** The bridge device's name (default: the engine's tsc-<id>). */
  bridgeName?: string;
}

export const BRIDGE_OPTION = {
  mtu: "com.docker.network.driver.mtu",
  icc: "com.docker.network.bridge.enable_icc",
  masquerade: "com.docker.network.bridge.enable_ip_masquerade",
  hostBindingIpv4: "com.docker.network.bridge.host_binding_ipv4",
  name: "com.docker.network.bridge.name",
} as const;

/** A bad option: `key` is the option to point at. */
export class BridgeOptionError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

// Go's strconv.ParseBool, which dockerd uses for these options.
const TRUE = new Set(["1", "t", "T", "true", "TRUE", "True"]);
const FALSE = new Set(["0", "f", "F", "false", "FALSE", "False"]);

function parseBool(key: string, v: string): boolean {
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw new BridgeOptionError(key, `${key}: invalid boolean "${v}"`);
}

export const isBridgeOption = (key: string): boolean => (Object.values(BRIDGE_OPTION) as string[]).includes(key);

export function parseBridgeOptions(opts: Readonly<Record<string, string>>): BridgeOptions {
  const out: BridgeOptions = { icc: true, masquerade: true };
  for (const [key, v] of Object.entries(opts)) {
    switch (key) {
      case BRIDGE_OPTION.mtu: {
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        // 68 is IPv4's minimum MTU; 65535 the largest a Linux bridge takes.
        if (!(n >= 68 && n <= 65535)) throw new BridgeOptionError(key, `${key}: "${v}" is not an MTU between 68 and 65535`);
        out.mtu = n;
        break;
      }
      case BRIDGE_OPTION.icc:
        out.icc = parseBool(key, v);
        break;
      case BRIDGE_OPTION.masquerade:
        out.masquerade = parseBool(key, v);
        break;
      case BRIDGE_OPTION.hostBindingIpv4:
        if (!isIPv4(v)) throw new BridgeOptionError(key, `${key}: "${v}" is not an IPv4 address`);
        out.hostBindingIpv4 = v;
        break;
      case BRIDGE_OPTION.name:
        // A Linux interface name (at most 15 bytes), in the characters that are safe in ip and iptables lines.
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(v)) {
          throw new BridgeOptionError(key, `${key}: "${v}" is not a valid interface name (1 to 15 of letters, digits, "_", ".", "-", starting with a letter or digit)`);
        }
        out.bridgeName = v;
        break;
      default:
        throw new BridgeOptionError(key, `${key}: not supported by the embedded engine (bridge options it knows: ${Object.values(BRIDGE_OPTION).join(", ")})`);
    }
  }
  return out;
}
