// The meaning of a loaded service for comparing two loadings of one stack (ours
// of the user's files, ours of docker-compose 1.29's `config` output): order-free
// where order carries no meaning, env_file paths already folded into environment,
// keys carried as written compared by value, not by where they were written.
import type { ServiceSpec } from "../../model/stack.js";

export function meaning(s: ServiceSpec): Record<string, unknown> {
  const { configHash: _h, envFiles: _e, ...rest } = s;
  const sorted = <T>(xs: T[]): T[] => [...xs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return {
    ...rest,
    ports: sorted(s.ports),
    volumes: sorted(s.volumes),
    expose: sorted(s.expose),
    capAdd: sorted(s.capAdd),
    capDrop: sorted(s.capDrop),
    extraHosts: sorted(s.extraHosts),
    secrets: sorted(s.secrets),
    configs: sorted(s.configs),
    networks: Object.fromEntries(Object.entries(s.networks).map(([k, n]) => [k, { ...n, aliases: sorted(n.aliases) }])),
    unsupported: sorted(s.unsupported.map((u) => ({ path: itemsByIdentity(s, u.path), value: u.value, refused: u.refused }))),
  };
}

/** A list item's index means nothing once the list is sorted: name it by what identifies it (compose's merge identities). */
function itemsByIdentity(s: ServiceSpec, path: readonly (string | number)[]): (string | number)[] {
  const [list, index, ...rest] = path;
  if (typeof index !== "number") return [...path];
  const identity =
    list === "secrets" ? s.secrets[index]?.source : list === "configs" ? s.configs[index]?.source : list === "volumes" ? s.volumes[index]?.target : undefined;
  return identity === undefined ? [...path] : [list as string, identity, ...rest];
}
