// `-p NAME down` without stack files: the daemon may never have seen the
// stack (or its record is gone), so the project's networks and volumes are
// found by their compose labels, as compose builds a project from what
// carries its label. A network made by `run --rm` in a project with no
// containers left is found this way too.
import type { NetworkSpec, StackSpec, VolumeSpec } from "../../model/stack.js";
import { LABEL } from "../../model/labels.js";
import type { NetworkInfo, VolumeInfo } from "../../engine/types.js";

/** A free key for a found object: its compose key when that is not taken, else its engine name. */
function keyFor(taken: Record<string, unknown>, composeKey: string | undefined, name: string): string {
  if (composeKey !== undefined && !(composeKey in taken)) return composeKey;
  let key = name;
  for (let i = 2; key in taken; i++) key = `${name}-${i}`;
  return key;
}

/** `spec` plus the networks and volumes labelled as the project's that it does not name. */
export function withLabelledResources(spec: StackSpec, networks: NetworkInfo[], volumes: VolumeInfo[]): StackSpec {
  const nets: Record<string, NetworkSpec> = { ...spec.networks };
  const known = new Set(Object.values(nets).map((n) => n.name));
  for (const n of networks) {
    if (n.labels[LABEL.project] !== spec.name || known.has(n.name)) continue;
    nets[keyFor(nets, n.labels[LABEL.network], n.name)] = {
      name: n.name,
      driver: n.driver,
      driverOpts: {},
      external: false,
      internal: n.internal,
      attachable: false,
      enableIpv6: false,
      ipam: { driver: undefined, config: [], options: {} },
      labels: n.labels,
    };
  }
  const vols: Record<string, VolumeSpec> = { ...spec.volumes };
  const knownVolumes = new Set(Object.values(vols).map((v) => v.name));
  for (const v of volumes) {
    if (v.labels[LABEL.project] !== spec.name || knownVolumes.has(v.name)) continue;
    vols[keyFor(vols, v.labels[LABEL.volume], v.name)] = { name: v.name, driver: v.driver, driverOpts: {}, external: false, labels: v.labels };
  }
  return { ...spec, networks: nets, volumes: vols };
}
