// The in-memory table the DNS servers answer from: which names each endpoint
// has on each network. Attach and detach update it synchronously, so a name
// resolves (or stops resolving) the moment the call returns. It is rebuilt
// from the sandbox records when the daemon starts.

export interface Registration {
  containerId: string;
  networkId: string;
  ip: string;
  /** Its IPv6 address on a dual-stack network (answered to AAAA queries). */
  ip6?: string | undefined;
  /** Container name, hostname, short id, aliases (service name among them). */
  names: string[];
}

export class NameRegistry {
  /** network -> name (lower case) -> registrations, in attach order. */
  private readonly byName = new Map<string, Map<string, Registration[]>>();
  /** network -> ip -> registration. */
  private readonly byIp = new Map<string, Map<string, Registration>>();
  /** container -> its networks, in attach order. */
  private readonly networksByContainer = new Map<string, string[]>();
  /** Round-robin cursors per network and name. */
  private readonly cursors = new Map<string, number>();

  add(reg: Registration): void {
    this.remove(reg.networkId, reg.containerId);
    const names = [...new Set(reg.names.map(normalizeName).filter((n) => n !== ""))];
    const stored = { ...reg, names };
    let byName = this.byName.get(reg.networkId);
    if (!byName) this.byName.set(reg.networkId, (byName = new Map<string, Registration[]>()));
    for (const n of names) {
      const list = byName.get(n) ?? [];
      list.push(stored);
      byName.set(n, list);
    }
    let byIp = this.byIp.get(reg.networkId);
    if (!byIp) this.byIp.set(reg.networkId, (byIp = new Map<string, Registration>()));
    byIp.set(reg.ip, stored);
    const nets = this.networksByContainer.get(reg.containerId) ?? [];
    nets.push(reg.networkId);
    this.networksByContainer.set(reg.containerId, nets);
  }

  remove(networkId: string, containerId: string): void {
    const byIp = this.byIp.get(networkId);
    if (!byIp) return;
    for (const [ip, reg] of byIp) {
      if (reg.containerId !== containerId) continue;
      byIp.delete(ip);
      const byName = this.byName.get(networkId);
      for (const n of reg.names) {
        const rest = (byName?.get(n) ?? []).filter((r) => r !== reg);
        if (rest.length > 0) byName?.set(n, rest);
        else byName?.delete(n);
      }
    }
    const nets = (this.networksByContainer.get(containerId) ?? []).filter((n) => n !== networkId);
    if (nets.length > 0) this.networksByContainer.set(containerId, nets);
    else this.networksByContainer.delete(containerId);
  }

  removeNetwork(networkId: string): void {
    for (const reg of [...(this.byIp.get(networkId)?.values() ?? [])]) this.remove(networkId, reg.containerId);
    this.byName.delete(networkId);
    this.byIp.delete(networkId);
    for (const key of [...this.cursors.keys()]) if (key.startsWith(`${networkId}\0`)) this.cursors.delete(key);
  }

  /**
   * Addresses of `name` on the first of `networkIds` where it is registered,
   * rotated by one on every call when there are several (round robin): IPv4
   * ones, followed by the IPv6 ones of those endpoints that have one (in the same order).
   */
  lookup(networkIds: readonly string[], name: string): string[] | undefined {
    const n = normalizeName(name);
    for (const net of networkIds) {
      const regs = this.byName.get(net)?.get(n);
      if (!regs || regs.length === 0) continue;
      const withV6 = (list: readonly Registration[]): string[] => [...list.map((r) => r.ip), ...list.flatMap((r) => (r.ip6 !== undefined ? [r.ip6] : []))];
      if (regs.length === 1) return withV6(regs);
      const key = `${net}\0${n}`;
      const start = (this.cursors.get(key) ?? 0) % regs.length;
      this.cursors.set(key, start + 1);
      return withV6([...regs.slice(start), ...regs.slice(0, start)]);
    }
    return undefined;
  }

  /** Whether `name` is registered on one of `networkIds` (without moving the round-robin cursor). */
  has(networkIds: readonly string[], name: string): boolean {
    const n = normalizeName(name);
    return networkIds.some((net) => (this.byName.get(net)?.get(n)?.length ?? 0) > 0);
  }

  at(networkId: string, ip: string): Registration | undefined {
    return this.byIp.get(networkId)?.get(ip);
  }

  networksOf(containerId: string): readonly string[] {
    return this.networksByContainer.get(containerId) ?? [];
  }

  /** All registrations of a network (for inspection and tests). */
  entries(networkId: string): Registration[] {
    return [...(this.byIp.get(networkId)?.values() ?? [])];
  }
}

export function normalizeName(name: string): string {
  return name.trim().toLowerCase().replace(/^\/+/, "").replace(/\.+$/, "");
}
