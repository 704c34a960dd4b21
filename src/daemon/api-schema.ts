// JSON Schemas of every request body the daemon accepts (the wire types of
// api.ts), in one place. A body is checked against its schema before any
// handler sees it, so a wrong type is a 400 naming the key, never a NaN or a
// null that a handler would quietly replace by a default. Unknown keys are
// refused too: nothing a client sends is silently ignored.
//
// Kept in sync with the TypeScript types twice over: the type-level checks at
// the end fail to compile when a schema and its type do not list the same
// keys, and api-schema.test.ts checks that the requests the CLI and the TUI
// really build pass.
import { Ajv } from "ajv";
import type { ErrorObject, ValidateFunction } from "ajv";
import { MAX_TIMEOUT_MS } from "../../engine/timeout.js";
import type { NetworkConnectRequest, NetworkDisconnectRequest } from "./api.js";
import type { AttachRequest, CommitRequest, CopyRequest, DownRequest, ExecRequest, ExportRequest, ImageBuildRequest, NetworkCreateRequest, PortBinding, ProjectRef, RunRequest, StackBuildOptions, StackBuildRequest, UpRequest, VolumeCreateRequest } from "./api.js";
import type { EngineChoice } from "./api.js";
import type { SwarmScaleRequest } from "./api.js";
import type { DockerConfigLocation, ImagePullRequest, ImagePushRequest, ImageRemoveRequest, ImageTagRequest, LoginRequest, LogoutRequest } from "./api.js";
import { HttpError } from "./http.js";


const str = { type: "string" } as const;
const strings = { type: "array", items: str } as const;
const bool = { type: "boolean" } as const;
/** JSON has no NaN or Infinity (JSON.stringify sends them as null), and null is refused. */
const timeoutMs = { type: "number", minimum: 0, maximum: MAX_TIMEOUT_MS } as const;
const stringMap = { type: "object", additionalProperties: str } as const;
const pullPolicy = { enum: ["always", "missing", "never"] } as const;

export const projectRefSchema = {
  type: "object",
  additionalProperties: false,
  required: ["files", "envFiles", "profiles", "env", "cwd"],
  properties: {
    files: strings,
    projectName: str,
    projectDirectory: str,
    envFiles: strings,
    profiles: strings,
    env: stringMap,
    cwd: str,
  },
} as const;

export const upOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    services: strings,
    noDeps: bool,
    forceRecreate: bool,
    noRecreate: bool,
    alwaysRecreateDeps: bool,
    scale: { type: "object", additionalProperties: { type: "integer", minimum: 0 } },
    removeOrphans: bool,
    pull: pullPolicy,
    timeoutMs,
    startStopped: bool,
    wait: bool,
    waitTimeoutMs: timeoutMs,
    watch: bool,
    mustExist: strings,
    noStart: bool,
    renewAnonVolumes: bool,
    build: { enum: ["always", "never"] },
    dryRun: bool,
  },
} as const;

export const stackBuildOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: { services: strings, withDependencies: bool, noCache: bool, pull: bool, buildArgs: stringMap },
} as const;

export const imageBuildRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["contextDir", "tags"],
  properties: { contextDir: str, dockerfile: str, tags: strings, buildArgs: stringMap, target: str, noCache: bool, pull: bool, labels: stringMap },
} as const;

export const stackBuildRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["project", "options"],
  properties: { project: projectRefSchema, options: stackBuildOptionsSchema },
} as const;

export const dockerConfigLocationSchema = {
  type: "object",
  additionalProperties: false,
  properties: { dockerConfig: str, home: str },
} as const;

export const upRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["project", "options"],
  properties: { project: projectRefSchema, options: upOptionsSchema, auth: dockerConfigLocationSchema },
} as const;

export const downOptionsSchema = {
  type: "object",
  additionalProperties: false,
  properties: { removeVolumes: bool, removeOrphans: bool, removeImages: { enum: ["local", "all"] }, timeoutMs, services: strings, dryRun: bool },
} as const;

export const downRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["options"],
  anyOf: [{ required: ["projectName"] }, { required: ["project"] }],
  properties: { projectName: str, project: projectRefSchema, options: downOptionsSchema },
} as const;

const terminalSize = { type: "integer", minimum: 0, maximum: 65535 } as const;

export const execRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["cmd"],
  properties: {
    cmd: { type: "array", items: str, minItems: 1 },
    env: strings,
    user: str,
    workingDir: str,
    tty: bool,
    detach: bool,
    privileged: bool,
    rows: terminalSize,
    cols: terminalSize,
  },
} as const;

export const attachRequestSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    stdin: bool,
    sigProxy: bool,
    rows: terminalSize,
    cols: terminalSize,
  },
} as const;

export const portBindingSchema = {
  type: "object",
  additionalProperties: false,
  required: ["containerPort", "protocol"],
  properties: {
    containerPort: { type: "integer", minimum: 1, maximum: 65535 },
    protocol: { enum: ["tcp", "udp", "sctp"] },
    hostPort: str,
    hostIp: str,
  },
} as const;

export const runRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["project", "service"],
  properties: {
    project: projectRefSchema,
    service: str,
    command: strings,
    entrypoint: strings,
    env: strings,
    user: str,
    workingDir: str,
    name: str,
    tty: bool,
    interactive: bool,
    rm: bool,
    detach: bool,
    ports: { type: "array", items: portBindingSchema },
    servicePorts: bool,
    useAliases: bool,
    labels: stringMap,
    pull: pullPolicy,
    build: bool,
    auth: dockerConfigLocationSchema,
    volumes: strings,
    capAdd: strings,
    capDrop: strings,
    removeOrphans: bool,
  },
} as const;

export const copyRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["direction", "hostPath", "containerPath"],
  properties: {
    direction: { enum: ["toContainer", "fromContainer"] },
    hostPath: { type: "string", minLength: 1 },
    containerPath: { type: "string", minLength: 1 },
    followLink: bool,
    archive: bool,
  },
} as const;

export const exportRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["hostPath"],
  properties: { hostPath: { type: "string", minLength: 1 } },
} as const;

export const commitRequestSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    ref: { type: "string", minLength: 1 },
    author: { type: "string" },
    message: { type: "string" },
    changes: { type: "array", items: { type: "string", minLength: 1 } },
    pause: bool,
  },
} as const;

export const volumeCreateRequestSchema = {
  type: "object",
  additionalProperties: false,
  properties: { name: str, driver: str, labels: stringMap },
} as const;

export const networkCreateRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: { name: str, driver: str, subnet: str, gateway: str, internal: bool, labels: stringMap },
} as const;

export const networkConnectRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["container"],
  properties: { container: str, aliases: strings, ipv4Address: str },
} as const;

export const networkDisconnectRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["container"],
  properties: { container: str, force: bool },
} as const;

// --- images

const reference = { type: "string", minLength: 1 } as const;

export const imagePullRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["ref"],
  properties: { ref: reference, platform: str, auth: dockerConfigLocationSchema },
} as const;

export const imagePushRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["ref"],
  properties: { ref: reference, auth: dockerConfigLocationSchema },
} as const;

export const imageTagRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["source", "target"],
  properties: { source: reference, target: reference },
} as const;

export const imageRemoveRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["ref"],
  properties: { ref: reference, force: bool },
} as const;

export const loginRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["username", "password"],
  properties: { server: str, username: reference, password: reference, auth: dockerConfigLocationSchema },
} as const;

export const logoutRequestSchema = {
  type: "object",
  additionalProperties: false,
  properties: { server: str, auth: dockerConfigLocationSchema },
} as const;

const absolutePath = { type: "string", pattern: "^/" } as const;

export const engineChoiceSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    kind: { enum: ["embedded", "docker", "swarm"] },
    host: { type: "string", pattern: "^(unix|tcp)://." },
    tls: { type: "object", additionalProperties: false, required: ["ca", "cert", "key"], properties: { ca: absolutePath, cert: absolutePath, key: absolutePath } },
  },
} as const;

export const swarmScaleRequestSchema = {
  type: "object",
  additionalProperties: false,
  required: ["replicas"],
  properties: { replicas: { type: "integer", minimum: 0 } },
} as const;

const SCHEMAS = {
  EngineChoice: engineChoiceSchema,
  UpRequest: upRequestSchema,
  StackBuildRequest: stackBuildRequestSchema,
  ImageBuildRequest: imageBuildRequestSchema,
  DownRequest: downRequestSchema,
  ExecRequest: execRequestSchema,
  AttachRequest: attachRequestSchema,
  RunRequest: runRequestSchema,
  CopyRequest: copyRequestSchema,
  ExportRequest: exportRequestSchema,
  CommitRequest: commitRequestSchema,
  VolumeCreateRequest: volumeCreateRequestSchema,
  NetworkCreateRequest: networkCreateRequestSchema,
  NetworkConnectRequest: networkConnectRequestSchema,
  NetworkDisconnectRequest: networkDisconnectRequestSchema,
  ImagePullRequest: imagePullRequestSchema,
  ImagePushRequest: imagePushRequestSchema,
  ImageTagRequest: imageTagRequestSchema,
  ImageRemoveRequest: imageRemoveRequestSchema,
  LoginRequest: loginRequestSchema,
  LogoutRequest: logoutRequestSchema,
  SwarmScaleRequest: swarmScaleRequestSchema,
} as const;

export interface WireTypes {
  EngineChoice: EngineChoice;
  UpRequest: UpRequest;
  StackBuildRequest: StackBuildRequest;
  ImageBuildRequest: ImageBuildRequest;
  DownRequest: DownRequest;
  ExecRequest: ExecRequest;
  AttachRequest: AttachRequest;
  RunRequest: RunRequest;
  CopyRequest: CopyRequest;
  ExportRequest: ExportRequest;
  CommitRequest: CommitRequest;
  VolumeCreateRequest: VolumeCreateRequest;
  NetworkCreateRequest: NetworkCreateRequest;
  NetworkConnectRequest: NetworkConnectRequest;
  NetworkDisconnectRequest: NetworkDisconnectRequest;
  ImagePullRequest: ImagePullRequest;
  ImagePushRequest: ImagePushRequest;
  ImageTagRequest: ImageTagRequest;
  ImageRemoveRequest: ImageRemoveRequest;
  LoginRequest: LoginRequest;
  LogoutRequest: LogoutRequest;
  SwarmScaleRequest: SwarmScaleRequest;
}

// Compiled on first use: a daemon that serves only reads pays nothing at start-up.
let ajv: Ajv | undefined;
const compiled = new Map<keyof WireTypes, ValidateFunction>();

/** `value` as a T, or an HttpError 400 naming the first offending key. */
export function checkRequest<K extends keyof WireTypes>(kind: K, value: unknown): WireTypes[K] {
  let validate = compiled.get(kind);
  if (!validate) {
    // strictRequired would refuse the anyOf of "required" alone (DownRequest: a name or files).
    ajv ??= new Ajv({ allErrors: false, strict: true, strictRequired: false });
    validate = ajv.compile(SCHEMAS[kind]);
    compiled.set(kind, validate);
  }
  if (!validate(value)) throw new HttpError(400, `invalid ${kind}: ${describeError(validate.errors?.[0])}`);
  return value as WireTypes[K];
}

function describeError(e: ErrorObject | undefined): string {
  if (!e) return "does not match its schema";
  const at = e.instancePath === "" ? "the body" : e.instancePath;
  if (e.keyword === "additionalProperties") return `${at}: unknown key "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === "enum") return `${at} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  return `${at} ${e.message ?? "is invalid"}`;
}

// Compile-time: each schema lists exactly the keys of its TypeScript type.
type Props<S> = S extends { readonly properties: infer P } ? keyof P : never;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export const SCHEMAS_MATCH_TYPES: {
  project: Same<Props<typeof projectRefSchema>, keyof ProjectRef>;
  up: Same<Props<typeof upRequestSchema>, keyof UpRequest>;
  upOptions: Same<Props<typeof upOptionsSchema>, keyof UpRequest["options"]>;
  stackBuild: Same<Props<typeof stackBuildRequestSchema>, keyof StackBuildRequest>;
  imageBuild: Same<Props<typeof imageBuildRequestSchema>, keyof ImageBuildRequest>;
  stackBuildOptions: Same<Props<typeof stackBuildOptionsSchema>, keyof StackBuildOptions>;
  down: Same<Props<typeof downRequestSchema>, keyof DownRequest>;
  downOptions: Same<Props<typeof downOptionsSchema>, keyof DownRequest["options"]>;
  exec: Same<Props<typeof execRequestSchema>, keyof ExecRequest>;
  run: Same<Props<typeof runRequestSchema>, keyof RunRequest>;
  port: Same<Props<typeof portBindingSchema>, keyof PortBinding>;
  copy: Same<Props<typeof copyRequestSchema>, keyof CopyRequest>;
  export: Same<Props<typeof exportRequestSchema>, keyof ExportRequest>;
  commit: Same<Props<typeof commitRequestSchema>, keyof CommitRequest>;
  volumeCreate: Same<Props<typeof volumeCreateRequestSchema>, keyof VolumeCreateRequest>;
  networkCreate: Same<Props<typeof networkCreateRequestSchema>, keyof NetworkCreateRequest>;
  networkConnect: Same<Props<typeof networkConnectRequestSchema>, keyof NetworkConnectRequest>;
  networkDisconnect: Same<Props<typeof networkDisconnectRequestSchema>, keyof NetworkDisconnectRequest>;
  dockerConfigLocation: Same<Props<typeof dockerConfigLocationSchema>, keyof DockerConfigLocation>;
  imagePull: Same<Props<typeof imagePullRequestSchema>, keyof ImagePullRequest>;
  imagePush: Same<Props<typeof imagePushRequestSchema>, keyof ImagePushRequest>;
  imageTag: Same<Props<typeof imageTagRequestSchema>, keyof ImageTagRequest>;
  imageRemove: Same<Props<typeof imageRemoveRequestSchema>, keyof ImageRemoveRequest>;
  login: Same<Props<typeof loginRequestSchema>, keyof LoginRequest>;
  logout: Same<Props<typeof logoutRequestSchema>, keyof LogoutRequest>;
  engineChoice: Same<Props<typeof engineChoiceSchema>, keyof EngineChoice>;
  swarmScale: Same<Props<typeof swarmScaleRequestSchema>, keyof SwarmScaleRequest>;
} = {
  project: true,
  up: true,
  upOptions: true,
  stackBuild: true,
  imageBuild: true,
  stackBuildOptions: true,
  down: true,
  downOptions: true,
  exec: true,
  run: true,
  port: true,
  copy: true,
  export: true,
  commit: true,
  volumeCreate: true,
  networkCreate: true,
  networkConnect: true,
  networkDisconnect: true,
  dockerConfigLocation: true,
  imagePull: true,
  imagePush: true,
  imageTag: true,
  imageRemove: true,
  login: true,
  logout: true,
  engineChoice: true,
  swarmScale: true,
};
